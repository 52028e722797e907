"""Extended Kalman filter for ballistic objects in ECEF, batched over tracks.

The state of each track is ECEF position [m] and velocity [m/s], ``x`` (K, 6), with covariance
``P`` (K, 6, 6). Prediction integrates the unpowered ballistic equations of
:mod:`shieldwall.world.dynamics` (gravity with J2, Coriolis and centrifugal terms, no drag) with RK4,
evaluating them here with the few NumPy operations that small batches of tracks need (the tests hold
them to ``ballistic_accel_ecef`` and ``rk4_step``); re-entry drag and any other unmodelled acceleration
are absorbed by white-noise-acceleration process noise of spectral density ``q_accel**2``. Updates use
the Joseph form.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from shieldwall.geo import A_M, J2, MU_M3S2, OMEGA_RADS

#: Longest RK4 sub-step [s] of a prediction; longer intervals are split into equal sub-steps. Over 30 s
#: of drag-free flight one step is within 3 mm of 1 s steps and its covariance within 0.1 %.
MAX_STEP_S = 30.0

_W2, _2W = OMEGA_RADS**2, 2.0 * OMEGA_RADS
#: Linear part of the state rate, ``y' = _LINEAR @ y + [0, g(r)]`` for states y (6, K): velocity,
#: centrifugal and Coriolis terms; it is also the state-independent part of the dynamics Jacobian.
_LINEAR = np.zeros((6, 6))
_LINEAR[:3, 3:] = np.eye(3)
_LINEAR[3, 0] = _LINEAR[4, 1] = _W2
_LINEAR[3, 4], _LINEAR[4, 3] = _2W, -_2W
_J2_FACTOR = 1.5 * J2 * A_M**2
_J2_B = np.array([[1.0], [1.0], [3.0]])      # b_i of the J2 coefficients, per component row
#: Number of indices equal to z, for the gravity gradient's coefficients.
_Z_COUNT = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 2.0]])[:, :, None]
_EYE6 = np.eye(6)


def _rate(y: np.ndarray, j2: bool) -> tuple[np.ndarray, tuple]:
    """Time derivative (6, K) of ECEF states ``y`` (6, K) [m, m/s] (one row per component, which keeps
    the operations cheap for few tracks) under the drag-free ballistic model, and the intermediates
    of its gravity for :func:`_jacobian`.

    Gravity (two-body plus J2) is ``g_i = c_i r_i`` with ``c_i = k + f (5 s - b_i)``, ``b = (1, 1, 3)``,
    ``k = -mu/|r|^3``, ``f = 1.5 J2 mu a^2/|r|^5`` and ``s = z^2/|r|^2``.
    """
    r = y[:3]
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
    dy = _LINEAR @ y
    dy[3:] += c * r
    return dy, (r, inv, k, f, fs5, c)


def _jacobian(r, inv, k, f, fs5, c) -> np.ndarray:
    """Dynamics Jacobian (K, 6, 6) from the intermediates of :func:`_rate`: ``_LINEAR`` plus the
    gravity gradient in the lower-left block.

    Differentiating ``g_i = c_i r_i`` gives ``dg_i/dr_j = c_i d_ij + b_ij r_i r_j`` (symmetric, as for
    any potential field) with ``b_ij = (2k - 2 f 5s - 5 c_x + 10 f n_ij)/|r|^2`` and ``n_ij`` the
    number of the indices i, j that are z.
    """
    b = (2.0 * (k - fs5) - 5.0 * c[0]) * inv
    G = (b + (10.0 * f * inv) * _Z_COUNT) * (r[:, None] * r[None])
    G.reshape(9, -1)[::4] += c
    A = np.empty((len(inv), 6, 6))
    A[:] = _LINEAR
    A[:, 3:, :3] += G.transpose(2, 0, 1)
    return A


def _rk4(y: np.ndarray, h: np.ndarray, j2: bool, k1: np.ndarray) -> np.ndarray:
    """One RK4 step of states ``y`` (6, K) over ``h`` (6, K) [s] (each track's step in every row),
    given the rate ``k1`` at ``y``."""
    hh = 0.5 * h
    k2 = _rate(y + hh * k1, j2)[0]
    k3 = _rate(y + hh * k2, j2)[0]
    k4 = _rate(y + h * k3, j2)[0]
    return y + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4)


def dynamics_jacobian(x: np.ndarray, j2: bool = True) -> np.ndarray:
    """Jacobian A (K, 6, 6) of ``d[r, v]/dt`` at states ``x`` (K, 6) for the drag-free ballistic model.

    Upper blocks are ``[0, I]``; the lower blocks are the analytic gradients of
    :func:`~shieldwall.world.dynamics.ballistic_accel_ecef` with respect to position (gravity with J2
    when ``j2``, centrifugal ``diag(w^2, w^2, 0)``) and velocity (Coriolis ``-2 [w]x``).
    """
    return _jacobian(*_rate(np.asarray(x, float).T, j2)[1])


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
        k1, parts = _rate(y, j2)
        Ah = _jacobian(*parts) * hh
        F = _EYE6 + Ah @ (_EYE6 + 0.5 * Ah)
        P = F @ P @ F.swapaxes(-1, -2) + Q
        y = _rk4(y, h6, j2, k1)
    return y.T.copy(), _symmetric(P)


def predict_mean(x: np.ndarray, dt_s: np.ndarray | float, *, j2: bool = True,
                 max_step_s: float = MAX_STEP_S) -> np.ndarray:
    """The state part of :func:`predict` alone (same sub-steps): states (K, 6) flown over ``dt_s`` [s]."""
    x = np.asarray(x, float)
    n_sub, h = _substeps(dt_s, len(x), max_step_s)
    if n_sub == 0:
        return x.copy()
    h6 = np.empty((6, len(h)))
    h6[:] = h
    y = x.T.copy()
    for _ in range(n_sub):
        y = _rk4(y, h6, j2, _rate(y, j2)[0])
    return y.T.copy()


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
