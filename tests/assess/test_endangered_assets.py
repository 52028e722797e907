"""Probability that an impact lands on an asset, against independent references.

References: the closed form for a circular Gaussian (the non-central chi-square distribution with two
degrees of freedom, scipy.stats.ncx2), adaptive 2-D quadrature (scipy.integrate.dblquad) and Monte
Carlo sampling of the impact distribution for elliptical, correlated Gaussians.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import dblquad
from scipy.stats import multivariate_normal, ncx2

from shieldwall.assess.prediction import ImpactPrediction
from shieldwall.assess.threat import endangered_assets, time_to_go_s
from shieldwall.geo import enu_basis, enu_to_ecef, geodetic_to_ecef


def _impact(lat_deg, lon_deg, cov_en_m2, t_impact_s=None) -> ImpactPrediction:
    lat, lon = np.radians(np.atleast_1d(lat_deg)), np.radians(np.atleast_1d(lon_deg))
    t = np.zeros(len(lat)) if t_impact_s is None else np.asarray(t_impact_s, float)
    return ImpactPrediction(t_impact_s=t, impact_ecef=geodetic_to_ecef(lat, lon, 0.0), impact_lat_rad=lat,
                            impact_lon_rad=lon, cov_en_m2=np.asarray(cov_en_m2, float).reshape(-1, 2, 2))


def _assets_at(impact: ImpactPrediction, i: int, offsets_en_m: np.ndarray) -> np.ndarray:
    """ECEF points at east/north offsets from threat i's mean impact point, on its tangent plane."""
    basis = enu_basis(impact.impact_lat_rad[i], impact.impact_lon_rad[i])
    enu = np.column_stack([offsets_en_m, np.zeros(len(offsets_en_m))])
    return enu_to_ecef(enu, impact.impact_ecef[i], basis)


@pytest.mark.parametrize("sigma_m", [1.0, 30.0, 300.0, 3000.0, 3e4])
@pytest.mark.parametrize("radius_m", [50.0, 500.0, 5000.0])
def test_circular_gaussian_matches_noncentral_chi_square(sigma_m, radius_m):
    impact = _impact(48.0, 11.0, np.eye(2) * sigma_m**2)
    d = np.concatenate([radius_m * np.array([0.0, 0.5, 0.99, 1.0, 1.01, 2.0, 4.0]),
                        radius_m + sigma_m * np.array([-3.0, -1.0, 1.0, 3.0])])
    d = d[d >= 0.0]
    bearing = np.linspace(0.0, 2.0 * np.pi, len(d), endpoint=False)
    assets = _assets_at(impact, 0, np.column_stack([d * np.sin(bearing), d * np.cos(bearing)]))
    p_hit, _ = endangered_assets(impact, assets, np.full(len(d), radius_m), np.ones(len(d)))
    expected = ncx2.cdf((radius_m / sigma_m) ** 2, 2, (d / sigma_m) ** 2)
    np.testing.assert_allclose(p_hit[0], expected, rtol=0, atol=1e-8)


ELLIPSES = [  # (sigma major, sigma minor, orientation [rad], radius, asset offset east, north) [m]
    (2000.0, 200.0, 0.3, 1000.0, 500.0, 800.0),
    (5000.0, 100.0, 1.2, 2000.0, -1500.0, 2500.0),
    (300.0, 250.0, 2.0, 5000.0, 4900.0, 300.0),  # mean near the rim of a large asset
    (40000.0, 3000.0, 0.7, 500.0, 10000.0, 8000.0),  # small asset inside a long ellipse
    (100.0, 10.0, 0.0, 1000.0, 1000.0, 0.0),  # asset edge through the mean, narrow ellipse
]


def _cov(sig_major, sig_minor, theta):
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rot @ np.diag([sig_major**2, sig_minor**2]) @ rot.T


@pytest.mark.parametrize("case", ELLIPSES)
def test_elliptical_gaussian_matches_adaptive_quadrature(case):
    s1, s2, theta, radius, e, n = case
    cov = _cov(s1, s2, theta)
    impact = _impact(-33.0, 151.0, cov)
    p_hit, _ = endangered_assets(impact, _assets_at(impact, 0, np.array([[e, n]])), [radius], [1.0])
    pdf = multivariate_normal(mean=[0.0, 0.0], cov=cov).pdf

    def half_chord(x):
        return np.sqrt(max(radius**2 - (x - e) ** 2, 0.0))

    # Integrate over the disc in two halves split at the mean's x, so the quadrature sees the peak.
    xs = sorted([e - radius, min(max(0.0, e - radius), e + radius), e + radius])
    expected = sum(dblquad(lambda y, x: pdf([x, y]), a, b, lambda x: n - half_chord(x), lambda x: n + half_chord(x),
                           epsabs=1e-10, epsrel=1e-8)[0] for a, b in zip(xs[:-1], xs[1:]) if b > a)
    assert p_hit[0, 0] == pytest.approx(expected, abs=1e-6)


def test_correlated_gaussian_matches_monte_carlo():
    rng = np.random.default_rng(11)
    n_samples = 400_000
    covs = np.stack([_cov(3000.0, 600.0, 0.5), _cov(800.0, 700.0, 2.5), _cov(12000.0, 900.0, -0.3)])
    impact = _impact([50.0, 35.0, 60.0], [10.0, 139.0, -150.0], covs, t_impact_s=[400.0, 500.0, 600.0])
    offsets = rng.uniform(-4000.0, 4000.0, size=(6, 2))
    radius = rng.uniform(300.0, 3000.0, size=6)
    value = rng.uniform(1.0, 10.0, size=6)
    for i in range(3):
        p_hit, var = endangered_assets(_sub(impact, i), _assets_at(impact, i, offsets), radius, value)
        x = rng.multivariate_normal([0.0, 0.0], covs[i], size=n_samples)
        inside = np.sum((x[:, None, :] - offsets[None]) ** 2, axis=-1) <= radius**2
        expected = inside.mean(axis=0)
        std_err = np.sqrt(expected * (1 - expected) / n_samples)
        assert np.all(np.abs(p_hit[0] - expected) <= 5 * std_err + 1e-5)
        assert var[0] == pytest.approx(p_hit[0] @ value)


def _sub(impact: ImpactPrediction, i: int) -> ImpactPrediction:
    return ImpactPrediction(*(getattr(impact, name)[i:i + 1] for name in ImpactPrediction.__slots__))


def test_shapes_far_assets_and_missing_predictions():
    impact = _impact([50.0, 50.0, 10.0], [10.0, 10.0, 20.0], np.stack([np.eye(2) * 1e6, np.eye(2) * 1e6,
                                                                     np.full((2, 2), np.nan)]))
    impact = ImpactPrediction(impact.t_impact_s, impact.impact_ecef.copy(), impact.impact_lat_rad,
                              impact.impact_lon_rad, impact.cov_en_m2)
    impact.impact_ecef[2] = np.nan  # no impact predicted
    near = _assets_at(impact, 0, np.array([[0.0, 0.0], [1e5, 0.0]]))
    far = geodetic_to_ecef(np.radians(-50.0), np.radians(-170.0), 0.0)[None]
    p_hit, var = endangered_assets(impact, np.vstack([near, far]), [2000.0, 2000.0, 1e4], [1.0, 2.0, 3.0])
    assert p_hit.shape == (3, 3) and var.shape == (3,)
    assert p_hit[0, 0] == pytest.approx(1 - np.exp(-2.0), abs=1e-9)  # 2 sigma circle
    assert p_hit[0, 1] == 0.0 and p_hit[0, 2] == 0.0
    np.testing.assert_array_equal(p_hit[0], p_hit[1])
    np.testing.assert_array_equal(p_hit[2], 0.0)


def test_certain_impact_is_inside_or_outside():
    impact = _impact(0.0, 0.0, np.zeros((2, 2)))
    assets = _assets_at(impact, 0, np.array([[0.0, 99.0], [0.0, 101.0]]))
    p_hit, _ = endangered_assets(impact, assets, [100.0, 100.0], [1.0, 1.0])
    np.testing.assert_allclose(p_hit[0], [1.0, 0.0], atol=1e-12)


def test_time_to_go():
    impact = _impact([0.0, 1.0], [0.0, 1.0], np.zeros((2, 2, 2)), t_impact_s=[500.0, np.nan])
    np.testing.assert_array_equal(time_to_go_s(impact, 200.0), [300.0, np.nan])


def test_circular_gaussian_sweep_matches_noncentral_chi_square():
    """Spreads from 1e-4 to 1e2 asset radii, asset rims through and around the impact distribution."""
    rng = np.random.default_rng(3)
    sigma_m = 1e4 * 10 ** rng.uniform(-4.0, 2.0, 200)
    impact = _impact(np.full(200, -20.0), np.full(200, 60.0), np.eye(2) * sigma_m[:, None, None] ** 2)
    radius_m = 10 ** rng.uniform(3.0, 4.5, 60)
    d_m = radius_m * rng.uniform(0.0, 2.0, 60)
    d_m[:30] = radius_m[:30] * (1.0 + rng.normal(0.0, 1e-3, 30))  # rims near the mean
    bearing = rng.uniform(0.0, 2.0 * np.pi, 60)
    assets = _assets_at(impact, 0, np.column_stack([d_m * np.sin(bearing), d_m * np.cos(bearing)]))
    p_hit, _ = endangered_assets(impact, assets, radius_m, np.ones(60))
    expected = ncx2.cdf((radius_m / sigma_m[:, None]) ** 2, 2, (d_m / sigma_m[:, None]) ** 2)
    np.testing.assert_allclose(p_hit, expected, rtol=0, atol=1e-7)
