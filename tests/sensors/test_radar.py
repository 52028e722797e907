"""Radar scans against independent references: horizon geometry, noise statistics, Swerling I Pd, Poisson FA."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from scipy import stats

from shieldwall import geo
from shieldwall.sensors import covers, radar_scan, scan_to_ecef

#: Two-sided tail probability for the statistical bounds (seeded, so deterministic; wide for robustness).
ALPHA = 1e-6


def _at(m, bearing_deg, ground_m, alt_m):
    """ECEF point at ``ground_m`` along ``bearing_deg`` from the site, height ``alt_m``."""
    lat, lon = geo.destination(m.lat_rad, m.lon_rad, np.radians(bearing_deg), ground_m)
    return geo.geodetic_to_ecef(lat, lon, alt_m)


def _aer(m, x):
    az, el, srange = pymap3d.ecef2aer(x[..., 0], x[..., 1], x[..., 2], m.lat_rad, m.lon_rad, m.alt_m, deg=False)
    return np.stack([srange, az, el], axis=-1)


def _farthest_visible_slant_m(m, bearing_deg, target_alt_m):
    ground = np.linspace(1e5, 3e6, 30_001)
    x = _at(m, bearing_deg, ground, target_alt_m)
    seen = covers(m, x)
    assert seen[0] and not seen[-1]
    return np.linalg.norm(x[seen] - m.origin_ecef, axis=-1).max()


@pytest.mark.parametrize(("site_alt_m", "target_alt_m"), [(0.0, 10e3), (0.0, 100e3), (3000.0, 300e3)])
def test_equatorial_horizon_matches_circle_tangent_distance(make_radar, site_alt_m, target_alt_m):
    """Reference: on the equator looking east the Earth section is a circle of radius a, so the horizon
    slant distance is sqrt((a+h1)^2 - a^2) + sqrt((a+h2)^2 - a^2) = sqrt(2 a h1 + h1^2) + sqrt(2 a h2 + h2^2)."""
    m = make_radar(lat_rad=0.0, lon_rad=0.0, alt_m=site_alt_m, min_el_rad=-math.pi / 2, max_range_m=1e7)
    a = geo.A_M
    lon = np.linspace(0.0, 0.5, 200_001)[1:]  # targets on the equator, east of the site
    x = np.stack([(a + target_alt_m) * np.cos(lon), (a + target_alt_m) * np.sin(lon), 0 * lon], axis=-1)
    seen = covers(m, x)
    farthest = np.linalg.norm(x[seen] - m.origin_ecef, axis=-1).max()
    expected = math.sqrt(2 * a * site_alt_m + site_alt_m**2) + math.sqrt(2 * a * target_alt_m + target_alt_m**2)
    assert farthest == pytest.approx(expected, rel=2e-4)


@pytest.mark.parametrize(("lat_deg", "bearing_deg"), [(50.0, 0.0), (50.0, 90.0), (-70.0, 45.0)])
def test_horizon_matches_spherical_sqrt_2rh(make_radar, lat_deg, bearing_deg):
    """Reference: d = sqrt(2 R h + h^2) with R the ellipsoid's radius of curvature along the bearing (Euler)."""
    h = 100e3
    m = make_radar(lat_rad=math.radians(lat_deg), min_el_rad=-math.pi / 2, max_range_m=1e7)
    s2 = math.sin(m.lat_rad) ** 2
    meridional = geo.A_M * (1 - geo.E2) / (1 - geo.E2 * s2) ** 1.5
    normal = geo.A_M / math.sqrt(1 - geo.E2 * s2)
    b = math.radians(bearing_deg)
    r_curv = 1.0 / (math.cos(b) ** 2 / meridional + math.sin(b) ** 2 / normal)
    assert _farthest_visible_slant_m(m, bearing_deg, h) == pytest.approx(math.sqrt(2 * r_curv * h + h * h), rel=5e-3)


def test_elevated_site_with_zero_min_elevation_sees_to_the_tangent_plane(make_radar):
    """Reference: a target h2 above the ellipsoid, seen at el >= 0 from h1, lies within sqrt(2 R (h2 - h1))."""
    h1, h2 = 2000.0, 50e3
    m = make_radar(lat_rad=0.0, lon_rad=0.0, alt_m=h1, min_el_rad=0.0)
    expected = math.sqrt(2 * geo.A_M * (h2 - h1))
    assert _farthest_visible_slant_m(m, 90.0, h2) == pytest.approx(expected, rel=5e-3)


def test_sector_elevation_and_range_limits(make_radar):
    m = make_radar(boresight_az_rad=math.radians(10.0), half_fov_az_rad=math.radians(30.0),
                   max_el_rad=math.radians(60.0), max_range_m=1.5e6)
    bearings = [350.0, 330.0, 39.0, 41.0]
    x = _at(m, np.array(bearings), 5e5, 2e5)
    np.testing.assert_array_equal(covers(m, x), [True, False, True, False])
    overhead = geo.geodetic_to_ecef(m.lat_rad, m.lon_rad, 3e5)
    far = _at(m, 10.0, 1.6e6, 5e5)
    assert not covers(m, overhead[None])[0] and not covers(m, far[None])[0]


def test_detections_need_flight_and_visibility(make_radar):
    m = make_radar(snr_ref_db=90.0)  # Pd = 1 to double precision
    x = np.stack([_at(m, 0.0, 5e5, 2e5), _at(m, 0.0, 5e5, 2e5), _at(m, 0.0, 2.9e6, 1e3)])
    scan = radar_scan(m, 12.5, x, np.ones(3), np.array([True, False, True]), np.random.default_rng(0))
    np.testing.assert_array_equal(scan.truth_index, [0])


def test_measurement_noise_mean_and_covariance(make_radar):
    """Reference: plots of a fixed target are N(truth from pymap3d, diag(sigma^2)); mean by a normal bound,
    variances by chi-square bounds, correlations by their N(0, 1/n) null distribution."""
    m = make_radar(range_sigma_m=30.0, angle_sigma_rad=2e-3, snr_ref_db=90.0)
    n = 20_000
    x = np.repeat(_at(m, 0.01, 8e5, 3e5)[None], n, axis=0)  # azimuth ~1e-4 rad: plots straddle 0 / 2pi
    scan = radar_scan(m, 0.0, x, np.ones(n), np.ones(n, bool), np.random.default_rng(11))
    assert len(scan) == n and np.all((scan.z[:, 1] >= 0) & (scan.z[:, 1] < 2 * np.pi))
    err = scan.z - _aer(m, x)
    err[:, 1] = np.mod(err[:, 1] + np.pi, 2 * np.pi) - np.pi
    sigma = np.array([30.0, 2e-3, 2e-3])
    np.testing.assert_allclose(scan.R, np.diag(sigma**2))
    k = stats.norm.isf(ALPHA / 2)
    assert np.all(np.abs(err.mean(axis=0)) < k * sigma / math.sqrt(n))
    lo, hi = stats.chi2.interval(1 - ALPHA, n - 1)
    ratio = (n - 1) * err.var(axis=0, ddof=1) / sigma**2
    assert np.all((ratio > lo) & (ratio < hi)), ratio
    corr = np.corrcoef(err.T)[np.triu_indices(3, 1)]
    assert np.all(np.abs(corr) < k / math.sqrt(n))


def test_detection_frequency_matches_swerling1(make_radar):
    """Reference: Pd = pfa ** (1 / (1 + SNR)), SNR = 10^(dB/10) * rcs * (R_ref / R)^4 with R from pymap3d;
    counts within the binomial interval."""
    m = make_radar(snr_ref_db=13.0, pfa=1e-6, ref_range_m=1e6)
    n = 5000
    ground = np.array([3e5, 6e5, 9e5, 1.2e6])
    rcs = np.array([0.1, 1.0, 0.5, 2.0])
    pts = _at(m, 45.0, ground, 2e5)
    x = np.repeat(pts, n, axis=0)
    rcs_all = np.repeat(rcs, n)
    scan = radar_scan(m, 0.0, x, rcs_all, np.ones(len(x), bool), np.random.default_rng(12))
    counts = np.bincount(scan.truth_index // n, minlength=4)
    snr = 10 ** (13.0 / 10) * rcs * (1e6 / _aer(m, pts)[:, 0]) ** 4
    pd = 1e-6 ** (1 / (1 + snr))
    assert 0.05 < pd.min() and pd.max() < 0.999  # the cases exercise the curve, not its ends
    lo, hi = stats.binom.interval(1 - ALPHA, n, pd)
    assert np.all((counts >= lo) & (counts <= hi)), (counts, n * pd)


def test_false_alarm_count_is_poisson_and_uniform_in_the_sector(make_radar):
    """Reference: total count over many scans in the Poisson(scans * lambda) interval; dispersion index
    chi-square; range / azimuth / elevation uniform over the sector (Kolmogorov-Smirnov)."""
    lam, scans = 3.0, 3000
    m = make_radar(false_alarms_per_scan=lam, boresight_az_rad=math.radians(350.0),
                   half_fov_az_rad=math.radians(40.0), min_el_rad=math.radians(1.0), max_el_rad=math.radians(60.0))
    rng = np.random.default_rng(13)
    no_targets = np.empty((0, 3))
    results = [radar_scan(m, float(i), no_targets, np.empty(0), np.empty(0, bool), rng) for i in range(scans)]
    counts = np.array([len(s) for s in results])
    lo, hi = stats.poisson.interval(1 - ALPHA, scans * lam)
    assert lo <= counts.sum() <= hi
    dispersion = ((counts - counts.mean()) ** 2).sum() / counts.mean()
    d_lo, d_hi = stats.chi2.interval(1 - ALPHA, scans - 1)
    assert d_lo < dispersion < d_hi
    z = np.concatenate([s.z for s in results])
    assert np.all(np.concatenate([s.truth_index for s in results]) == -1)
    az_off = np.mod(z[:, 1] - m.boresight_az_rad + np.pi, 2 * np.pi) - np.pi
    for sample, low, width in [(z[:, 0], 0.0, m.max_range_m), (az_off, -m.half_fov_az_rad, 2 * m.half_fov_az_rad),
                               (z[:, 2], m.min_el_rad, m.max_el_rad - m.min_el_rad)]:
        assert stats.kstest(sample, stats.uniform(low, width).cdf).pvalue > ALPHA


def test_scan_shapes_types_and_read_only(make_radar):
    m = make_radar(false_alarms_per_scan=2.0)
    rng = np.random.default_rng(14)
    for n in (0, 1, 50):
        x = np.repeat(_at(m, 0.0, 5e5, 2e5)[None], n, axis=0)
        scan = radar_scan(m, 1.0, x, np.ones(n), np.ones(n, bool), rng)
        mm = len(scan)
        assert scan.kind == "rae" and scan.sensor == "r1" and scan.t_s == 1.0
        assert scan.z.shape == (mm, 3) and scan.truth_index.shape == (mm,) and scan.R.shape == (3, 3)
        assert scan.truth_index.dtype == np.intp and scan_to_ecef(scan).shape == (mm, 3)
        assert scan.origin_ecef.shape == (3,) and scan.basis.shape == (3, 3)
    with pytest.raises(ValueError):
        scan.z[0, 0] = 1.0


def test_same_seed_same_scan(make_radar):
    m = make_radar(false_alarms_per_scan=4.0, snr_ref_db=5.0)
    x = _at(m, np.linspace(0, 350, 36), 8e5, 2e5)
    a, b = (radar_scan(m, 0.0, x, np.ones(36), np.ones(36, bool), np.random.default_rng(9)) for _ in range(2))
    np.testing.assert_array_equal(a.z, b.z)
    np.testing.assert_array_equal(a.truth_index, b.truth_index)


def test_plots_convert_back_to_the_true_positions(make_radar):
    m = make_radar(range_sigma_m=1e-6, angle_sigma_rad=1e-12, snr_ref_db=90.0)
    x = _at(m, np.linspace(0, 350, 36), 8e5, 2e5)
    scan = radar_scan(m, 0.0, x, np.ones(36), np.ones(36, bool), np.random.default_rng(15))
    np.testing.assert_allclose(scan_to_ecef(scan), x[scan.truth_index], atol=1e-3)


@pytest.mark.parametrize("lat_deg", [0.0, 45.0, 85.0])
def test_site_below_the_ellipsoid_does_not_block_itself(make_radar, lat_deg):
    m = make_radar(lat_rad=math.radians(lat_deg), alt_m=-400.0)
    x = _at(m, np.arange(0.0, 360.0, 30.0), 3e5, 1e5)
    assert covers(m, x).all()


def test_scan_refuses_the_wrong_kind(make_radar, make_ir):
    with pytest.raises(ValueError, match="radar_scan needs a 'radar' sensor"):
        radar_scan(make_ir(), 0.0, np.zeros((0, 3)), np.zeros(0), np.zeros(0, bool), np.random.default_rng(0))
