"""Ballistic equations of motion in the rotating ECEF frame, shared by truth and by the trackers.

State vectors are ECEF position [m] and velocity [m/s], arrays of shape (..., 3). The acceleration
includes two-body gravity with the J2 zonal harmonic, the Coriolis and centrifugal terms of the
rotating frame, and optionally aerodynamic drag in an exponential atmosphere that co-rotates with the
Earth (so the air-relative velocity is the ECEF velocity).
"""

from __future__ import annotations

import numpy as np

from shieldwall.geo import A_M, J2, MU_M3S2, OMEGA_RADS, altitude_m

#: Sea-level air density of the exponential atmosphere [kg/m^3].
RHO0_KGM3 = 1.225
#: Scale height of the exponential atmosphere [m] (US Standard Atmosphere 1976, lower stratosphere fit).
SCALE_HEIGHT_M = 7_200.0


def air_density_kgm3(alt_m: np.ndarray) -> np.ndarray:
    """Exponential-atmosphere density [kg/m^3] at height ``alt_m`` [m] (clamped below sea level)."""
    return RHO0_KGM3 * np.exp(-np.maximum(alt_m, 0.0) / SCALE_HEIGHT_M)


def gravity_ecef(r: np.ndarray, j2: bool = True) -> np.ndarray:
    """Gravitational acceleration [m/s^2] (two-body plus J2) at ECEF positions ``r`` (..., 3)."""
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    r2 = x * x + y * y + z * z
    k = -MU_M3S2 / (r2 * np.sqrt(r2))
    g = np.empty_like(r, dtype=float)
    if j2:
        f = (-1.5 * J2 * A_M**2) * k / r2
        zr2 = 5.0 * z * z / r2
        k_xy, k_z = k + f * (zr2 - 1.0), k + f * (zr2 - 3.0)
    else:
        k_xy = k_z = k
    g[..., 0], g[..., 1], g[..., 2] = k_xy * x, k_xy * y, k_z * z
    return g


def frame_accel_ecef(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Coriolis plus centrifugal acceleration [m/s^2] of the rotating ECEF frame."""
    a = np.zeros(np.broadcast_shapes(r.shape, v.shape))
    _add_frame_accel(a, r, v)
    return a


def _add_frame_accel(a: np.ndarray, r: np.ndarray, v: np.ndarray) -> None:
    w = OMEGA_RADS
    a[..., 0] += 2.0 * w * v[..., 1] + w * w * r[..., 0]
    a[..., 1] += -2.0 * w * v[..., 0] + w * w * r[..., 1]


def drag_accel_ecef(r: np.ndarray, v: np.ndarray, beta_kgm2: np.ndarray) -> np.ndarray:
    """Drag acceleration [m/s^2] for ballistic coefficient ``beta_kgm2`` = m / (Cd A) [kg/m^2]."""
    rho = air_density_kgm3(altitude_m(r))
    speed = np.linalg.norm(v, axis=-1)
    k = -rho * speed / (2.0 * np.asarray(beta_kgm2, float))
    return v * k[..., None]


def ballistic_accel_ecef(r: np.ndarray, v: np.ndarray, beta_kgm2: np.ndarray | None = None,
                         j2: bool = True, rotating: bool = True) -> np.ndarray:
    """Total unpowered acceleration [m/s^2] in ECEF: gravity (+J2), frame terms, drag if ``beta_kgm2``."""
    a = gravity_ecef(r, j2=j2)
    if rotating:
        _add_frame_accel(a, r, v)
    if beta_kgm2 is not None:
        a += drag_accel_ecef(r, v, beta_kgm2)
    return a


def rk4_step(r: np.ndarray, v: np.ndarray, dt: float | np.ndarray, accel) -> tuple[np.ndarray, np.ndarray]:
    """One classical Runge-Kutta step of ``r' = v, v' = accel(r, v)``; ``dt`` [s] may be per object (...)."""
    dt = np.asarray(dt, float)
    h = dt[..., None] if dt.ndim else dt
    a1 = accel(r, v)
    r2, v2 = r + 0.5 * h * v, v + 0.5 * h * a1
    a2 = accel(r2, v2)
    r3, v3 = r + 0.5 * h * v2, v + 0.5 * h * a2
    a3 = accel(r3, v3)
    r4, v4 = r + h * v3, v + h * a3
    a4 = accel(r4, v4)
    r_new = r + h / 6.0 * (v + 2.0 * v2 + 2.0 * v3 + v4)
    v_new = v + h / 6.0 * (a1 + 2.0 * a2 + 2.0 * a3 + a4)
    return r_new, v_new
