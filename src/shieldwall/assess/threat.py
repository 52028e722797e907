"""Threat evaluation: which defended assets each predicted impact endangers, value at risk, time to go.

The impact point of a threat is modelled as a 2-D Gaussian in the east/north plane at its mean impact
point (:class:`~shieldwall.assess.prediction.ImpactPrediction`); an asset is a disc of given radius
about its position, projected onto that plane. The probability that the impact falls in the disc has
no closed form for a correlated, offset Gaussian; it is computed by a composite Gauss-Legendre rule
whose panels are set in closed form from the geometry (deterministic, no adaptivity, vectorised over
all threat-asset pairs; ~1e-9 absolute against the non-central chi-square closed form of the circular
case and adaptive quadrature of the elliptical one):

    P = integral over x of  phi(x; s_x) * [Phi((c_y + h(x)) / s_y) - Phi((c_y - h(x)) / s_y)] dx

in the covariance's principal axes, x along the minor axis (so the integrand's Gaussian factor is the
narrow one and the inner normal CDF the smooth one), h(x) the disc's half-chord. The x range is the
disc's chord cut to +-8 s_x, and x = c_x + R sin(theta) removes the square-root ends of the chord;
panels are graded about the integrand's narrow features (see :func:`_graded_integral`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from shieldwall.assess.prediction import ImpactPrediction
from shieldwall.geo import enu_basis

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
#: Half-width of the integration window along the minor axis, in standard deviations.
_WINDOW_SIGMAS = 8.0
#: Panel breaks about each feature of the integrand, in units of the feature's width.
_GRADING = np.array([-8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0])
#: Floor on the impact standard deviations [m]: a (near-)certain impact stays well defined.
_MIN_SIGMA_M = 1e-3
#: Threat-asset pairs integrated at once (bounds temporary memory).
_CHUNK_PAIRS = 4096


def _graded_integral(cx, cy, radius, s_x, s_y, th_lo, th_hi) -> np.ndarray:
    """The disc integral over theta in [th_lo, th_hi] for pairs (P,), by composite Gauss-Legendre.

    The integrand has three possibly narrow features: the outer Gaussian's peak (x nearest 0) and the
    two places where a chord end comes nearest the inner Gaussian's centre (half-chord nearest |c_y|).
    Panels are graded about each, so every feature is resolved whatever the ratio of the spreads to
    the radius.
    """
    def features(centre, sigma, slope):  # breaks (P, 9) about a feature of width sigma / slope
        width = sigma / np.maximum(slope, np.sqrt(0.5 * radius * sigma))
        return centre[:, None] + width[:, None] * _GRADING

    sin0 = np.clip(-cx / radius, -1.0, 1.0)
    th_star = np.arccos(np.clip(np.abs(cy) / radius, 0.0, 1.0))
    slope_star = radius * np.sin(th_star)
    breaks = np.concatenate([th_lo[:, None], th_hi[:, None],
                             features(np.arcsin(sin0), s_x, radius * np.sqrt(1.0 - sin0**2)),
                             features(th_star, s_y, slope_star), features(-th_star, s_y, slope_star)], axis=1)
    breaks = np.sort(np.clip(breaks, th_lo[:, None], th_hi[:, None]), axis=1)
    half = 0.5 * (breaks[:, 1:] - breaks[:, :-1])  # (P, panels)
    theta = (0.5 * (breaks[:, 1:] + breaks[:, :-1]))[..., None] + half[..., None] * _GL_NODES

    def col(a: np.ndarray) -> np.ndarray:  # (P,) -> (P, 1, 1)
        return a[:, None, None]

    x = col(cx) + col(radius) * np.sin(theta)
    chord = col(radius) * np.cos(theta)  # half-chord, and also dx / dtheta
    pdf_x = np.exp(-0.5 * (x / col(s_x)) ** 2) / (np.sqrt(2.0 * np.pi) * col(s_x))
    p_y = ndtr((col(cy) + chord) / col(s_y)) - ndtr((col(cy) - chord) / col(s_y))
    return np.sum(half * ((pdf_x * chord * p_y) @ _GL_WEIGHTS), axis=1)


def _disc_probability(c_en_m: np.ndarray, cov_en_m2: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    """P(|X - c| <= R) for X ~ N(0, cov): ``c_en_m`` (T, A, 2), ``cov_en_m2`` (T, 2, 2), ``radius_m`` (A,)."""
    n_t, n_a = c_en_m.shape[:2]
    ok_t = np.all(np.isfinite(cov_en_m2), axis=(-1, -2))
    eigval, eigvec = np.linalg.eigh(np.where(ok_t[:, None, None], cov_en_m2, 0.0))
    sigma = np.sqrt(np.maximum(eigval, _MIN_SIGMA_M**2))  # (T, 2): minor, major
    c = np.einsum("tji,taj->tai", eigvec, c_en_m)  # asset centres in principal axes
    radius = np.broadcast_to(radius_m, (n_t, n_a))
    s_x, s_y = np.broadcast_to(sigma[:, None, 0], (n_t, n_a)), np.broadcast_to(sigma[:, None, 1], (n_t, n_a))
    lo = np.maximum(c[..., 0] - radius, -_WINDOW_SIGMAS * s_x)
    hi = np.minimum(c[..., 0] + radius, _WINDOW_SIGMAS * s_x)
    within = (lo < hi) & (np.abs(c[..., 1]) < radius + _WINDOW_SIGMAS * s_y)
    within &= ok_t[:, None] & np.all(np.isfinite(c), axis=-1) & (radius > 0.0)
    p = np.zeros((n_t, n_a))
    pairs = np.nonzero(within)
    for start in range(0, len(pairs[0]), _CHUNK_PAIRS):
        i, j = (ix[start:start + _CHUNK_PAIRS] for ix in pairs)
        rad = radius[i, j]
        th_lo = np.arcsin(np.clip((lo[i, j] - c[i, j, 0]) / rad, -1.0, 1.0))
        th_hi = np.arcsin(np.clip((hi[i, j] - c[i, j, 0]) / rad, -1.0, 1.0))
        p[i, j] = np.clip(_graded_integral(c[i, j, 0], c[i, j, 1], rad, s_x[i, j], s_y[i, j], th_lo, th_hi), 0.0, 1.0)
    return p


def endangered_assets(impact: ImpactPrediction, asset_ecef: np.ndarray, asset_radius_m: np.ndarray,
                      asset_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probability ``p_hit`` (T, A) that each threat's impact falls within each asset's radius, and the
    value at risk (T,) = sum over assets of p_hit * value.

    Assets are projected onto each threat's east/north impact plane (height ignored); a threat with a
    NaN prediction (no impact) endangers nothing.
    """
    assets = np.asarray(asset_ecef, float).reshape(-1, 3)
    rel = assets[None, :, :] - impact.impact_ecef[:, None, :]
    c_en = np.einsum("tij,taj->tai", enu_basis(impact.impact_lat_rad, impact.impact_lon_rad)[:, :2, :], rel)
    p_hit = _disc_probability(c_en, impact.cov_en_m2, np.asarray(asset_radius_m, float))
    return p_hit, p_hit @ np.asarray(asset_value, float)


def time_to_go_s(impact: ImpactPrediction, t_now_s: float) -> np.ndarray:
    """Time [s] (T,) from ``t_now_s`` until each threat's predicted impact (NaN where none)."""
    return impact.t_impact_s - t_now_s
