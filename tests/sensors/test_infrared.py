"""Space-based IR scans: visibility rules, isotropic position noise, Pd and false alarms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from shieldwall import geo
from shieldwall.sensors import IR_CLOUD_TOP_ALT_M, IR_FALSE_ALARM_TOP_ALT_M, covers, ir_scan, scan_to_ecef

ALPHA = 1e-6


def _lla(lat_deg, lon_deg, alt_m):
    return geo.geodetic_to_ecef(np.radians(lat_deg), np.radians(lon_deg), alt_m)


def test_visibility_needs_burn_height_and_line_of_sight(make_ir):
    m = make_ir()  # sub-satellite point 0 N 40 E
    x = np.stack([
        _lla(30.0, 50.0, 40e3),     # burning, above the deck, in view: seen
        _lla(30.0, 50.0, 40e3),     # same place, motor not burning
        _lla(30.0, 50.0, 5e3),      # below the cloud deck
        _lla(0.0, -140.0, 200e3),   # on the far side of the Earth
        _lla(0.0, 40.0 + 86.0, 20e3),  # beyond the limb: 81.3 deg to the deck + 3.2 deg from 20 km to it
    ])
    boosting = np.array([True, False, True, True, True])
    np.testing.assert_array_equal(covers(m, x), [True, True, False, False, False])
    scan = ir_scan(m, 3.0, x, boosting, np.random.default_rng(0))
    assert set(scan.truth_index) <= {0}
    # Slant range to 30 N 50 E from GEO is ~37,000 km: outside a 36,000 km range limit.
    assert not covers(dataclasses.replace(m, max_range_m=3.6e7), x[:1])[0]


def test_position_noise_is_isotropic_gaussian(make_ir):
    """Reference: plots of a fixed target are N(truth, sigma^2 I): normal bound on the mean, chi-square
    bounds on the variances, N(0, 1/n) bound on the correlations."""
    m = make_ir(pd_ir=1.0)
    n = 20_000
    x = np.repeat(_lla(20.0, 45.0, 80e3)[None], n, axis=0)
    scan = ir_scan(m, 0.0, x, np.ones(n, bool), np.random.default_rng(21))
    assert scan.kind == "pos" and len(scan) == n
    np.testing.assert_allclose(scan.R, np.eye(3) * m.pos_sigma_m**2)
    err = scan.z - x[scan.truth_index]
    k = stats.norm.isf(ALPHA / 2)
    assert np.all(np.abs(err.mean(axis=0)) < k * m.pos_sigma_m / math.sqrt(n))
    lo, hi = stats.chi2.interval(1 - ALPHA, n - 1)
    ratio = (n - 1) * err.var(axis=0, ddof=1) / m.pos_sigma_m**2
    assert np.all((ratio > lo) & (ratio < hi))
    assert np.all(np.abs(np.corrcoef(err.T)[np.triu_indices(3, 1)]) < k / math.sqrt(n))
    np.testing.assert_array_equal(scan_to_ecef(scan), scan.z)


def test_detection_frequency_matches_pd(make_ir):
    m = make_ir(pd_ir=0.7)
    n = 10_000
    x = np.repeat(_lla(10.0, 30.0, 60e3)[None], n, axis=0)
    scan = ir_scan(m, 0.0, x, np.ones(n, bool), np.random.default_rng(22))
    lo, hi = stats.binom.interval(1 - ALPHA, n, 0.7)
    assert lo <= len(scan) <= hi


def test_false_alarms_poisson_in_the_visible_band(make_ir):
    lam, scans = 2.0, 2000
    m = make_ir(false_alarms_per_scan=lam)
    rng = np.random.default_rng(23)
    results = [ir_scan(m, float(i), np.empty((0, 3)), np.empty(0, bool), rng) for i in range(scans)]
    counts = np.array([len(s) for s in results])
    lo, hi = stats.poisson.interval(1 - ALPHA, scans * lam)
    assert lo <= counts.sum() <= hi
    z = np.concatenate([s.z for s in results])
    alt = geo.altitude_m(z)
    assert np.all((alt > IR_CLOUD_TOP_ALT_M - 1.0) & (alt < IR_FALSE_ALARM_TOP_ALT_M + 1.0))
    # Drawn over the cap visible at the deck on a mean-radius sphere: all but a sliver at the limb are in view.
    assert covers(m, z).mean() > 0.99
    # Uniform in area: the cosine of the central angle from the sub-satellite point is uniform.
    lat, lon, _ = geo.ecef_to_geodetic(z)
    cos_c = np.cos(geo.great_circle_m(m.lat_rad, m.lon_rad, lat, lon) / geo.R_MEAN_M)
    assert stats.kstest(cos_c, stats.uniform(cos_c.min(), 1 - cos_c.min()).cdf).pvalue > ALPHA


@pytest.mark.parametrize("n", [0, 1, 40])
def test_scan_shapes(make_ir, n):
    m = make_ir(false_alarms_per_scan=1.0)
    x = np.repeat(_lla(10.0, 30.0, 60e3)[None], n, axis=0)
    scan = ir_scan(m, 0.0, x, np.ones(n, bool), np.random.default_rng(24))
    assert scan.z.shape == (len(scan), 3) and scan.truth_index.shape == (len(scan),)
    assert scan.origin_ecef.shape == (3,) and scan.basis.shape == (3, 3) and scan.sensor == "sat1"
