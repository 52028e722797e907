"""Ballistic prediction of tracked threats: trajectories to the ground and impact points with covariance
(and, flown backwards in time, the ground points their arcs rose from: :mod:`shieldwall.assess.launch`).

States are ECEF position [m] and velocity [m/s] stacked as (..., 6). Prediction is unpowered, drag-free
flight (two-body gravity with J2 in the rotating frame) integrated by
:func:`~shieldwall.world.dynamics.drag_free_rk4`, all threats (and all sigma points) in one batch.
The ground is the WGS-84 ellipsoid (height 0); a ground crossing is located inside its integration
step by a secant guess refined with Newton steps on the height along the step's cubic Hermite arc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.geo import A_M, B_M, altitude_m, ecef_to_geodetic, enu_basis, geodetic_to_ecef
from shieldwall.tracking.ukf import sigma_points
from shieldwall.world.dynamics import drag_free_rk4

#: Newton refinements of a ground crossing after the secant guess (quadratic convergence: ~1e-9 m).
_NEWTON_ITERATIONS = 3


@dataclass(frozen=True, slots=True)
class ImpactPrediction:
    """Predicted impact of T threats: mean time and point, and the point's east/north covariance.

    ``cov_en_m2`` is expressed in the local east/north plane at the mean impact point. Threats whose
    state (or any sigma point) does not reach the ground within the prediction limit carry NaN.
    """

    t_impact_s: np.ndarray  # (T,)
    impact_ecef: np.ndarray  # (T, 3), on the ellipsoid
    impact_lat_rad: np.ndarray  # (T,)
    impact_lon_rad: np.ndarray  # (T,)
    cov_en_m2: np.ndarray  # (T, 2, 2)


def _ground_crossing(r0: np.ndarray, v0: np.ndarray, r1: np.ndarray, v1: np.ndarray, alt0: np.ndarray,
                     alt1: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Time into the step [s] and ECEF point where states (N, 3) above ground reach height 0 in it
    (``step_s`` < 0: a step backwards in time, and so a negative time).

    Newton steps on the height along the step's cubic Hermite arc (its error is O(step^4 * jerk rate):
    under a millimetre for 20 s steps), from the secant guess.
    """
    u = alt0 / (alt0 - alt1)
    for _ in range(_NEWTON_ITERATIONS):
        r, v = _hermite_state(r0, v0, r1, v1, step_s, u)
        lat, lon, alt = ecef_to_geodetic(r)
        normal = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        height_rate_m = step_s * np.sum(normal * v, axis=-1)       # d height / d u: negative into the ground
        u = np.clip(u - alt / np.minimum(height_rate_m, -1e-3 * abs(step_s)), 0.0, 1.0)
    return u * step_s, _hermite_state(r0, v0, r1, v1, step_s, u)[0]


def _hermite_state(r0, v0, r1, v1, h, u):
    """Cubic Hermite position and velocity (N, 3) at fractions ``u`` (N,) of a step of ``h`` [s]."""
    u = u[:, None]
    u2, u3 = u * u, u * u * u
    pos = (2 * u3 - 3 * u2 + 1) * r0 + (u3 - 2 * u2 + u) * h * v0 + (3 * u2 - 2 * u3) * r1 + (u3 - u2) * h * v1
    vel = (6 * u2 - 6 * u) * (r0 - r1) / h + (3 * u2 - 4 * u + 1) * v0 + (3 * u2 - 2 * u) * v1
    return pos, vel


@dataclass(frozen=True, slots=True)
class Flight:
    """States at every integration step of N objects, and where each came down.

    ``r``, ``v`` (N, S+1, 3): states at step boundaries; a row flies on below the ground for
    :data:`FLY_ON_STEPS` steps after its landing step (so differences between neighbouring flights stay
    smooth through the landing) and is held frozen after that; ``landing_step`` (N,): index of the step
    in which it reached the ground (-1: not within the horizon; 0 with ``dt_land_s`` = 0 for an object
    already down); ``dt_land_s`` (N,): time into that step [s]; ``impact`` (N, 3): the crossing point
    (NaN if none); ``step_s``: the integration step [s] (negative for a flight backwards in time, whose
    times are negative too).
    """

    r: np.ndarray
    v: np.ndarray
    landing_step: np.ndarray
    dt_land_s: np.ndarray
    impact: np.ndarray
    step_s: float

    @property
    def t_land_s(self) -> np.ndarray:
        """(N,) flight time [s] to the ground crossing (inf: none within the horizon; negative for a flight
        backwards in time)."""
        return np.where(self.landing_step >= 0, self.landing_step * self.step_s + self.dt_land_s, np.inf)


#: Steps a landed row keeps flying below the ground before it is frozen.
FLY_ON_STEPS = 3
_ELLIPSOID_WEIGHTS = np.array([1.0 / A_M**2, 1.0 / A_M**2, 1.0 / B_M**2])


def _above_ground(r: np.ndarray) -> np.ndarray:
    """(N,) whether ECEF points (3, N) (one row per component) lie outside the WGS-84 ellipsoid
    (height > 0), without trigonometry."""
    return _ELLIPSOID_WEIGHTS @ (r * r) > 1.0


def _integrate(x: np.ndarray, step_s: float, max_steps: int) -> Flight:
    """RK4 flight of states (N, 6) until every one has come down or ``max_steps`` steps have passed
    (``step_s`` < 0: backwards in time, down to where each unpowered arc left the ground).

    One batched RK4 step of every row per loop turn (landed rows fly on, then stay frozen); the ground
    crossings are located afterwards, all in one batch.
    """
    y = x.T.copy()
    steps = [y]
    up = _above_ground(y[:3])
    already_down = ~up
    landing = np.where(up, -1, 0)
    frozen = already_down.copy()
    k = 0
    while up.any() and k < max_steps:
        y1 = drag_free_rk4(y, step_s)
        if frozen.any():
            y1 = np.where(frozen, y, y1)
        down = np.flatnonzero(up & ~_above_ground(y1[:3]))
        landing[down] = k
        up[down] = False
        frozen |= (landing >= 0) & (k - landing >= FLY_ON_STEPS)
        y = y1
        steps.append(y)
        k += 1
    states = np.stack(steps, axis=-1).transpose(1, 2, 0)      # (N, S+1, 6)
    r_all, v_all = states[..., :3], states[..., 3:]
    dt_land = np.where(landing >= 0, 0.0, np.nan)
    impact = np.where(already_down[:, None], r_all[:, 0], np.nan)
    came = np.flatnonzero((landing >= 0) & ~already_down)
    if came.size:
        k = landing[came]
        r0, r1 = r_all[came, k], r_all[came, k + 1]
        dt_land[came], impact[came] = _ground_crossing(r0, v_all[came, k], r1, v_all[came, k + 1],
                                                       altitude_m(r0), altitude_m(r1), step_s)
    return Flight(r_all, v_all, landing, dt_land, impact, step_s)


def _sample(r: np.ndarray, v: np.ndarray, h: float, tau_s: np.ndarray, t_land_s: np.ndarray,
            impact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (T, n, 3) and ``alive`` (T, n) at flight times ``tau_s`` (T, n) of flights with states
    ``r``, ``v`` (T, S+1, 3) every ``h`` [s]: cubic Hermite inside each step; from the ground crossing at
    ``t_land_s`` (T,) on, not alive and held at ``impact`` (T, 3)."""
    s1 = r.shape[1] - 1
    alive = tau_s < t_land_s[:, None]
    rows, cols = np.nonzero(alive)  # only the samples in flight are interpolated
    tau = tau_s[rows, cols]
    k = np.clip(np.ceil(tau / h - 1e-9).astype(int) - 1, 0, max(s1 - 1, 0))
    u = np.clip(tau / h - k, 0.0, 1.0)
    k1 = np.minimum(k + 1, s1)
    out = np.broadcast_to(impact[:, None, :], (*tau_s.shape, 3)).copy()
    out[rows, cols] = _hermite_state(r[rows, k], v[rows, k], r[rows, k1], v[rows, k1], h, u)[0]
    return out, alive


def _grid(tau0_s: np.ndarray, step_s: float, n: int) -> np.ndarray:
    """Flight times (T, n): ``tau0_s`` (T,) plus whole steps."""
    return tau0_s[:, None] + step_s * np.arange(n)[None, :]


def predict_trajectories(x_ecef: np.ndarray, t0_s: float, horizon_s: float, step_s: float, *,
                         integration_step_s: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted trajectories of threats with states ``x_ecef`` (T, 6) at ``t0_s`` on a common time grid.

    Returns ``times_s`` (K,) = t0 + k * step up to ``t0_s + horizon_s``, positions ``r_ecef`` (T, K, 3)
    and ``alive`` (T, K): False from the first sample at or after the threat's ground crossing (and
    throughout for a threat already at height <= 0). A landed threat's position is held at its
    crossing point. The grid stops at the first sample at which every threat has landed.

    ``integration_step_s`` (a whole multiple of ``step_s``; default ``step_s``) is the RK4 step; the
    samples inside each step are cubic Hermite interpolants of its end states (drag-free, a 40 s step
    puts them within a metre of the 2 s integration over a 10-minute flight).
    """
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    m = 1 if integration_step_s is None else int(round(integration_step_s / step_s))
    if m < 1 or abs(m * step_s - (integration_step_s or step_s)) > 1e-9 * step_s:
        raise ValueError(f"integration_step_s={integration_step_s!r}: expected a whole multiple of step_s={step_s!r}")
    h = m * step_s
    n_samples = int(np.floor(horizon_s / step_s + 1e-9)) + 1
    f = _integrate(x, h, -(-(n_samples - 1) // m))
    return _trim(t0_s, step_s, *_sample(f.r, f.v, h, _grid(np.zeros(len(x)), step_s, n_samples), f.t_land_s, f.impact))


def _trim(t0_s: float, step_s: float, r: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The time grid from ``t0_s`` and the samples up to the first one at which every threat is down."""
    gone = np.flatnonzero(~alive.any(axis=0))
    last = int(gone[0]) + 1 if gone.size else alive.shape[1]
    return t0_s + step_s * np.arange(last), r[:, :last], alive[:, :last]


def predict_impact(x_ecef: np.ndarray, p_ecef: np.ndarray, t0_s: float, *, step_s: float = 2.0,
                   max_flight_s: float = 3600.0) -> ImpactPrediction:
    """Impact prediction for threats with state means ``x_ecef`` (T, 6) and covariances ``p_ecef`` (T, 6, 6).

    Unscented transform: the 13 sigma points of every threat are flown to the ground together
    (:func:`predict_ground_crossing`, RK4 steps of ``step_s``).
    """
    return predict_impact_and_flights(x_ecef, p_ecef, t0_s, step_s=step_s, max_flight_s=max_flight_s)[0]


@dataclass(frozen=True, slots=True)
class SigmaFlights:
    """The sigma-point flights of T threats behind an unscented impact prediction, kept so that it can be
    carried to a nearby state (:func:`carry_prediction`).

    ``t0_s`` (T,): when each flight starts; ``r``, ``v`` (T, 13, S+1, 3): ECEF states [m, m/s] every
    ``step_s`` from then (sigma point 0 is the mean, 1-6 and 7-12 the mean plus and minus the same six
    square-root columns); ``t_land_s`` (T, 13): flight time [s] to the ground (inf: none); ``impact``
    (T, 13, 3): the crossing points; ``mean``: the unscented prediction they gave.
    """

    t0_s: np.ndarray
    step_s: float
    r: np.ndarray
    v: np.ndarray
    t_land_s: np.ndarray
    impact: np.ndarray
    mean: ImpactPrediction


class SigmaFlightStore:
    """Sigma-point flights of many threats in numbered slots (flights of up to ``max_steps`` steps of
    ``step_s``, shorter ones holding their last state), so that a batch is gathered by slot index."""

    def __init__(self, step_s: float, max_steps: int) -> None:
        self.step_s = step_s
        self._n = max_steps + 1
        self._free: list[int] = []
        self._cap = 0
        self._t0 = np.zeros(0)
        self._len = np.zeros(0, int)
        self._r = self._v = np.zeros((0, 13, self._n, 3))
        self._t_land = np.zeros((0, 13))
        self._impact = np.zeros((0, 13, 3))
        self._mean = ImpactPrediction(np.zeros(0), np.zeros((0, 3)), np.zeros(0), np.zeros(0), np.zeros((0, 2, 2)))

    def put(self, f: SigmaFlights) -> np.ndarray:
        """Store the T flights of ``f`` (same step) in free slots; returns the slots (T,)."""
        t = len(f.t0_s)
        if len(self._free) < t:
            self._grow(max(2 * self._cap, self._cap + t, 16))
        slots = np.array([self._free.pop() for _ in range(t)], int)
        m = min(f.r.shape[2], self._n)
        self._r[slots, :, :m], self._v[slots, :, :m] = f.r[:, :, :m], f.v[:, :, :m]
        self._r[slots, :, m:], self._v[slots, :, m:] = f.r[:, :, m - 1:m], f.v[:, :, m - 1:m]
        self._t0[slots], self._len[slots] = f.t0_s, m
        self._t_land[slots], self._impact[slots] = f.t_land_s, f.impact
        for name in ImpactPrediction.__slots__:
            getattr(self._mean, name)[slots] = getattr(f.mean, name)
        return slots

    def release(self, slots) -> None:
        """Free ``slots`` for other flights."""
        self._free.extend(int(k) for k in slots)

    def window(self, slots: np.ndarray, t_s: float) -> SigmaFlights:
        """The flights of ``slots`` cut to the one step that brackets ``t_s`` (enough to carry them)."""
        k = np.clip(np.ceil((t_s - self._t0[slots]) / self.step_s - 1e-9).astype(int) - 1, 0, self._n - 2)
        return self._flights(slots, k, np.stack([self._r[slots, :, k], self._r[slots, :, k + 1]], axis=2),
                             np.stack([self._v[slots, :, k], self._v[slots, :, k + 1]], axis=2))

    def gather(self, slots: np.ndarray, t_s: float) -> SigmaFlights:
        """The flights of ``slots`` from the step that brackets ``t_s`` (the earliest of them) on."""
        first = np.ceil((t_s - self._t0[slots]) / self.step_s - 1e-9).astype(int) - 1
        k0 = int(np.clip(np.min(first, initial=0), 0, self._n - 2))
        last = max(int(np.max(self._len[slots], initial=2)), k0 + 2)
        return self._flights(slots, np.full(len(slots), k0), self._r[slots, :, k0:last], self._v[slots, :, k0:last])

    def _flights(self, slots: np.ndarray, k: np.ndarray, r: np.ndarray, v: np.ndarray) -> SigmaFlights:
        """Flights of ``slots`` whose states ``r``, ``v`` start at step ``k`` (T,)."""
        shift = k * self.step_s
        m = self._mean
        return SigmaFlights(self._t0[slots] + shift, self.step_s, r, v, self._t_land[slots] - shift[:, None],
                            self._impact[slots],
                            ImpactPrediction(*(getattr(m, name)[slots] for name in ImpactPrediction.__slots__)))

    def _grow(self, cap: int) -> None:
        extra = cap - self._cap
        self._free.extend(range(cap - 1, self._cap - 1, -1))
        self._cap = cap

        def more(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, np.zeros((extra,) + a.shape[1:], a.dtype)])

        self._t0, self._len, self._r, self._v = more(self._t0), more(self._len), more(self._r), more(self._v)
        self._t_land, self._impact = more(self._t_land), more(self._impact)
        self._mean = ImpactPrediction(*(more(getattr(self._mean, name)) for name in ImpactPrediction.__slots__))


def predict_ground_crossing(x_ecef: np.ndarray, p_ecef: np.ndarray, t0_s: float, step_s: float,
                            max_flight_s: float) -> tuple[ImpactPrediction, Flight]:
    """Unscented ground crossing of threats with state means ``x_ecef`` (T, 6) and covariances ``p_ecef``
    (T, 6, 6) at ``t0_s``, flown forwards in time (``step_s`` > 0: the impact) or backwards (``step_s``
    < 0: where and when each unpowered, drag-free arc left the ground), for at most ``max_flight_s`` [s].

    The 13 sigma points of every threat are flown together by RK4 steps of ``step_s``; the mean time and
    point are the weighted sigma-point means (the point projected onto the ellipsoid), the covariance
    is that of the sigma crossing points in the east/north plane there. Also returns the sigma points'
    flights (13 rows per threat, threat-major).
    """
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    p = np.asarray(p_ecef, float).reshape(-1, 6, 6)
    sigma, wm, wc = sigma_points(x, p)
    n_threats, n_sigma = sigma.shape[:2]
    f = _integrate(sigma.reshape(-1, 6), step_s, int(np.ceil(max_flight_s / abs(step_s) - 1e-9)))
    t_land = f.t_land_s.reshape(n_threats, n_sigma)
    r_imp = f.impact.reshape(n_threats, n_sigma, 3)
    lat, lon, _ = ecef_to_geodetic(np.einsum("s,tsi->ti", wm, r_imp))
    impact = geodetic_to_ecef(lat, lon, 0.0)
    en = np.einsum("tij,tsj->tsi", enu_basis(lat, lon)[:, :2, :], r_imp - impact[:, None, :])
    dev = en - np.einsum("s,tsi->ti", wm, en)[:, None, :]
    cov = np.einsum("s,tsi,tsj->tij", wc, dev, dev)
    pred = ImpactPrediction(t_impact_s=t0_s + np.where(np.isfinite(t_land), t_land, np.nan) @ wm,
                            impact_ecef=impact, impact_lat_rad=lat, impact_lon_rad=lon, cov_en_m2=cov)
    return pred, f


def predict_impact_and_flights(x_ecef: np.ndarray, p_ecef: np.ndarray, t0_s: float, *, step_s: float = 2.0,
                               max_flight_s: float = 3600.0) -> tuple[ImpactPrediction, SigmaFlights]:
    """:func:`predict_impact`, and the sigma-point flights (RK4 steps of ``step_s``) behind it."""
    pred, f = predict_ground_crossing(x_ecef, p_ecef, t0_s, step_s, max_flight_s)
    n_threats = len(pred.t_impact_s)
    shape = (n_threats, -1, f.r.shape[1], 3)
    return pred, SigmaFlights(np.full(n_threats, float(t0_s)), step_s, f.r.reshape(shape), f.v.reshape(shape),
                              f.t_land_s.reshape(n_threats, -1), f.impact.reshape(n_threats, -1, 3), pred)


@dataclass(frozen=True, slots=True)
class CarriedPrediction:
    """Unscented predictions carried by statistical linearisation to new states (:func:`carry_prediction`).

    ``impact``: the carried impact prediction; ``offset`` (T,): the new state's distance from the old
    mean in units of the sigma-point spread (<= 1: inside the region the sigma points span);
    ``curvature_m`` (T,): an estimate of the error the carry leaves in the mean impact point [m], from
    the sigma pairs' asymmetry ``b_i = (y+ + y-)/2 - y0``: ``(sum_i sqrt|b_i| |c_i|)^2`` (the quadratic
    term along the offset, cross terms bounded by the diagonal ones) plus ``|sum_i b_i (s_i - 1)|`` for
    the change ``s_i`` of variance along each pair (it bounds the second-order part; higher orders come
    in beyond a few spreads); ``valid`` (T,): whether the carry holds (``t_s`` and the new mean's
    landing inside the stretch where every sigma flight is still integrated, a finite impact);
    ``c`` (T, 6): the offset along each sigma pair, for :func:`carried_trajectories`.
    """

    impact: ImpactPrediction
    offset: np.ndarray
    curvature_m: np.ndarray
    valid: np.ndarray
    c: np.ndarray


def _pairs(a: np.ndarray) -> np.ndarray:
    """Half-differences (T, 6, ...) of the plus and minus sigma points of ``a`` (T, 13, ...)."""
    return 0.5 * (a[:, 1:7] - a[:, 7:])


@np.errstate(invalid="ignore")  # a sigma point that never lands gives NaN: not valid
def carry_prediction(f: SigmaFlights, x_ecef: np.ndarray, p_ecef: np.ndarray, t_s: float) -> CarriedPrediction:
    """The unscented predictions ``f`` carried to states ``x_ecef`` (T, 6), ``p_ecef`` (T, 6, 6) at ``t_s``.

    Statistical linearisation of the sigma-point flights: at ``t_s`` the six plus/minus pairs span the
    old uncertainty; the new mean's offset in that basis, ``c``, moves every output (impact point, impact
    time, every state of the mean flight) by the same combination of the pairs' half-differences, and
    the impact covariance is ``J P J^T`` with the regression Jacobian J. Exact for linear flight, and
    second order in the offset otherwise; with ``c = 0`` the old mean flight comes back bit for bit.
    """
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    P = np.asarray(p_ecef, float).reshape(-1, 6, 6)
    h, n = f.step_s, len(x)
    tau = t_s - f.t0_s
    last = f.r.shape[2] - 1
    k = np.clip(np.ceil(tau / h - 1e-9).astype(int) - 1, 0, max(last - 1, 0))
    u = np.repeat(np.clip(tau / h - k, 0.0, 1.0), 13)
    rows, k1 = np.arange(n), np.minimum(k + 1, last)
    pos, vel = _hermite_state(f.r[rows, :, k].reshape(-1, 3), f.v[rows, :, k].reshape(-1, 3),
                              f.r[rows, :, k1].reshape(-1, 3), f.v[rows, :, k1].reshape(-1, 3), h, u)
    sig = np.concatenate([pos, vel], axis=-1).reshape(n, 13, 6)
    try:
        inv = np.linalg.inv(np.swapaxes(_pairs(sig), 1, 2))       # state -> pair coefficients
    except np.linalg.LinAlgError:                                  # a degenerate spread: nothing carries
        inv = np.full((n, 6, 6), np.nan)
    c = (inv @ (x - sig[:, 0])[:, :, None])[:, :, 0]
    d_imp = _pairs(f.impact)                                       # (T, pair, 3)
    d_t = _pairs(f.t_land_s)
    lat, lon, _ = ecef_to_geodetic(f.mean.impact_ecef + (c[:, None, :] @ d_imp)[:, 0])
    jac = np.swapaxes(inv, 1, 2) @ d_imp                           # (T, 6, 3): d impact / d state
    en = enu_basis(lat, lon)[:, :2, :] @ np.swapaxes(jac, 1, 2)    # (T, 2, 6)
    impact = ImpactPrediction(f.mean.t_impact_s + np.sum(c * d_t, axis=-1), geodetic_to_ecef(lat, lon, 0.0),
                              lat, lon, en @ P @ np.swapaxes(en, 1, 2))
    offset = np.sqrt(np.sum(c * c, axis=-1))
    reach = np.min(f.t_land_s, axis=-1) + (FLY_ON_STEPS - 1) * h   # every sigma state flies freely until then
    valid = ((tau >= 0.0) & (tau <= reach) & (f.t_land_s[:, 0] + np.sum(c * d_t, axis=-1) <= reach)
             & np.isfinite(impact.t_impact_s) & np.isfinite(offset))
    bend = 0.5 * (f.impact[:, 1:7] + f.impact[:, 7:]) - f.impact[:, :1]   # second-order term per pair
    spread2 = 3.0 * np.sum((inv @ P) * inv, axis=-1)                    # new variance per pair / old one
    bend_m = np.sqrt(np.sum(bend * bend, axis=-1))
    curvature = (np.sum(np.sqrt(bend_m) * np.abs(c), axis=-1) ** 2
                 + np.sqrt(np.sum((((spread2 - 1.0)[:, None, :]) @ bend)[:, 0] ** 2, axis=-1)))
    return CarriedPrediction(impact, offset, curvature, valid, c)


@np.errstate(invalid="ignore")
def _carried_flight(f: SigmaFlights, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """States ``r``, ``v`` (T, S+1, 3), landing time (T,) and impact point (T, 3) of the mean flights of
    ``f`` carried by offsets ``c`` (T, 6)."""
    return (f.r[:, 0] + np.einsum("ti,tisk->tsk", c, _pairs(f.r)), f.v[:, 0] + np.einsum("ti,tisk->tsk", c, _pairs(f.v)),
            f.t_land_s[:, 0] + np.sum(c * _pairs(f.t_land_s), axis=-1),
            f.impact[:, 0] + (c[:, None, :] @ _pairs(f.impact))[:, 0])


def carried_trajectories(f: SigmaFlights, c: np.ndarray, t_s: float, step_s: float,
                         max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`predict_trajectories` from ``t_s`` (sampled every ``step_s``, to the ground or for at most
    ``max_samples`` samples) of the mean flights of ``f`` carried by offsets ``c`` (T, 6)
    (:attr:`CarriedPrediction.c`)."""
    r, v, t_land, point = _carried_flight(f, c)
    tau0 = t_s - f.t0_s
    n = int(np.ceil(np.max(t_land - tau0, initial=0.0) / step_s)) + 2
    n = n if max_samples is None else min(n, max_samples)
    return _trim(t_s, step_s, *_sample(r, v, f.step_s, _grid(tau0, step_s, n), t_land, point))


def carried_positions(f: SigmaFlights, c: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Positions (T, E, 3) of the carried mean flights (as :func:`carried_trajectories`) at times
    ``times_s`` (E,) [s]; held at the impact point after landing."""
    r, v, t_land, point = _carried_flight(f, c)
    return _sample(r, v, f.step_s, np.asarray(times_s, float)[None, :] - f.t0_s[:, None], t_land, point)[0]
