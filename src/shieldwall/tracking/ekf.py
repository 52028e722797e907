"""Extended Kalman filter for ballistic objects in ECEF, batched over tracks.

The state of each track is ECEF position [m] and velocity [m/s], ``x`` (K, 6), with covariance
``P`` (K, 6, 6). Prediction integrates the unpowered ballistic equations of
:mod:`shieldwall.world.dynamics` (gravity with J2, Coriolis and centrifugal terms, no drag) with RK4;
re-entry drag and any other unmodelled acceleration are absorbed by white-noise-acceleration process
noise of spectral density ``q_accel**2``. Updates use the Joseph form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from shieldwall.geo import A_M, J2, MU_M3S2, OMEGA_RADS
from shieldwall.world.dynamics import ballistic_accel_ecef, rk4_step

#: Longest RK4 sub-step [s] of a prediction; longer intervals are split into equal sub-steps. Over 30 s
#: of drag-free flight one step is within 3 mm of 1 s steps and its covariance within 0.1 %.
MAX_STEP_S = 30.0


def dynamics_jacobian(x: np.ndarray, j2: bool = True) -> np.ndarray:
    """Jacobian A (K, 6, 6) of ``d[r, v]/dt`` at states ``x`` (K, 6) for the drag-free ballistic model.

    Upper blocks are ``[0, I]``; the lower blocks are the analytic gradients of
    :func:`~shieldwall.world.dynamics.ballistic_accel_ecef` with respect to position (two-body gravity
    gradient ``-mu/r^3 (I - 3 u u^T)``, the J2 term's gradient when ``j2``, centrifugal
    ``diag(w^2, w^2, 0)``) and velocity (Coriolis ``-2 [w]x``), with ``u`` the unit position vector.
    """
    x = np.asarray(x, float)
    k = x.shape[0]
    r = x[:, :3]
    rn = np.linalg.norm(r, axis=-1)
    u = r / rn[:, None]
    uu = u[:, :, None] * u[:, None, :]
    eye3 = np.eye(3)
    grad = (-MU_M3S2 / rn**3)[:, None, None] * (eye3 - 3.0 * uu)
    if j2:
        # a_i = c r^-5 x_i (5 s - b_i), s = u_z^2, b = (1, 1, 3), c = 1.5 J2 mu a^2, differentiated.
        s = u[:, 2] ** 2
        b = np.array([1.0, 1.0, 3.0])
        e = 5.0 * s[:, None] - b                                   # (K, 3): 5 s - b_i
        term = eye3 * e[:, :, None] - uu * (5.0 * e + 10.0 * s[:, None])[:, :, None]
        term[:, :, 2] += 10.0 * u * u[:, 2:3]
        grad = grad + (1.5 * J2 * MU_M3S2 * A_M**2 / rn**5)[:, None, None] * term
    w = OMEGA_RADS
    A = np.zeros((k, 6, 6))
    A[:, :3, 3:] = eye3
    A[:, 3:, :3] = grad + np.diag([w * w, w * w, 0.0])
    A[:, 3, 4], A[:, 4, 3] = 2.0 * w, -2.0 * w
    return A


def process_noise(dt_s: np.ndarray, q_accel: float) -> np.ndarray:
    """White-noise-acceleration process noise Q (K, 6, 6) over intervals ``dt_s`` (K,).

    ``q_accel`` [m/s^2/sqrt(s)] is the square root of the acceleration's spectral density. A negative
    interval (retrodiction) gives the covariance of the noise seen backwards: same diagonal blocks,
    cross block of opposite sign.
    """
    h = np.asarray(dt_s, float)
    a = np.abs(h)
    q2 = float(q_accel) ** 2
    i3 = np.eye(3)
    Q = np.empty(h.shape + (6, 6))
    Q[..., :3, :3] = (q2 * a**3 / 3.0)[..., None, None] * i3
    Q[..., :3, 3:] = (q2 * h * a / 2.0)[..., None, None] * i3
    Q[..., 3:, :3] = Q[..., :3, 3:]
    Q[..., 3:, 3:] = (q2 * a)[..., None, None] * i3
    return Q


def predict(x: np.ndarray, P: np.ndarray, dt_s: np.ndarray | float, q_accel: float, *,
            j2: bool = True, max_step_s: float = MAX_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """Predict states (K, 6) and covariances (K, 6, 6) over ``dt_s`` (K,) or scalar [s]; new arrays.

    Each interval is split into the same number of equal sub-steps for all tracks (enough that none
    exceeds ``max_step_s``); per sub-step h the state takes one RK4 step and the covariance
    ``P <- F P F^T + Q(h)`` with ``F = I + A h + A^2 h^2 / 2`` and A the dynamics Jacobian at the
    sub-step's start. A zero interval leaves a track unchanged.
    """
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    k = x.shape[0]
    dt = np.broadcast_to(np.asarray(dt_s, float), (k,))
    if k == 0:
        return x.copy(), P.copy()
    if not dt.any():  # a zero step is exactly the identity (F = I, Q = 0): skip the arithmetic
        return x.copy(), _symmetric(P)
    n_sub, h = _substeps(dt, max_step_s)
    hh = h[:, None, None]
    Q = process_noise(h, q_accel)
    accel = partial(ballistic_accel_ecef, j2=j2)
    r, v = x[:, :3], x[:, 3:]
    eye6 = np.eye(6)
    for _ in range(n_sub):
        A = dynamics_jacobian(np.concatenate([r, v], axis=-1), j2=j2)
        Ah = A * hh
        F = eye6 + Ah + 0.5 * (Ah @ Ah)
        P = F @ P @ np.swapaxes(F, -1, -2) + Q
        r, v = rk4_step(r, v, h, accel)
    return np.concatenate([r, v], axis=-1), _symmetric(P)


def predict_mean(x: np.ndarray, dt_s: np.ndarray | float, *, j2: bool = True,
                 max_step_s: float = MAX_STEP_S) -> np.ndarray:
    """The state part of :func:`predict` alone (same sub-steps): states (K, 6) flown over ``dt_s`` [s]."""
    x = np.asarray(x, float)
    n_sub, h = _substeps(np.broadcast_to(np.asarray(dt_s, float), x.shape[:1]), max_step_s)
    accel = partial(ballistic_accel_ecef, j2=j2)
    r, v = x[:, :3], x[:, 3:]
    for _ in range(n_sub if len(x) else 0):
        r, v = rk4_step(r, v, h, accel)
    return np.concatenate([r, v], axis=-1)


def _substeps(dt: np.ndarray, max_step_s: float) -> tuple[int, np.ndarray]:
    """Number of equal sub-steps (the same for all tracks) and each track's sub-step [s]."""
    n_sub = max(1, int(np.ceil(np.max(np.abs(dt), initial=0.0) / max_step_s)))
    return n_sub, dt / n_sub


#: ``residual(z, h) -> z - h`` with any angle wrapping, e.g. ``partial(sensors.residual, kind)``.
Residual = Callable[[np.ndarray, np.ndarray], np.ndarray]


def update(x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray, h: np.ndarray, H: np.ndarray,
           residual: Residual | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Joseph-form EKF update of K tracks, each with one measurement; returns ``(x, P, nu, S)``.

    ``z`` (K, m) measurements, ``R`` (m, m) or (K, m, m) their noise, ``h`` (K, m) the predicted
    measurements at ``x`` and ``H`` (K, m, 6) their Jacobians; ``residual`` forms the innovation
    (plain ``z - h`` when None). ``nu`` (K, m) is the innovation and ``S`` (K, m, m) its covariance,
    from which NIS = nu^T S^-1 nu.
    """
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    R = np.asarray(R, float)
    nu = residual(z, h) if residual is not None else np.asarray(z, float) - np.asarray(h, float)
    PHt = P @ np.swapaxes(H, -1, -2)
    S = _symmetric(H @ PHt + R)
    # K = P H^T S^-1, via a solve with the symmetric S: K^T = S^-1 H P.
    gain = np.swapaxes(np.linalg.solve(S, np.swapaxes(PHt, -1, -2)), -1, -2)
    x_new = x + np.einsum("kij,kj->ki", gain, nu)
    i_kh = np.eye(x.shape[-1]) - gain @ H
    P_new = i_kh @ P @ np.swapaxes(i_kh, -1, -2) + gain @ R @ np.swapaxes(gain, -1, -2)
    return x_new, _symmetric(P_new), nu, S


def innovation_covariance(P: np.ndarray, H: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Innovation covariances S = H P H^T + R (K, m, m) for gating before an update."""
    return _symmetric(H @ P @ np.swapaxes(H, -1, -2) + np.asarray(R, float))


def mahalanobis2(d: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances ``d^T C^-1 d`` for d (..., n) and C (..., n, n): NIS, NEES."""
    d = np.asarray(d, float)
    return np.einsum("...i,...i->...", d, np.linalg.solve(C, d[..., None])[..., 0])


def _symmetric(M: np.ndarray) -> np.ndarray:
    return 0.5 * (M + np.swapaxes(M, -1, -2))
