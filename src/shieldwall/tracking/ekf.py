"""Extended Kalman filter for ballistic objects in ECEF, batched over tracks.

The state of each track is ECEF position [m] and velocity [m/s], ``x`` (K, 6), with covariance
``P`` (K, 6, 6). Prediction integrates the unpowered ballistic equations of
:mod:`shieldwall.world.dynamics` (gravity with J2, Coriolis and centrifugal terms, no drag) with RK4
(:func:`~shieldwall.world.dynamics.drag_free_rk4`); re-entry drag and any other unmodelled acceleration
are absorbed by white-noise-acceleration process noise of spectral density ``q_accel**2``. Updates use
the Joseph form.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from shieldwall.world.dynamics import LINEAR_RATE, drag_free_rate, drag_free_rk4, gravity_gradient

#: Longest RK4 sub-step [s] of a prediction; longer intervals are split into equal sub-steps. Over 30 s
#: of drag-free flight one step is within 3 mm of 1 s steps and its covariance within 0.1 %.
MAX_STEP_S = 30.0

_EYE6 = np.eye(6)


def _jacobian(parts: tuple) -> np.ndarray:
    """Dynamics Jacobian (K, 6, 6) from the gravity intermediates of a rate evaluation: the linear part
    plus the gravity gradient in the lower-left block."""
    G = gravity_gradient(parts)
    A = np.empty((len(G), 6, 6))
    A[:] = LINEAR_RATE
    A[:, 3:, :3] += G
    return A


def dynamics_jacobian(x: np.ndarray, j2: bool = True) -> np.ndarray:
    """Jacobian A (K, 6, 6) of ``d[r, v]/dt`` at states ``x`` (K, 6) for the drag-free ballistic model.

    Upper blocks are ``[0, I]``; the lower blocks are the analytic gradients of
    :func:`~shieldwall.world.dynamics.ballistic_accel_ecef` with respect to position (gravity with J2
    when ``j2``, centrifugal ``diag(w^2, w^2, 0)``) and velocity (Coriolis ``-2 [w]x``).
    """
    return _jacobian(drag_free_rate(np.asarray(x, float).T, j2)[1])


def process_noise(dt_s: np.ndarray, q_accel: float) -> np.ndarray:
    """White-noise-acceleration process noise Q (K, 6, 6) over intervals ``dt_s`` (K,) [s].

    ``q_accel`` [m/s^2/sqrt(s)] is the square root of the acceleration's spectral density: per axis
    ``q^2 [[|h|^3/3, h|h|/2], [h|h|/2, |h|]]``. A negative interval (retrodiction) gives the covariance
    of the noise seen backwards: same diagonal blocks, cross block of opposite sign.
    """
    h = np.asarray(dt_s, float)
    q_vel = float(q_accel) ** 2 * np.abs(h)
    Q = np.zeros(h.shape + (36,))
    Q[..., 0:15:7] = (q_vel * (h * h / 3.0))[..., None]    # diagonal of the position block
    Q[..., 3:18:7] = Q[..., 18:33:7] = (q_vel * (0.5 * h))[..., None]
    Q[..., 21:36:7] = q_vel[..., None]
    return Q.reshape(h.shape + (6, 6))


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
    n_sub, h = _substeps(dt_s, len(x), max_step_s)
    if n_sub == 0:  # no track moves (or there are none): exactly the identity, skip the arithmetic
        return x.copy(), _symmetric(P)
    Q = process_noise(h, q_accel)
    hh = h[:, None, None]
    h6 = np.empty((6, len(h)))
    h6[:] = h
    y = x.T.copy()
    for _ in range(n_sub):
        k1, parts = drag_free_rate(y, j2)
        Ah = _jacobian(parts) * hh
        F = _EYE6 + Ah @ (_EYE6 + 0.5 * Ah)
        P = F @ P @ F.swapaxes(-1, -2) + Q
        y = drag_free_rk4(y, h6, j2, k1)
    return y.T.copy(), _symmetric(P)


def predict_cv(x: np.ndarray, P: np.ndarray, dt_s: np.ndarray | float,
               q_accel: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearly-constant-velocity prediction of states (K, 6) [m, m/s] and covariances (K, 6, 6) over
    ``dt_s`` (K,) or scalar [s]: ``x <- F x``, ``P <- F P F^T + Q`` with ``F = [[I, dt I], [0, I]]`` and
    the white-noise-acceleration ``Q`` of :func:`process_noise` (exact for that model)."""
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    dt = np.broadcast_to(np.asarray(dt_s, float), x.shape[:1])
    h = dt[:, None, None]
    x_new = x.copy()
    x_new[:, :3] += dt[:, None] * x[:, 3:]
    # F P F^T blockwise: [[A + h(B + B^T) + h^2 D, B + h D], [., D]] for P = [[A, B], [B^T, D]].
    B, D = P[:, :3, 3:], P[:, 3:, 3:]
    P_new = np.empty_like(P)
    P_new[:, :3, :3] = P[:, :3, :3] + h * (B + B.swapaxes(-1, -2)) + (h * h) * D
    P_new[:, :3, 3:] = B + h * D
    P_new[:, 3:, :3] = P_new[:, :3, 3:].swapaxes(-1, -2)
    P_new[:, 3:, 3:] = D
    return x_new, P_new + process_noise(dt, q_accel)


def _substeps(dt_s: np.ndarray | float, k: int, max_step_s: float) -> tuple[int, np.ndarray]:
    """Number of equal sub-steps (the same for all k tracks; 0 when every interval is zero or there
    are no tracks) and each track's sub-step (k,) [s] for intervals ``dt_s`` (k,) or scalar [s]."""
    dt = np.asarray(dt_s, float)
    if dt.shape != (k,):
        dt = np.broadcast_to(dt, (k,))
    longest = float(np.abs(dt).max()) if k else 0.0
    n_sub = math.ceil(longest / max_step_s) if longest else 0
    return n_sub, dt / max(n_sub, 1)


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
    H = np.asarray(H, float)
    nu = residual(z, h) if residual is not None else np.asarray(z, float) - np.asarray(h, float)
    PHt = P @ H.swapaxes(-1, -2)
    S = _symmetric(H @ PHt + R)
    # K = P H^T S^-1, via a solve with the symmetric S: K^T = S^-1 H P.
    gain = np.linalg.solve(S, PHt.swapaxes(-1, -2)).swapaxes(-1, -2)
    x_new = x + (gain @ nu[..., None])[..., 0]
    i_kh = _EYE6 - gain @ H
    P_new = i_kh @ P @ i_kh.swapaxes(-1, -2) + gain @ R @ gain.swapaxes(-1, -2)
    return x_new, _symmetric(P_new), nu, S


def innovation_covariance(P: np.ndarray, H: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Innovation covariances S = H P H^T + R (K, m, m) for gating before an update."""
    H = np.asarray(H, float)
    return _symmetric(H @ P @ H.swapaxes(-1, -2) + np.asarray(R, float))


def mahalanobis2(d: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances ``d^T C^-1 d`` for d (..., n) and C (..., n, n): NIS, NEES."""
    d = np.asarray(d, float)[..., None]
    return (d.swapaxes(-1, -2) @ np.linalg.solve(C, d))[..., 0, 0]


def _symmetric(M: np.ndarray) -> np.ndarray:
    return 0.5 * (M + M.swapaxes(-1, -2))
