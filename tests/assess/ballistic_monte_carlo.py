"""Shared references for the assessment tests: world-model flights, a batched brute-force flight to the
ground, track-like covariances and the large-sample tests that compare predicted moments with a Monte
Carlo.

The flight to the ground is a plain loop of :func:`shieldwall.world.dynamics.rk4_step` steps of fixed
length (forwards or backwards in time) whose ground crossing is found by bisection on partial RK4
steps: none of the predictor's machinery (component-row kernel, Hermite arcs, Newton crossing).
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.stats import chi2

from shieldwall import geo
from shieldwall.scenario.loader import builtin_catalog
from shieldwall.world.ballistic import DRAG_CEILING_M, Ephemeris, plan_raid
from shieldwall.world.dynamics import ballistic_accel_ecef, drag_accel_ecef, rk4_step

CATALOG = builtin_catalog().missiles
#: Launch point of the test flights [deg].
LAUNCH_DEG = (40.0, 20.0)
#: False-alarm probability of each large-sample test.
FALSE_ALARM = 1e-3
#: Drag-free flight in the rotating frame (gravity with J2, Coriolis and centrifugal terms).
drag_free_accel = partial(ballistic_accel_ecef, beta_kgm2=None)


def world_flight(name: str, range_km: float, kind: str, heading_deg: float = 90.0) -> tuple[Ephemeris, float]:
    """A truth flight of missile class ``name`` (catalogue) from :data:`LAUNCH_DEG`, and its ballistic
    coefficient [kg/m^2]."""
    c = CATALOG[name]
    lat0, lon0 = np.radians(LAUNCH_DEG)
    lat1, lon1 = geo.destination(lat0, lon0, np.radians(heading_deg), range_km * 1e3)
    eph = plan_raid(*LAUNCH_DEG, np.degrees(lat1), np.degrees(lon1), 0.0, c.burn_time_s,
                    c.burnout_speed_max_kms * 1e3, c.ballistic_coefficient_kgm2, kind)
    return eph, c.ballistic_coefficient_kgm2


def state_at(eph: Ephemeris, coast_fraction: float) -> tuple[float, np.ndarray]:
    """Time [s] and true ECEF state (6,) a fraction of the way from burnout to impact."""
    t_s = float(eph.burnout_time_s[0] + coast_fraction * (eph.impact_time_s[0] - eph.burnout_time_s[0]))
    r, v, *_ = eph.state(t_s)
    return t_s, np.concatenate([r[0], v[0]])


def truth_accel(beta_kgm2: float):
    """The world model's unpowered acceleration: gravity with J2, frame terms, and drag with ballistic
    coefficient ``beta_kgm2`` below :data:`~shieldwall.world.ballistic.DRAG_CEILING_M`."""
    def accel(r, v):
        low = geo.altitude_m(r) < DRAG_CEILING_M
        return ballistic_accel_ecef(r, v) + np.where(low[:, None], drag_accel_ecef(r, v, beta_kgm2), 0.0)
    return accel


def track_covariance(rng: np.random.Generator, pos_sigma_m: float, vel_sigma_ms: float) -> np.ndarray:
    """A correlated 6x6 ECEF covariance with position and velocity standard deviations of about
    ``pos_sigma_m`` and ``vel_sigma_ms`` (a random square-root factor with rows of those sizes)."""
    a = rng.normal(size=(6, 6)) * np.repeat([pos_sigma_m, vel_sigma_ms], 3)[:, None] / np.sqrt(6.0)
    return a @ a.T


def fly_to_ground(x: np.ndarray, accel, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Flight time [s] (N,) and ECEF ground point (N, 3) of states ``x`` (N, 6) flown by RK4 steps of
    ``step_s`` (negative: backwards in time) until they cross height 0; bisection inside the last step."""
    n = len(x)
    r, v = x[:, :3].copy(), x[:, 3:].copy()
    t = np.zeros(n)
    start_r, start_v, start_t = np.empty((n, 3)), np.empty((n, 3)), np.empty(n)
    flying = np.ones(n, bool)
    while flying.any():
        i = np.flatnonzero(flying)
        r1, v1 = rk4_step(r[i], v[i], step_s, accel)
        down = i[geo.altitude_m(r1) <= 0.0]
        start_r[down], start_v[down], start_t[down] = r[down], v[down], t[down]
        flying[down] = False
        r[i], v[i], t[i] = r1, v1, t[i] + step_s
    lo, hi = np.zeros(n), np.ones(n)            # fractions of the step: above ground at lo, not at hi
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        above = geo.altitude_m(rk4_step(start_r, start_v, mid * step_s, accel)[0]) > 0.0
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return start_t + hi * step_s, rk4_step(start_r, start_v, hi * step_s, accel)[0]


def east_north_m(points_ecef: np.ndarray, origin_ecef: np.ndarray) -> np.ndarray:
    """East/north offsets [m] (N, 2) of ECEF points from a ground point, in its local plane."""
    lat, lon, _ = geo.ecef_to_geodetic(origin_ecef)
    return (points_ecef - origin_ecef) @ geo.enu_basis(lat, lon)[:2].T


def mean_statistic(samples: np.ndarray, expected: np.ndarray) -> float:
    """Hotelling-type statistic of the sample mean of ``samples`` (N, k) against ``expected`` (k,):
    chi-square with k degrees of freedom for large N if the samples' mean is ``expected``."""
    d = samples.mean(axis=0) - expected
    return float(d @ np.linalg.solve(np.cov(samples.T) / len(samples), d))


def covariance_statistic(samples: np.ndarray, expected: np.ndarray) -> float:
    """Wald statistic of the sample covariance of 2-D ``samples`` (N, 2) against ``expected`` (2, 2): its
    three distinct entries, with their sampling covariance from the samples' fourth moments (no
    normality assumed). Chi-square with 3 degrees of freedom for large N if the samples' covariance
    is ``expected``."""
    d = samples - samples.mean(axis=0)
    products = np.stack([d[:, 0] ** 2, d[:, 1] ** 2, d[:, 0] * d[:, 1]], axis=1)
    diff = products.mean(axis=0) * len(d) / (len(d) - 1) - expected[[0, 1, 0], [0, 1, 1]]
    return float(diff @ np.linalg.solve(np.cov(products.T) / len(d), diff))


def chi2_limit(dof: int) -> float:
    """Chi-square quantile exceeded with probability :data:`FALSE_ALARM`."""
    return float(chi2.isf(FALSE_ALARM, dof))
