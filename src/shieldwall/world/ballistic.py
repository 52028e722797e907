"""Truth flight of ballistic missiles: gravity-turn boost, midcourse, re-entry; aiming; the raid ephemeris.

Every threat is flown in the rotating ECEF frame with :mod:`shieldwall.world.dynamics` (two-body gravity
with J2, Coriolis and centrifugal terms, exponential-atmosphere drag) and classical RK4, all threats of a
raid at once.

* Boost (``burn_time_s``): a constant thrust acceleration ``thrust_ms2`` per threat (the aim solver's
  range control) plus gravity and frame terms; no drag (the booster's drag losses are folded into the
  thrust). The thrust lies in a launch plane fixed in ECEF (set by the launch azimuth, the cross-range
  control): vertical for the first 10 % of the burn, a linear pitch-over to the commanded elevation
  above the local (geocentric) horizontal by 35 % of the burn, held to burnout. The direction is held
  constant over each 1 s step (a 1 Hz autopilot).
* Unpowered flight: gravity, J2, frame terms and drag with the class's ballistic coefficient (the air
  ends at :data:`DRAG_CEILING_M`), until the geodetic height crosses 0 (solved on the cubic Hermite arc
  of the last step). Steps are 1 s in boost and in the air, longer (:data:`COAST_STEPS_S`) higher up.
* Aiming: the target burnout flight-path angle is the closed-form minimum-energy angle
  (:func:`shieldwall.world.kepler.minimum_energy`) from the burnout point to the aim point as it will be
  at impact, in the inertial frame, plus :data:`FPA_OFFSET_DEG`: +15 deg for lofted and -12 deg for
  depressed flights (a fifth to a half of the minimum-energy angle; each costs about 5 % more burnout
  speed at 1,000 km). The first guess is the closed-form conic to the aim point's inertial position at
  the estimated impact time (so it allows for the Earth's rotation); a vectorised quasi-Newton
  iteration on (thrust, launch azimuth, commanded pitch) then drives the integrated impact onto the
  aim point and the burnout angle onto its target, typically in 5-8 batched propagations.

Flight-path angles and burnout speeds reported here are inertial (the velocity plus the Earth-rotation
velocity omega x r), the frame of the range equation; the class limit ``burnout_speed_max_ms`` is checked
against the Earth-relative (ECEF) burnout speed, which does not depend on where or which way the missile
is launched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.errors import PlanningError
from shieldwall.geo import (OMEGA_RADS, R_MEAN_M, ecef_to_geodetic, enu_basis, geodetic_to_ecef,
                            great_circle_m)
from shieldwall.world import kepler
from shieldwall.world.dynamics import ballistic_accel_ecef, drag_accel_ecef, rk4_step

#: Burnout flight-path angle relative to the minimum-energy angle, per trajectory type [deg].
FPA_OFFSET_DEG = {"minimum-energy": 0.0, "lofted": 15.0, "depressed": -12.0}
#: Fractions of the burn time at which the pitch-over starts and ends.
PITCH_START_FRACTION, PITCH_END_FRACTION = 0.1, 0.35
#: Height [m] above which the air is taken as vacuum (exponential-atmosphere drag < 1e-6 m/s^2 there).
DRAG_CEILING_M = 150e3
#: Boost integration step [s] (thrust and pitch program are smooth; samples in between are Hermite).
BOOST_STEP_S = 2
#: Coasting integration steps [s] and the height [m] each step must end above: long steps in vacuum,
#: short ones in thin air; 1 s in denser air, and as the ephemeris sampling interval.
COAST_STEPS_S = ((30, DRAG_CEILING_M), (20, DRAG_CEILING_M), (10, DRAG_CEILING_M), (5, 60e3), (2, 60e3))
#: A flight still up after this long [s] is abandoned (it would be orbital).
MAX_FLIGHT_S = 4.0 * 3600.0
#: Aim solver: miss [m] and burnout-angle error [rad] accepted, and iterations allowed.
AIM_TOLERANCE_M, FPA_TOLERANCE_RAD, MAX_AIM_ITERATIONS = 10.0, np.radians(0.1), 25
#: Standard gravity [m/s^2], used for the initial thrust guess and the least thrust allowed.
G0_MS2 = 9.80665
_MIN_THRUST_MS2 = 1.3 * G0_MS2
#: The closed-form first guess overstates the burnout speed needed (boost range and height); a range is
#: refused outright when this fraction of the guess exceeds the class maximum.
_SPEED_CREDIT = 0.85
#: Aim solver: finite-difference and largest steps of the variables, and the merit accepted at the end.
_FD_STEP = np.array([1e-3, 1e-4, 1e-3])
_MAX_STEP = np.array([0.2, 0.2, 0.2])
_MERIT_ACCEPTED = 50.0
_Z = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True, slots=True)
class Physics:
    """Terms of the equations of motion that are on; all on for truth (switches serve closed-form tests)."""

    j2: bool = True
    rotating: bool = True
    drag: bool = True

    @property
    def omega_rads(self) -> float:
        """Rotation rate [rad/s] of the integration frame relative to inertial space."""
        return OMEGA_RADS if self.rotating else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.einsum("...i,...i->...", a, b)


def inertial_velocity_ms(r_ecef: np.ndarray, v_ecef: np.ndarray, physics: Physics = Physics()) -> np.ndarray:
    """Velocity [m/s] in the inertial frame momentarily aligned with ECEF: v + omega x r."""
    return v_ecef + physics.omega_rads * np.cross(_Z, r_ecef)


def _rotate_z(r: np.ndarray, angle_rad: np.ndarray) -> np.ndarray:
    """Rotate vectors (N, 3) by ``angle_rad`` (N,) about the z axis (ECEF at t -> inertial at t0 = t - dt)."""
    c, s = np.cos(angle_rad), np.sin(angle_rad)
    return np.stack([c * r[:, 0] - s * r[:, 1], s * r[:, 0] + c * r[:, 1], r[:, 2]], axis=-1)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), _dot(a, b))


def _pitch_rad(tau_s: np.ndarray, burn_time_s: np.ndarray, pitch_cmd_rad: np.ndarray) -> np.ndarray:
    """Thrust elevation above the local horizontal [rad] at ``tau_s`` after launch."""
    frac = np.clip((tau_s / burn_time_s - PITCH_START_FRACTION) / (PITCH_END_FRACTION - PITCH_START_FRACTION),
                   0.0, 1.0)
    return 0.5 * np.pi + (pitch_cmd_rad - 0.5 * np.pi) * frac


def _hermite(p0, v0, p1, v1, h, u):
    """Cubic Hermite position and velocity at fraction ``u`` of a step of ``h`` [s] (per-row arrays)."""
    u, h = u[:, None], h[:, None]
    u2 = u * u
    u3 = u2 * u
    m0, m1 = v0 * h, v1 * h
    w = 3 * u2 - 2 * u3  # weight of p1; that of p0 is 1 - w
    pos = (1 - w) * p0 + (u3 - 2 * u2 + u) * m0 + w * p1 + (u3 - u2) * m1
    vel = ((6 * u2 - 6 * u) * (p0 - p1) + (3 * u2 - 4 * u + 1) * m0 + (3 * u2 - 2 * u) * m1) / h
    return pos, vel


def _ground_crossing(p0, v0, alt0, p1, v1, alt1, h):
    """Fraction of the step where the Hermite arc crosses geodetic height 0 (Newton on the true height)."""
    u = np.clip(alt0 / np.where(alt0 - alt1 > 0.0, alt0 - alt1, 1.0), 0.0, 1.0)
    for _ in range(3):
        pos, vel = _hermite(p0, v0, p1, v1, h, u)
        lat, lon, alt = ecef_to_geodetic(pos)
        rate = _dot(vel, enu_basis(lat, lon)[..., 2, :]) * h
        u = np.clip(u - alt / np.where(rate < 0.0, rate, -1.0), 0.0, 1.0)
    return u


@dataclass(slots=True)
class _Flight:
    """Result of :func:`_fly`; times relative to launch, NaN where a threat never came down."""

    burnout_r_ecef: np.ndarray
    burnout_v_ecef: np.ndarray
    impact_tau_s: np.ndarray
    impact_r_ecef: np.ndarray
    impact_v_ecef: np.ndarray
    samples_r_ecef: np.ndarray | None = None
    samples_v_ecef: np.ndarray | None = None


def _coast_step_s(t_s, burn_time_s, r, v, alt_m) -> np.ndarray:
    """Integer step [s] per threat: BOOST_STEP_S in boost, 1 s in dense air, longer while coasting high
    (COAST_STEPS_S)."""
    sink = np.maximum(-_dot(v, _unit(r)), 0.0)
    step = np.where(t_s < burn_time_s, float(BOOST_STEP_S), 1.0)
    for h, floor_m in COAST_STEPS_S[::-1]:
        clear = alt_m - h * sink - 0.5 * G0_MS2 * h * h >= floor_m
        step = np.where(clear & (t_s >= burn_time_s), float(h), step)
    return step


def _fill(rows, t0, r0, v0, r1, v1, h):
    """Hermite samples at the whole seconds strictly inside steps of ``h`` [s] starting at ``t0``."""
    n_in = h.astype(int) - 1
    rep = np.repeat(np.arange(len(h)), n_in)
    j = np.arange(len(rep)) - np.repeat(np.cumsum(n_in) - n_in, n_in) + 1
    pos, vel = _hermite(r0[rep], v0[rep], r1[rep], v1[rep], h[rep], j / h[rep])
    return rows[rep], (t0[rep] + j).astype(int), pos, vel


def _accel(physics: Physics, low: np.ndarray, beta_low_kgm2, thrust):
    """Acceleration function for one step: gravity and frame terms for all, drag for rows ``low``, and
    ``thrust`` = (magnitude [m/s^2], elevation [rad], launch-plane normal) per row if given."""
    def accel(r, v):
        a = ballistic_accel_ecef(r, v, None, j2=physics.j2, rotating=physics.rotating)
        if low.size:
            a[low] += drag_accel_ecef(r[low], v[low], beta_low_kgm2)
        if thrust is not None:
            mag, theta, plane_n = thrust
            up = _unit(r)
            a += (mag * np.cos(theta))[:, None] * _unit(np.cross(plane_n, up)) + (mag * np.sin(theta))[:, None] * up
        return a
    return accel


def _fly(launch_ecef, plane_n_ecef, thrust_ms2, pitch_cmd_rad, burn_time_s, beta_kgm2,
         physics: Physics, record: bool = False) -> _Flight:
    """Fly N threats from launch to impact; with ``record``, sample every 1 s after launch."""
    n = len(launch_ecef)
    idx = np.arange(n)
    t = np.zeros(n)
    r, v, alt = launch_ecef.astype(float), np.zeros((n, 3)), np.zeros(n)
    nan3 = np.full((n, 3), np.nan)
    bo_r, bo_v, imp_r, imp_v, imp_t = nan3.copy(), nan3.copy(), nan3.copy(), nan3.copy(), np.full(n, np.nan)
    rec = [(idx, np.zeros(n, int), r, v)] if record else []

    while idx.size:
        tb = burn_time_s[idx]
        boosting = t < tb
        big = _coast_step_s(t, tb, r, v, alt)
        h1 = np.where(boosting, np.minimum(big, tb - t), big)
        low = np.flatnonzero(~boosting & (alt < DRAG_CEILING_M)) if physics.drag else np.empty(0, int)
        thrust = None
        if boosting.any():
            theta = _pitch_rad(t + 0.5 * h1, tb, pitch_cmd_rad[idx])
            thrust = (boosting * thrust_ms2[idx], theta, plane_n_ecef[idx])
        accel = _accel(physics, low, beta_kgm2[idx[low]], thrust)
        r1, v1 = rk4_step(r, v, h1, accel)
        burnout = boosting & (t + h1 >= tb)
        bo_r[idx[burnout]], bo_v[idx[burnout]] = r1[burnout], v1[burnout]
        split = np.flatnonzero(boosting & (h1 < big))
        if split.size:
            r1[split], v1[split] = rk4_step(r1[split], v1[split], (big - h1)[split],
                                            _accel(physics, np.empty(0, int), None, None))
        t1 = t + big
        alt1 = ecef_to_geodetic(r1)[2]
        hit = ~boosting & (alt1 <= 0.0)
        if hit.any():
            u = _ground_crossing(r[hit], v[hit], alt[hit], r1[hit], v1[hit], alt1[hit], big[hit])
            pos, vel = _hermite(r[hit], v[hit], r1[hit], v1[hit], big[hit], u)
            imp_t[idx[hit]], imp_r[idx[hit]], imp_v[idx[hit]] = t[hit] + u * big[hit], pos, vel
            r1[hit], v1[hit] = pos, vel
        if record:
            long = np.flatnonzero(big > 1.0)
            if long.size:
                rec.append(_fill(idx[long], t[long], r[long], v[long], r1[long], v1[long], big[long]))
            rec.append((idx, t1.astype(int), r1, v1))
        keep = ~hit & (t1 < MAX_FLIGHT_S)
        idx, t, r, v, alt = idx[keep], t1[keep], r1[keep], v1[keep], alt1[keep]

    flight = _Flight(bo_r, bo_v, imp_t, imp_r, imp_v)
    if record:
        who, k = np.concatenate([x[0] for x in rec]), np.concatenate([x[1] for x in rec])
        last = np.zeros(n, int)
        np.maximum.at(last, who, k)
        m = int(last.max()) + 1
        sr, sv = np.empty((n, m, 3)), np.empty((n, m, 3))
        sr[who, k], sv[who, k] = np.concatenate([x[2] for x in rec]), np.concatenate([x[3] for x in rec])
        after = np.arange(m)[None, :] > last[:, None]
        flight.samples_r_ecef = np.where(after[..., None], imp_r[:, None, :], sr)
        flight.samples_v_ecef = np.where(after[..., None], 0.0, sv)
    return flight


class _Aim:
    """Launch/aim geometry of N threats and the map from solver variables to flight controls.

    The solver's variables are x = (thrust / first-guess thrust, launch azimuth [rad, from north],
    commanded pitch [rad]); its residuals are (downrange miss, cross-range miss) as central angles [rad]
    and the burnout flight-path angle's shortfall from its target [rad].
    """

    def __init__(self, launch_ecef, aim_ecef, burn_time_s, beta_kgm2, fpa_offset_rad, physics):
        self.launch, self.aim, self.burn, self.beta = launch_ecef, aim_ecef, burn_time_s, beta_kgm2
        self.offset, self.physics = fpa_offset_rad, physics
        self.up = _unit(launch_ecef)
        self.normal = _unit(np.cross(self.up, _unit(aim_ecef)))
        self.ahead = np.cross(self.normal, self.up)
        self.angle = self._downrange(aim_ecef)
        lat, lon, _ = ecef_to_geodetic(launch_ecef)
        self.east, self.north = enu_basis(lat, lon)[:, 0, :], enu_basis(lat, lon)[:, 1, :]
        self.thrust0 = np.ones(len(launch_ecef))

    def _downrange(self, r, sel=slice(None)):
        """Central angle [rad] from the launch point along the launch-aim great circle, in [-pi/2, 3pi/2)."""
        u = _unit(r)
        angle = np.arctan2(_dot(u, self.ahead[sel]), _dot(u, self.up[sel]))
        return np.where(angle < -0.5 * np.pi, angle + 2.0 * np.pi, angle)

    def first_guess(self) -> tuple[np.ndarray, np.ndarray]:
        """Variables x (N, 3) and the Earth-relative burnout speed [m/s] they imply.

        Closed form on a rotating Earth: the inertial minimum-energy (plus offset) conic from the launch
        point to where the aim point will be at impact, less the launch site's own velocity.
        """
        r1, r2 = np.linalg.norm(self.launch, axis=-1), np.linalg.norm(self.aim, axis=-1)
        tof = self.burn + 600.0
        for _ in range(3):
            aim_i = _rotate_z(self.aim, self.physics.omega_rads * tof)
            angle = _angle(self.launch, aim_i)
            fpa = kepler.minimum_energy(r1, r2, angle)[0] + self.offset
            speed = kepler.speed_for_angle_ms(r1, r2, angle, fpa)
            tof = 0.5 * self.burn + kepler.time_of_flight_s(r1, speed, fpa, r2)
        horiz = _unit(aim_i - _dot(aim_i, self.up)[:, None] * self.up)
        v_i = speed[:, None] * (np.cos(fpa)[:, None] * horiz + np.sin(fpa)[:, None] * self.up)
        v_rel = v_i - self.physics.omega_rads * np.cross(_Z, self.launch)
        speed_rel = np.linalg.norm(v_rel, axis=-1)
        fpa_rel = np.arcsin(_dot(v_rel, self.up) / speed_rel)
        # Thrust for that speed plus gravity losses, a fit over the generic classes (within ~10 %).
        self.thrust0 = 1.1 * speed_rel / self.burn + G0_MS2 * (0.4 - 0.22 * np.sin(fpa_rel))
        x = np.stack([np.ones_like(speed), np.arctan2(_dot(v_rel, self.east), _dot(v_rel, self.north)),
                      fpa_rel], axis=-1)
        return x, speed_rel

    def controls(self, x, sel):
        """Thrust [m/s^2], launch-plane normal (ECEF) and commanded pitch [rad] for variables ``x`` of ``sel``."""
        psi = x[:, 1:2]
        heading = np.cos(psi) * self.north[sel] + np.sin(psi) * self.east[sel]
        up = self.up[sel]
        heading = heading - _dot(heading, up)[:, None] * up
        return x[:, 0] * self.thrust0[sel], _unit(np.cross(up, heading)), x[:, 2]

    def fly(self, x, sel, record=False) -> _Flight:
        thrust, plane_n, pitch = self.controls(x, sel)
        return _fly(self.launch[sel], plane_n, thrust, pitch, self.burn[sel], self.beta[sel], self.physics, record)

    def residual(self, x, sel) -> np.ndarray:
        """Residuals (len(sel), 3) of variables ``x``: downrange and cross-range miss (central angles [rad])
        and burnout flight-path angle shortfall [rad]; NaN rows where a flight never came down."""
        f = self.fly(x, sel)
        imp = f.impact_r_ecef
        reach = self._downrange(imp, sel)
        down = reach - self.angle[sel]
        cross = np.arcsin(np.clip(_dot(_unit(imp), self.normal[sel]), -1.0, 1.0))
        v_i = inertial_velocity_ms(f.burnout_r_ecef, f.burnout_v_ecef, self.physics)
        aim_i = _rotate_z(self.aim[sel], self.physics.omega_rads * (f.impact_tau_s - self.burn[sel]))
        target = kepler.minimum_energy(np.linalg.norm(f.burnout_r_ecef, axis=-1), np.linalg.norm(aim_i, axis=-1),
                                       _angle(f.burnout_r_ecef, aim_i))[0] + self.offset[sel]
        fpa = np.arcsin(_dot(_unit(f.burnout_r_ecef), _unit(v_i)))
        return np.stack([down, cross, target - fpa], axis=-1)


def _merit(res: np.ndarray) -> np.ndarray:
    """Residual size in units of the tolerances (< 1: converged); inf where a flight never came down."""
    m = np.hypot(R_MEAN_M * np.hypot(res[:, 0], res[:, 1]) / AIM_TOLERANCE_M, res[:, 2] / FPA_TOLERANCE_RAD)
    return np.where(np.isfinite(m), m, np.inf)


def _jacobian(aim: _Aim, x: np.ndarray, res: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Forward-difference Jacobian (len(sel), 3, 3) of the residuals, all perturbed flights in one batch."""
    k = len(sel)
    xs = np.repeat(x[None], 3, axis=0)
    xs[0, :, 0] += _FD_STEP[0]
    xs[1, :, 1] += _FD_STEP[1]
    xs[2, :, 2] += _FD_STEP[2]
    rs = aim.residual(xs.reshape(-1, 3), np.tile(sel, 3)).reshape(3, k, 3)
    return np.moveaxis((rs - res[None]) / _FD_STEP[:, None, None], 0, -1)


def _solve(aim: _Aim, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quasi-Newton iteration from ``x``; returns the variables and each threat's final merit.

    Newton steps on a finite-difference Jacobian kept up to date by Broyden's update. The variables
    couple nonlinearly (miss and burnout angle trade off), so a step may grow the merit a little; one
    that grows it tenfold (or never comes down) is refused, halved next time, and the Jacobian is
    re-measured where the iteration stands.
    """
    n = len(x)
    everyone = np.arange(n)
    res = aim.residual(x, everyone)
    while not np.isfinite(res).all():  # a first guess that never came down: less thrust
        bad = np.flatnonzero(~np.isfinite(res).all(axis=-1))
        x[bad, 0] *= 0.9
        res[bad] = aim.residual(x[bad], bad)
    jac = _jacobian(aim, x, res, everyone)
    damp = np.ones(n)
    for _ in range(MAX_AIM_ITERATIONS):
        merit = _merit(res)
        todo = np.flatnonzero(merit >= 1.0)
        if not todo.size:
            break
        step = -np.linalg.solve(jac[todo], res[todo][..., None])[..., 0]
        step = np.clip(step, -_MAX_STEP, _MAX_STEP) * damp[todo, None]
        x_new = x[todo] + step
        x_new[:, 0] = np.maximum(x_new[:, 0], _MIN_THRUST_MS2 / aim.thrust0[todo])
        x_new[:, 2] = np.clip(x_new[:, 2], -0.5, 0.5 * np.pi - 0.05)
        res_new = aim.residual(x_new, todo)
        better = _merit(res_new) < 10.0 * merit[todo]
        s, y = (x_new - x[todo])[better], (res_new - res[todo])[better]
        j = jac[todo[better]]
        jac[todo[better]] = j + ((y - np.einsum("nij,nj->ni", j, s))[:, :, None] * s[:, None, :]
                                 / np.maximum(_dot(s, s), 1e-30)[:, None, None])
        x[todo[better]], res[todo[better]] = x_new[better], res_new[better]
        damp[todo[better]] = 1.0
        worse = todo[~better]
        if worse.size:
            damp[worse] *= 0.5
            jac[worse] = _jacobian(aim, x[worse], res[worse], worse)
    return x, _merit(res)


class AimError(PlanningError, ValueError):
    """No ballistic flight of the missile's class reaches the aim point.

    ``index`` is the first threat concerned (position in the arrays given) and ``reason`` says why; the
    message is ``threat INDEX: REASON``.
    """

    def __init__(self, index: int, reason: str):
        self.index, self.reason = int(index), reason
        super().__init__(f"threat {self.index}: {reason}")


class Ephemeris:
    """Truth flights of N threats sampled every 1 s after their launch, interpolated on demand.

    Attributes (arrays over threats): ``launch_time_s``, ``burnout_time_s``, ``impact_time_s`` (absolute
    times [s]), ``launch_ecef``, ``impact_ecef`` (N, 3) [m], ``apogee_m`` (geodetic height [m]), and the
    samples ``samples_r_ecef``, ``samples_v_ecef`` (N, M, 3): sample k is the state k seconds after launch,
    except that sample ceil(impact - launch) of each threat is its impact state; later ones repeat the
    impact point with zero velocity.
    """

    __slots__ = ("launch_time_s", "burnout_time_s", "impact_time_s", "launch_ecef", "impact_ecef", "apogee_m",
                 "samples_r_ecef", "samples_v_ecef", "_flight_s", "_burn_s", "_r", "_v", "_row")

    def __init__(self, launch_time_s, burn_time_s, launch_ecef, flight: _Flight):
        n, m = flight.samples_r_ecef.shape[:2]
        self.launch_time_s = np.asarray(launch_time_s, float)
        self.burnout_time_s = self.launch_time_s + burn_time_s
        self.impact_time_s = self.launch_time_s + flight.impact_tau_s
        self.launch_ecef, self.impact_ecef = launch_ecef, flight.impact_r_ecef
        self.samples_r_ecef, self.samples_v_ecef = flight.samples_r_ecef, flight.samples_v_ecef
        self.apogee_m = ecef_to_geodetic(self.samples_r_ecef)[2].max(axis=1)
        self._flight_s, self._burn_s = flight.impact_tau_s, np.asarray(burn_time_s, float)
        self._r, self._v = self.samples_r_ecef.reshape(-1, 3), self.samples_v_ecef.reshape(-1, 3)
        self._row = np.arange(n) * m

    def __len__(self) -> int:
        return len(self.launch_time_s)

    def state(self, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """ECEF position [m] and velocity [m/s] (N, 3), in-flight and boosting flags (N,) at absolute ``t_s``.

        Cubic Hermite between 1 s samples, evaluated for the threats in flight only. Before launch a threat
        sits at its launch point, after impact at its impact point, with zero velocity and not in flight.
        """
        tau = t_s - self.launch_time_s
        in_flight = (tau >= 0.0) & (tau < self._flight_s)
        r = np.where((tau < 0.0)[:, None], self.launch_ecef, self.impact_ecef)
        v = np.zeros(r.shape)
        i = in_flight.nonzero()[0]
        if i.size:
            tau_i = tau[i]
            k = tau_i.astype(int)  # whole seconds since launch (tau >= 0); the last interval may be shorter
            h = np.maximum(np.minimum(self._flight_s[i] - k, 1.0), 1e-9)
            j = self._row[i] + k
            j1 = j + 1
            r[i], v[i] = _hermite(self._r[j], self._v[j], self._r[j1], self._v[j1], h, (tau_i - k) / h)
        return r, v, in_flight, in_flight & (tau < self._burn_s)


def _prepare(launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, burn_time_s, burnout_speed_max_ms,
             beta_kgm2, trajectory_type, physics):
    """Validate and broadcast inputs; return the aim problem and the speed limits."""
    *num, kinds = np.broadcast_arrays(*(np.atleast_1d(np.asarray(a, float)) for a in (
        launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, burn_time_s, burnout_speed_max_ms, beta_kgm2)),
        np.atleast_1d(np.asarray(trajectory_type, str)))
    lat0, lon0, lat1, lon1, burn, vmax, beta = (np.ascontiguousarray(a) for a in num)
    for i, kind in enumerate(kinds):
        if kind not in FPA_OFFSET_DEG:
            raise ValueError(f"threat {i}: trajectory type {str(kind)!r} unknown (expected one of: "
                             f"{', '.join(FPA_OFFSET_DEG)})")
    for name, arr in (("burn_time_s", burn), ("burnout_speed_max_ms", vmax), ("beta_kgm2", beta)):
        bad = np.flatnonzero(~(arr > 0.0))
        if bad.size:
            raise ValueError(f"threat {bad[0]}: {name} = {arr[bad[0]]} (expected a positive number)")
    lat0, lon0, lat1, lon1 = (np.radians(a) for a in (lat0, lon0, lat1, lon1))
    rng_m = great_circle_m(lat0, lon0, lat1, lon1)
    short = np.flatnonzero(~(rng_m > 1e3))
    if short.size:
        raise ValueError(f"threat {short[0]}: aim point {rng_m[short[0]]:.0f} m from the launch point "
                         "(expected more than 1 km)")
    offset = np.radians([FPA_OFFSET_DEG[k] for k in kinds])
    aim = _Aim(geodetic_to_ecef(lat0, lon0, 0.0), geodetic_to_ecef(lat1, lon1, 0.0), burn, beta, offset, physics)
    return aim, vmax, rng_m, kinds


def _speed_error(i, kind, rng_m, need_ms, vmax_ms, about=""):
    return AimError(i, f"a {kind} flight of {rng_m / 1e3:,.0f} km needs {about}{need_ms / 1e3:,.2f} km/s at burnout "
                       f"(Earth-relative), above the class maximum of {vmax_ms / 1e3:,.2f} km/s")


def _plan(launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, launch_time_s, burn_time_s,
          burnout_speed_max_ms, beta_kgm2, trajectory_type, physics):
    aim, vmax, rng_m, kinds = _prepare(launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, burn_time_s,
                                       burnout_speed_max_ms, beta_kgm2, trajectory_type, physics)
    x, speed_est = aim.first_guess()
    far = np.flatnonzero(_SPEED_CREDIT * speed_est > vmax)
    if far.size:
        i = far[0]
        raise _speed_error(i, kinds[i], rng_m[i], _SPEED_CREDIT * speed_est[i], vmax[i], "about ")
    x, merit = _solve(aim, x)
    if not (merit < _MERIT_ACCEPTED).all():
        i = np.flatnonzero(~(merit < _MERIT_ACCEPTED))
        raise AimError(i[0], f"no ballistic flight found from launch to aim point ({rng_m[i[0]] / 1e3:,.0f} km)")
    flight = aim.fly(x, np.arange(len(x)), record=True)
    speed = np.linalg.norm(flight.burnout_v_ecef, axis=-1)
    over = np.flatnonzero(speed > vmax)
    if over.size:
        i = over[0]
        raise _speed_error(i, kinds[i], rng_m[i], speed[i], vmax[i])
    launch_time = np.broadcast_to(np.asarray(launch_time_s, float), aim.burn.shape)
    return Ephemeris(launch_time, aim.burn, aim.launch, flight), aim, flight, rng_m


def plan_raid(launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, launch_time_s, burn_time_s,
              burnout_speed_max_ms, beta_kgm2, trajectory_type, physics: Physics = Physics()) -> Ephemeris:
    """Aim and fly N threats; arrays (N,) (scalars broadcast), geodetic degrees, seconds, m/s, kg/m^2.

    ``trajectory_type`` holds 'minimum-energy', 'lofted' or 'depressed' per threat. Raises
    :class:`AimError` (a ``ValueError``) naming the first threat whose aim point is out of its class's
    reach (required vs maximum Earth-relative burnout speed) or cannot be hit.
    """
    return _plan(launch_lat_deg, launch_lon_deg, aim_lat_deg, aim_lon_deg, launch_time_s, burn_time_s,
                 burnout_speed_max_ms, beta_kgm2, trajectory_type, physics)[0]


def trajectory_summary(from_lat_deg: float, from_lon_deg: float, to_lat_deg: float, to_lon_deg: float,
                       burn_time_s: float, burnout_speed_max_ms: float, beta_kgm2: float,
                       trajectory_type: str = "minimum-energy", physics: Physics = Physics()) -> dict:
    """Aim and fly one missile; its ballistics and the closed-form check of its free flight.

    Keys: ``range_km`` (great circle, launch to aim), ``flight_time_s``, ``apogee_km`` (geodetic height),
    ``burnout_speed_kms`` and ``burnout_flight_path_angle_deg`` (inertial, geocentric horizontal),
    ``reentry_speed_kms`` (Earth-relative, at 100 km on the way down, or at impact if the apogee is lower),
    ``impact_error_m`` (impact to aim point), ``closed_form_range_km`` (Keplerian central angle from the
    burnout state to the impact radius) and ``integrated_inertial_range_km`` (the flown central angle from
    burnout to impact in the inertial frame), both times the mean Earth radius.
    """
    eph, aim, flight, rng_m = _plan(from_lat_deg, from_lon_deg, to_lat_deg, to_lon_deg, 0.0, burn_time_s,
                                    burnout_speed_max_ms, beta_kgm2, trajectory_type, physics)
    r_bo, v_bo = flight.burnout_r_ecef[0], flight.burnout_v_ecef[0]
    v_i = inertial_velocity_ms(r_bo, v_bo, physics)
    speed_i = float(np.linalg.norm(v_i))
    fpa = float(np.arcsin(r_bo @ v_i / (np.linalg.norm(r_bo) * speed_i)))
    r_imp = eph.impact_ecef[0]
    coast_s = flight.impact_tau_s[0] - aim.burn[0]
    closed = kepler.free_flight_angle_rad(np.linalg.norm(r_bo), speed_i, fpa, np.linalg.norm(r_imp))
    flown = _angle(r_bo[None], _rotate_z(r_imp[None], np.array([physics.omega_rads * coast_s])))[0]
    alt = ecef_to_geodetic(eph.samples_r_ecef[0])[2]
    top = int(np.argmax(alt))
    below = np.flatnonzero(alt[top:] < 100e3)
    speeds = np.linalg.norm(eph.samples_v_ecef[0], axis=-1)
    if alt[top] >= 100e3 and below.size:
        k = top + below[0]
        w = (alt[k - 1] - 100e3) / (alt[k - 1] - alt[k])
        reentry = (1.0 - w) * speeds[k - 1] + w * speeds[k]
    else:
        reentry = np.linalg.norm(flight.impact_v_ecef[0])
    return {
        "range_km": float(rng_m[0]) / 1e3,
        "flight_time_s": float(flight.impact_tau_s[0]),
        "apogee_km": float(eph.apogee_m[0]) / 1e3,
        "burnout_speed_kms": speed_i / 1e3,
        "burnout_flight_path_angle_deg": float(np.degrees(fpa)),
        "reentry_speed_kms": float(reentry) / 1e3,
        "impact_error_m": float(np.linalg.norm(r_imp - aim.aim[0])),
        "closed_form_range_km": float(closed) * R_MEAN_M / 1e3,
        "integrated_inertial_range_km": float(flown) * R_MEAN_M / 1e3,
    }
