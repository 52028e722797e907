"""Measurement functions h(x), their Jacobians and residuals, shared by sensors and trackers.

Two measurement kinds exist:

- ``"rae"`` (radar): (range [m], azimuth [rad, clockwise from north, in [0, 2pi)], elevation [rad])
  of the ECEF position ``x`` seen from ``origin`` in the local ENU frame whose rows are ``basis``;
- ``"pos"`` (space-based IR): the ECEF position itself; h is the identity and H the identity matrix.

All functions take arrays of shape (..., 3) (one row per hypothesis / track) and are vectorised.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from shieldwall import geo

MeasurementKind = Literal["rae", "pos"]

_KINDS = ("rae", "pos")


def _check_kind(kind: str) -> None:
    if kind not in _KINDS:
        raise ValueError(f"measurement kind must be 'rae' or 'pos', not {kind!r}")


def measurement_function(kind: MeasurementKind, x_ecef: np.ndarray, origin_ecef: np.ndarray,
                         basis: np.ndarray) -> np.ndarray:
    """Predicted measurement z (..., 3) of ECEF positions ``x_ecef`` (..., 3)."""
    _check_kind(kind)
    x = np.asarray(x_ecef, float)
    if kind == "pos":
        return x.copy()
    return geo.enu_to_rae(geo.ecef_to_enu(x, origin_ecef, basis))


def measurement_jacobian(kind: MeasurementKind, x_ecef: np.ndarray, origin_ecef: np.ndarray,
                         basis: np.ndarray) -> np.ndarray:
    """Jacobian dz/dx (..., 3, 3) of :func:`measurement_function` with respect to ECEF position.

    For ``"rae"`` it is singular on the sensor's vertical (azimuth undefined); there the azimuth and
    elevation rows use a 1e-9 m floor on the horizontal distance instead of dividing by zero.
    """
    _check_kind(kind)
    x = np.asarray(x_ecef, float)
    if kind == "pos":
        return np.broadcast_to(np.eye(3), x.shape[:-1] + (3, 3)).copy()
    enu = geo.ecef_to_enu(x, origin_ecef, basis)
    e, n, u = enu[..., 0], enu[..., 1], enu[..., 2]
    rho2 = np.maximum(e * e + n * n, 1e-18)
    rho = np.sqrt(rho2)
    r2 = rho2 + u * u  # >= 1e-18: no division by zero even at the sensor itself
    r = np.sqrt(r2)
    r2_rho = r2 * rho
    h_enu = np.empty(enu.shape + (3,))  # rows: d range, d azimuth, d elevation by d(e, n, u)
    h_enu[..., 0, 0], h_enu[..., 0, 1], h_enu[..., 0, 2] = e / r, n / r, u / r
    h_enu[..., 1, 0], h_enu[..., 1, 1], h_enu[..., 1, 2] = n / rho2, -e / rho2, 0.0
    h_enu[..., 2, 0], h_enu[..., 2, 1], h_enu[..., 2, 2] = -e * u / r2_rho, -n * u / r2_rho, rho / r2
    # d(enu)/d(ecef) = basis.
    return h_enu @ np.asarray(basis, float)


def residual(kind: MeasurementKind, z: np.ndarray, z_pred: np.ndarray) -> np.ndarray:
    """Innovation z - z_pred (..., 3), with the azimuth difference wrapped to [-pi, pi) for ``"rae"``."""
    _check_kind(kind)
    d = np.asarray(z, float) - np.asarray(z_pred, float)
    if kind == "rae":
        d[..., 1] = np.mod(d[..., 1] + np.pi, 2.0 * np.pi) - np.pi
    return d


def rae_to_ecef(rae: np.ndarray, origin_ecef: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Inverse of the ``"rae"`` measurement function: (range, az, el) (..., 3) to ECEF (..., 3)."""
    return geo.enu_to_ecef(geo.rae_to_enu(np.asarray(rae, float)), origin_ecef, basis)


def rae_covariance_to_ecef(rae: np.ndarray, R: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Linearised ECEF position covariance (..., 3, 3) of plots ``rae`` (..., 3) with noise ``R`` (3, 3).

    P = B^T G R G^T B with G = d(enu)/d(range, az, el) at the plot and B the ENU basis: the usual
    converted-measurement covariance for initiating a track from one plot.
    """
    rae = np.asarray(rae, float)
    rng, az, el = rae[..., 0], rae[..., 1], rae[..., 2]
    sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
    # Columns: d/d range, d/d az, d/d el of (e, n, u) = r (ce sa, ce ca, se).
    g = np.empty(rae.shape + (3,))
    g[..., 0, 0], g[..., 0, 1], g[..., 0, 2] = ce * sa, rng * ce * ca, -rng * se * sa
    g[..., 1, 0], g[..., 1, 1], g[..., 1, 2] = ce * ca, -rng * ce * sa, -rng * se * ca
    g[..., 2, 0], g[..., 2, 1], g[..., 2, 2] = se, 0.0, rng * ce
    j = np.swapaxes(np.asarray(basis, float), -1, -2) @ g  # d(ecef)/d(rae)
    return j @ np.asarray(R, float) @ np.swapaxes(j, -1, -2)
