"""Ballistic prediction of tracked threats: trajectories to the ground and impact points with covariance.

States are ECEF position [m] and velocity [m/s] stacked as (..., 6). Prediction is unpowered, drag-free
flight (two-body gravity with J2 in the rotating frame, :func:`~shieldwall.world.dynamics.ballistic_accel_ecef`)
integrated by :func:`~shieldwall.world.dynamics.rk4_step`, all threats (and all sigma points) in one batch.
The ground is the WGS-84 ellipsoid (height 0); a ground crossing is located inside its integration
step by a secant guess refined with Newton steps on the height along the step's cubic Hermite arc.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.geo import altitude_m, ecef_to_geodetic, enu_basis, geodetic_to_ecef
from shieldwall.world.dynamics import ballistic_accel_ecef, rk4_step

#: Unscented-transform scaling (Julier's kappa = 3 - n for n = 6): sigma points at +-sqrt(3) standard
#: deviations, matching the Gaussian's fourth moments; every covariance weight is positive.
_UT_ALPHA, _UT_BETA, _UT_KAPPA = 1.0, 2.0, -3.0
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
    """Time into the step [s] and ECEF point where states (N, 3) above ground reach height 0 in it.

    Newton steps on the height along the step's cubic Hermite arc (its error is O(step^4 * jerk rate):
    under a millimetre for 20 s steps), from the secant guess.
    """
    u = alt0 / (alt0 - alt1)
    for _ in range(_NEWTON_ITERATIONS):
        r, v = _hermite_state(r0, v0, r1, v1, step_s, u)
        lat, lon, alt = ecef_to_geodetic(r)
        normal = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        climb_ms = np.sum(normal * v, axis=-1)
        u = np.clip(u - alt / (step_s * np.minimum(climb_ms, -1e-3)), 0.0, 1.0)
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
    """States at every integration step of N threats, and where each came down.

    ``r``, ``v`` (N, S+1, 3): states at step boundaries (rows frozen after their landing step);
    ``landing_step`` (N,): index of the step in which the threat reached the ground (-1: not within
    the horizon; 0 with ``dt_land_s`` = 0 for a threat already down); ``dt_land_s`` (N,): time into
    that step [s]; ``impact`` (N, 3): the crossing point (NaN if none); ``down_at_start`` (N,): already
    at height <= 0 at the start; ``step_s``: the integration step [s].
    """

    r: np.ndarray
    v: np.ndarray
    landing_step: np.ndarray
    dt_land_s: np.ndarray
    impact: np.ndarray
    down_at_start: np.ndarray
    step_s: float

    def row(self, i: int) -> Flight:
        """The flight of threat ``i`` alone (a batch of one)."""
        return Flight(self.r[i:i + 1], self.v[i:i + 1], self.landing_step[i:i + 1], self.dt_land_s[i:i + 1],
                      self.impact[i:i + 1], self.down_at_start[i:i + 1], self.step_s)


def _landed_within(f: Flight, max_steps: int) -> np.ndarray:
    """(N,) whether each threat of ``f`` is down within ``max_steps`` steps (or was down at the start)."""
    return (f.landing_step >= 0) & ((f.landing_step < max_steps) | f.down_at_start)


def _flight_batch(x: np.ndarray, flights: list[Flight | None], step_s: float, max_steps: int) -> Flight:
    """The flight of states ``x`` (N, 6) as :func:`_integrate` flies them with at most ``max_steps``
    steps, reusing ``flights`` (one row each, from the same states with the same step; None: none).

    Bit for bit the same as one batch: rows are integrated independently and a landed row is held
    frozen, so a longer flight cut short or a landed one held on gives the states the batch would
    have had. Rows without a flight, or still in the air at the end of a too short one, are integrated.
    """
    flights = list(flights)
    todo = [i for i, f in enumerate(flights)
            if f is None or (f.r.shape[1] - 1 < max_steps and not _landed_within(f, max_steps).all())]
    if todo:
        fresh = _integrate(x[todo], step_s, max_steps)
        for j, i in enumerate(todo):
            flights[i] = fresh.row(j)
    r, v, land, dt, impact = [], [], [], [], []
    for f in flights:
        landed = _landed_within(f, max_steps)
        keep = np.minimum(np.arange(max_steps + 1), f.r.shape[1] - 1)
        r.append(f.r[:, keep])
        v.append(f.v[:, keep])
        land.append(np.where(landed, f.landing_step, -1))
        dt.append(np.where(landed, f.dt_land_s, np.nan))
        impact.append(np.where(landed[:, None], f.impact, np.nan))
    land_all, down = np.concatenate(land), np.concatenate([f.down_at_start for f in flights])
    steps = int(np.max(np.where(land_all >= 0, land_all + 1, max_steps)[~down], initial=0))
    return Flight(np.concatenate(r)[:, :steps + 1], np.concatenate(v)[:, :steps + 1], land_all,
                  np.concatenate(dt), np.concatenate(impact), down, step_s)


def _integrate(x: np.ndarray, step_s: float, max_steps: int) -> Flight:
    """RK4 flight of states (N, 6) until every one has come down or ``max_steps`` steps have passed.

    One batched RK4 step per loop turn over the threats still up; the ground crossings are located
    afterwards, all in one batch.
    """
    n = len(x)
    r_steps, v_steps = [x[:, :3].copy()], [x[:, 3:].copy()]
    alt0 = altitude_m(r_steps[0])
    up = alt0 > 0.0
    already_down = ~up
    landing = np.where(up, -1, 0)
    alt_before, alt_after = np.zeros(n), np.zeros(n)
    k = 0
    while up.any() and k < max_steps:
        if up.all():  # every row steps: no gathering and scattering of rows
            r, v = rk4_step(r_steps[-1], v_steps[-1], step_s, ballistic_accel_ecef)
            idx, alt1 = slice(None), altitude_m(r)
            hit = np.flatnonzero(alt1 <= 0.0)
            down = hit
        else:
            idx = np.flatnonzero(up)
            r, v = r_steps[-1].copy(), v_steps[-1].copy()
            r1, v1 = rk4_step(r[idx], v[idx], step_s, ballistic_accel_ecef)
            alt1 = altitude_m(r1)
            r[idx], v[idx] = r1, v1
            hit = np.flatnonzero(alt1 <= 0.0)
            down = idx[hit]
        if down.size:
            landing[down] = k
            alt_before[down], alt_after[down] = alt0[down], alt1[hit]
            up[down] = False
        alt0[idx] = alt1
        r_steps.append(r)
        v_steps.append(v)
        k += 1
    r_all, v_all = np.stack(r_steps, axis=1), np.stack(v_steps, axis=1)
    dt_land = np.where(landing >= 0, 0.0, np.nan)
    impact = np.where(already_down[:, None], r_all[:, 0], np.nan)
    came = np.flatnonzero((landing >= 0) & ~already_down)
    if came.size:
        k = landing[came]
        dt_land[came], impact[came] = _ground_crossing(r_all[came, k], v_all[came, k], r_all[came, k + 1],
                                                       v_all[came, k + 1], alt_before[came], alt_after[came],
                                                       step_s)
    return Flight(r_all, v_all, landing, dt_land, impact, already_down, step_s)


def predict_trajectories(x_ecef: np.ndarray, t0_s: float, horizon_s: float, step_s: float, *,
                         integration_step_s: float | None = None,
                         flights: list[Flight | None] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predicted trajectories of threats with states ``x_ecef`` (T, 6) at ``t0_s`` on a common time grid.

    Returns ``times_s`` (K,) = t0 + k * step up to ``t0_s + horizon_s``, positions ``r_ecef`` (T, K, 3)
    and ``alive`` (T, K): False from the first sample at or after the threat's ground crossing (and
    throughout for a threat already at height <= 0). A landed threat's position is held at its
    crossing point. The grid stops at the first sample at which every threat has landed.

    ``integration_step_s`` (a whole multiple of ``step_s``; default ``step_s``) is the RK4 step; the
    samples inside each step are cubic Hermite interpolants of its end states (drag-free, a 40 s step
    puts them within a metre of the 2 s integration over a 10-minute flight).

    ``flights`` (one per threat or None, e.g. the mean flights of :func:`predict_impact_and_flights`
    from the same states at ``t0_s`` with step ``integration_step_s``) are reused instead of integrating
    again, with bit-identical results; threats without one (or with one too short) are integrated.
    """
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    m = 1 if integration_step_s is None else int(round(integration_step_s / step_s))
    if m < 1 or abs(m * step_s - (integration_step_s or step_s)) > 1e-9 * step_s:
        raise ValueError(f"integration_step_s={integration_step_s!r}: expected a whole multiple of step_s={step_s!r}")
    h = m * step_s
    n_samples = int(np.floor(horizon_s / step_s + 1e-9))
    max_steps = -(-n_samples // m)
    if flights is None:
        f = _integrate(x, h, max_steps)
    elif len(flights) != len(x) or any(fl is not None and fl.step_s != h for fl in flights):
        raise ValueError(f"flights: expected {len(x)} flights (or None) integrated with steps of {h!r} s")
    else:
        f = _flight_batch(x, flights, h, max_steps)
    # Sample j (time j * step_s) lies in integration step (j - 1) // m, at fraction ((j - 1) % m + 1) / m.
    j = np.arange(1, min(n_samples, (f.r.shape[1] - 1) * m) + 1)
    step, frac = (j - 1) // m, ((j - 1) % m + 1) / m
    n, k = len(x), len(j)
    rows, st = np.repeat(np.arange(n), k), np.tile(step, n)
    pos = _hermite_state(f.r[rows, st], f.v[rows, st], f.r[rows, st + 1], f.v[rows, st + 1], h, np.tile(frac, n))[0]
    t_land = np.where(f.landing_step >= 0, f.landing_step * h + f.dt_land_s, np.inf)
    alive = np.concatenate([[0.0], j * step_s])[None, :] < t_land[:, None]
    r_out = np.concatenate([x[:, None, :3], pos.reshape(n, k, 3)], axis=1)
    r_out = np.where(alive[..., None], r_out, f.impact[:, None, :])
    gone = np.flatnonzero(~alive.any(axis=0))
    last = int(gone[0]) if gone.size else k   # stop at the first sample with every threat down
    times_s = t0_s + step_s * np.arange(last + 1)
    return times_s, r_out[:, : last + 1], alive[:, : last + 1]


def _sigma_points(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unscented sigma points (T, 2n+1, n) of N(x, P) and their mean and covariance weights (2n+1,)."""
    n = x.shape[-1]
    lam = _UT_ALPHA**2 * (n + _UT_KAPPA) - n
    wm = np.full(2 * n + 1, 0.5 / (n + lam))
    wm[0] = lam / (n + lam)
    wc = wm.copy()
    wc[0] += 1.0 - _UT_ALPHA**2 + _UT_BETA
    # Symmetric square root by eigen-decomposition: defined for singular (PSD) covariances too.
    eigval, eigvec = np.linalg.eigh(0.5 * (p + np.swapaxes(p, -1, -2)))
    rows = np.swapaxes(eigvec * np.sqrt(np.maximum(eigval, 0.0) * (n + lam))[..., None, :], -1, -2)
    sigma = np.concatenate([x[:, None, :], x[:, None, :] + rows, x[:, None, :] - rows], axis=1)
    return sigma, wm, wc


def predict_impact(x_ecef: np.ndarray, p_ecef: np.ndarray, t0_s: float, *, step_s: float = 2.0,
                   max_flight_s: float = 3600.0) -> ImpactPrediction:
    """Impact prediction for threats with state means ``x_ecef`` (T, 6) and covariances ``p_ecef`` (T, 6, 6).

    Unscented transform: the 13 sigma points of every threat are flown to the ground together; the
    mean impact time and point are the weighted sigma-point means (the point projected onto the
    ellipsoid), the covariance is that of the sigma impact points in the east/north plane there.
    """
    return predict_impact_and_flights(x_ecef, p_ecef, t0_s, step_s=step_s, max_flight_s=max_flight_s)[0]


def predict_impact_and_flights(x_ecef: np.ndarray, p_ecef: np.ndarray, t0_s: float, *, step_s: float = 2.0,
                               max_flight_s: float = 3600.0) -> tuple[ImpactPrediction, Flight]:
    """:func:`predict_impact`, and the flight (RK4 steps of ``step_s``) of each mean state (T rows): the
    central sigma point is the mean itself, so :func:`predict_trajectories` can sample it (``flights``)."""
    x = np.asarray(x_ecef, float).reshape(-1, 6)
    p = np.asarray(p_ecef, float).reshape(-1, 6, 6)
    sigma, wm, wc = _sigma_points(x, p)
    n_threats, n_sigma = sigma.shape[:2]
    f = _integrate(sigma.reshape(-1, 6), step_s, int(np.ceil(max_flight_s / step_s - 1e-9)))
    landed = f.landing_step >= 0
    dt_s = np.where(landed, f.landing_step * step_s + f.dt_land_s, np.nan).reshape(n_threats, n_sigma)
    r_imp = f.impact.reshape(n_threats, n_sigma, 3)
    lat, lon, _ = ecef_to_geodetic(np.einsum("s,tsi->ti", wm, r_imp))
    impact = geodetic_to_ecef(lat, lon, 0.0)
    en = np.einsum("tij,tsj->tsi", enu_basis(lat, lon)[:, :2, :], r_imp - impact[:, None, :])
    dev = en - np.einsum("s,tsi->ti", wm, en)[:, None, :]
    cov = np.einsum("s,tsi,tsj->tij", wc, dev, dev)
    central = np.arange(n_threats) * n_sigma
    mean_flight = Flight(f.r[central], f.v[central], f.landing_step[central], f.dt_land_s[central],
                         f.impact[central], f.down_at_start[central], step_s)
    return ImpactPrediction(t_impact_s=t0_s + dt_s @ wm, impact_ecef=impact, impact_lat_rad=lat,
                            impact_lon_rad=lon, cov_en_m2=cov), mean_flight
