"""Unscented Kalman filter for ballistic objects in ECEF, batched over tracks.

The same state and models as :mod:`shieldwall.tracking.ekf` — ECEF position [m] and velocity [m/s]
(K, 6), drag-free ballistic flight with J2 plus white-noise acceleration — but the nonlinear flight
and measurement are handled by the unscented transform (Julier & Uhlmann 1997): 13 sigma points per
track are flown and measured, all tracks' at once, and their weighted moments replace the Jacobians.
Sigma points at +-sqrt(3) standard deviations (kappa = 3 - n), so every covariance weight is positive.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shieldwall.tracking.ekf import MAX_STEP_S, Residual, process_noise
from shieldwall.world.dynamics import drag_free_rk4

_ALPHA, _BETA, _KAPPA = 1.0, 2.0, -3.0


def sigma_points(x: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unscented sigma points (K, 2n+1, n) of N(x, P) (x (K, n), P (K, n, n)) and their mean and
    covariance weights (2n+1,): the mean first, then the mean plus and minus the columns of the
    symmetric square root (by eigen-decomposition, so singular covariances work too)."""
    n = x.shape[-1]
    lam = _ALPHA**2 * (n + _KAPPA) - n
    wm = np.full(2 * n + 1, 0.5 / (n + lam))
    wm[0] = lam / (n + lam)
    wc = wm.copy()
    wc[0] += 1.0 - _ALPHA**2 + _BETA
    eigval, eigvec = np.linalg.eigh(0.5 * (P + np.swapaxes(P, -1, -2)))
    rows = np.swapaxes(eigvec * np.sqrt(np.maximum(eigval, 0.0) * (n + lam))[..., None, :], -1, -2)
    return np.concatenate([x[:, None, :], x[:, None, :] + rows, x[:, None, :] - rows], axis=1), wm, wc


def predict(x: np.ndarray, P: np.ndarray, dt_s: np.ndarray | float, q_accel: float, *,
            max_step_s: float = MAX_STEP_S) -> tuple[np.ndarray, np.ndarray]:
    """Predict states (K, 6) and covariances (K, 6, 6) over ``dt_s`` (K,) or scalar [s]: the sigma points
    flown by RK4 (sub-steps no longer than ``max_step_s``), their weighted mean and covariance, plus the
    white-noise-acceleration ``Q`` of :func:`~shieldwall.tracking.ekf.process_noise`."""
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    k = len(x)
    dt = np.broadcast_to(np.asarray(dt_s, float), (k,))
    if k == 0 or not dt.any():
        return x.copy(), P.copy()
    sigma, wm, wc = sigma_points(x, P)
    n_sub = max(1, int(np.ceil(np.abs(dt).max() / max_step_s)))
    h = np.repeat(dt / n_sub, sigma.shape[1])
    y = sigma.reshape(-1, 6).T
    for _ in range(n_sub):
        y = drag_free_rk4(y, h)
    flown = y.T.reshape(sigma.shape)
    mean = np.einsum("s,ksi->ki", wm, flown)
    dev = flown - mean[:, None, :]
    cov = np.einsum("s,ksi,ksj->kij", wc, dev, dev) + process_noise(dt, q_accel)
    return mean, 0.5 * (cov + np.swapaxes(cov, -1, -2))


def update(x: np.ndarray, P: np.ndarray, z: np.ndarray, R: np.ndarray,
           measure: Callable[[np.ndarray], np.ndarray],
           residual: Residual | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Unscented update of K tracks, each with one measurement ``z`` (K, m) of noise ``R`` ((m, m) or
    (K, m, m)); returns ``(x, P, nu, S)`` like :func:`shieldwall.tracking.ekf.update`.

    ``measure(states)`` maps ECEF states (..., 6) to measurements (..., m); ``residual(a, b)`` forms
    differences with any angle wrapping (plain ``a - b`` when None): the predicted measurement is the
    central sigma point's plus the weighted mean of the others' residuals from it.
    """
    diff = residual if residual is not None else (lambda a, b: a - b)
    sigma, wm, wc = sigma_points(np.asarray(x, float), np.asarray(P, float))
    Z = measure(sigma)                                            # (K, 13, m)
    z_pred = Z[:, 0] + np.einsum("s,ksi->ki", wm, diff(Z, Z[:, :1]))
    dz = diff(Z, z_pred[:, None, :])
    dx = sigma - np.einsum("s,ksi->ki", wm, sigma)[:, None, :]
    S = np.einsum("s,ksi,ksj->kij", wc, dz, dz) + R
    S = 0.5 * (S + np.swapaxes(S, -1, -2))
    Pxz = np.einsum("s,ksi,ksj->kij", wc, dx, dz)
    gain = np.linalg.solve(S, np.swapaxes(Pxz, -1, -2)).swapaxes(-1, -2)
    nu = diff(np.asarray(z, float), z_pred)
    x_new = x + (gain @ nu[..., None])[..., 0]
    P_new = P - gain @ S @ np.swapaxes(gain, -1, -2)
    return x_new, 0.5 * (P_new + np.swapaxes(P_new, -1, -2)), nu, S
