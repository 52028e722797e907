"""Measurement models as the trackers see them: predicted plots, their Jacobians, plot-to-position.

Two kinds, matching the sensors package: ``"rae"`` (range [m], azimuth [rad, clockwise from north],
elevation [rad]) in the sensor's local ENU frame given by ``origin_ecef`` and ``basis`` (rows east,
north, up, see :func:`shieldwall.geo.enu_basis`), and ``"pos"`` (ECEF position [m]; origin and basis
unused). Everything is batched over objects.
"""

from __future__ import annotations

import numpy as np

from shieldwall.geo import ecef_to_enu, enu_to_ecef, enu_to_rae, rae_to_enu

#: Measurement kinds understood by the trackers.
KINDS = ("rae", "pos")


def angle_dims(kind: str) -> tuple[int, ...]:
    """Indices of the measurement components that are angles to be wrapped into (-pi, pi]."""
    _check_kind(kind)
    return (1,) if kind == "rae" else ()


def predict_measurement(kind: str, x: np.ndarray, origin_ecef: np.ndarray | None = None,
                        basis: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Predicted measurements ``h`` (K, 3) and their Jacobians ``H`` (K, 3, 6) for ECEF states (K, 6)."""
    _check_kind(kind)
    x = np.asarray(x, float)
    k = x.shape[0]
    H = np.zeros((k, 3, 6))
    if kind == "pos":
        H[:, :, :3] = np.eye(3)
        return x[:, :3].copy(), H
    enu = ecef_to_enu(x[:, :3], origin_ecef, basis)
    e, n, u = enu[:, 0], enu[:, 1], enu[:, 2]
    rho2_h = np.maximum(e * e + n * n, 1e-12)
    rho_h = np.sqrt(rho2_h)
    rng2 = rho2_h + u * u
    rng = np.sqrt(rng2)
    d_enu = np.empty((k, 3, 3))                      # d(range, az, el) / d(e, n, u)
    d_enu[:, 0] = enu / rng[:, None]
    d_enu[:, 1] = np.stack([n / rho2_h, -e / rho2_h, np.zeros(k)], axis=-1)
    d_enu[:, 2] = np.stack([-e * u, -n * u, rho2_h], axis=-1) / (rng2 * rho_h)[:, None]
    H[:, :, :3] = d_enu @ basis                      # d(enu)/d(ecef) = basis
    return enu_to_rae(enu), H


def plot_position(kind: str, z: np.ndarray, R: np.ndarray, origin_ecef: np.ndarray | None = None,
                  basis: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ECEF positions (M, 3) of plots ``z`` (M, 3) and their covariances (M, 3, 3), to first order."""
    _check_kind(kind)
    z = np.asarray(z, float)
    R = np.broadcast_to(np.asarray(R, float), (z.shape[0], 3, 3))
    if kind == "pos":
        return z.copy(), R.copy()
    rng, az, el = z[:, 0], z[:, 1], z[:, 2]
    sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    J = np.empty((z.shape[0], 3, 3))                 # d(e, n, u) / d(range, az, el)
    J[:, :, 0] = np.stack([ce * sa, ce * ca, se], axis=-1)
    J[:, :, 1] = np.stack([rng * ce * ca, -rng * ce * sa, np.zeros_like(rng)], axis=-1)
    J[:, :, 2] = np.stack([-rng * se * sa, -rng * se * ca, rng * ce], axis=-1)
    J = np.swapaxes(basis, -1, -2) @ J               # d(ecef)/d(enu) = basis^T
    return enu_to_ecef(rae_to_enu(z), origin_ecef, basis), J @ R @ np.swapaxes(J, -1, -2)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"measurement kind {kind!r} is not one of {KINDS}: use 'rae' for radar "
                         "range/azimuth/elevation or 'pos' for an ECEF position")
