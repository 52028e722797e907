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


#: Linear part of the drag-free state rate in the rotating frame, ``y' = LINEAR_RATE @ y + [0, g(r)]``
#: for states y (6, K) held one row per component: velocity, centrifugal and Coriolis terms. It is also
#: the state-independent part of the dynamics Jacobian.
LINEAR_RATE = np.zeros((6, 6))
LINEAR_RATE[:3, 3:] = np.eye(3)
LINEAR_RATE[3, 0] = LINEAR_RATE[4, 1] = OMEGA_RADS**2
LINEAR_RATE[3, 4], LINEAR_RATE[4, 3] = 2.0 * OMEGA_RADS, -2.0 * OMEGA_RADS
_J2_FACTOR = 1.5 * J2 * A_M**2
_J2_B = np.array([[1.0], [1.0], [3.0]])      # b_i of the J2 coefficients, per component row
#: Number of indices equal to z, for the gravity gradient's coefficients.
_Z_COUNT = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 2.0]])[:, :, None]


def gravity_rows(r: np.ndarray, j2: bool = True) -> tuple[np.ndarray, tuple]:
    """Gravitational acceleration (3, K) [m/s^2] at ECEF positions ``r`` (3, K) [m] held one row per
    component (which keeps the operations cheap for few objects), and the intermediates that
    :func:`gravity_gradient` reuses.

    Two-body plus J2: ``g_i = c_i r_i`` with ``c_i = k + f (5 s - b_i)``, ``b = (1, 1, 3)``,
    ``k = -mu/|r|^3``, ``f = 1.5 J2 mu a^2/|r|^5`` and ``s = z^2/|r|^2``.
    """
    sq = r * r
    inv = 1.0 / (sq[0] + sq[1] + sq[2])
    k = -MU_M3S2 * (inv * np.sqrt(inv))
    if j2:
        f = (-_J2_FACTOR * k) * inv
        fs5 = f * (5.0 * sq[2] * inv)
        c = (k + fs5) - f * _J2_B
    else:
        f = fs5 = np.zeros_like(k)
        c = k[None]
    return c * r, (r, inv, k, f, fs5, c)


def gravity_gradient(parts: tuple) -> np.ndarray:
    """Gravity gradient ``dg/dr`` (K, 3, 3) [1/s^2] from the intermediates of :func:`gravity_rows`.

    Differentiating ``g_i = c_i r_i`` gives ``dg_i/dr_j = c_i d_ij + b_ij r_i r_j`` (symmetric, as for
    any potential field) with ``b_ij = (2k - 2 f 5s - 5 c_x + 10 f n_ij)/|r|^2`` and ``n_ij`` the
    number of the indices i, j that are z.
    """
    r, inv, k, f, fs5, c = parts
    b = (2.0 * (k - fs5) - 5.0 * c[0]) * inv
    G = (b + (10.0 * f * inv) * _Z_COUNT) * (r[:, None] * r[None])
    G.reshape(9, -1)[::4] += c
    return G.transpose(2, 0, 1)


def drag_free_rate(y: np.ndarray, j2: bool = True) -> tuple[np.ndarray, tuple]:
    """Time derivative (6, K) of ECEF states ``y`` (6, K) [m, m/s] under unpowered drag-free flight in
    the rotating frame, and the gravity intermediates (:func:`gravity_rows`)."""
    g, parts = gravity_rows(y[:3], j2)
    dy = LINEAR_RATE @ y
    dy[3:] += g
    return dy, parts


def drag_free_rk4(y: np.ndarray, h: float | np.ndarray, j2: bool = True, k1: np.ndarray | None = None) -> np.ndarray:
    """One classical RK4 step of drag-free flight for states ``y`` (6, K) over ``h`` [s] (scalar or (K,));
    ``k1``: the rate at ``y`` if already known."""
    if k1 is None:
        k1 = drag_free_rate(y, j2)[0]
    hh = 0.5 * h
    k2 = drag_free_rate(y + hh * k1, j2)[0]
    k3 = drag_free_rate(y + hh * k2, j2)[0]
    k4 = drag_free_rate(y + h * k3, j2)[0]
    return y + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


def gravity_ecef(r: np.ndarray, j2: bool = True) -> np.ndarray:
    """Gravitational acceleration [m/s^2] (two-body plus J2) at ECEF positions ``r`` (..., 3)."""
    r = np.asarray(r, float)
    return gravity_rows(r.reshape(-1, 3).T, j2)[0].T.reshape(r.shape)


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
