"""The relevance screen against the world model's own flights: the Keplerian impact point of a state
taken anywhere on a flight after burnout (ascending or past apogee) lands near where the flight truly
comes down, and no track whose flight ends on an asset is screened out."""

from __future__ import annotations

import numpy as np
import pytest

from shieldwall import geo
from shieldwall.assess.screen import SCREEN_MARGIN_M, near_assets, vacuum_impact_ecef
from shieldwall.world.ballistic import plan_raid


def _flights(n=40, seed=0):
    """Minimum-energy and lofted flights of 300-4,500 km in every direction at mid latitudes."""
    rng = np.random.default_rng(seed)
    lat0, lon0 = rng.uniform(35.0, 65.0, n), rng.uniform(-30.0, 30.0, n)
    dist_km, az = rng.uniform(300.0, 4500.0, n), rng.uniform(0.0, 2.0 * np.pi, n)
    lat1, lon1 = geo.destination(np.radians(lat0), np.radians(lon0), az, dist_km * 1e3)
    burn = np.where(dist_km < 1000.0, 60.0, 120.0)
    kinds = ["lofted" if k % 4 == 0 and d < 1500.0 else "minimum-energy" for k, d in enumerate(dist_km)]
    return plan_raid(lat0, lon0, np.degrees(lat1), np.degrees(lon1), np.zeros(n), burn, np.full(n, 7.5e3),
                     np.full(n, 5000.0), kinds), burn


@pytest.mark.parametrize("fraction", [0.05, 0.3, 0.5, 0.7, 0.9, 0.98])
def test_keplerian_impact_lands_near_the_true_impact(fraction):
    eph, burn = _flights()
    t = burn + 5.0 + fraction * (eph.impact_time_s - burn - 5.0)
    x = np.empty((len(t), 6))
    for i, ti in enumerate(t):
        r, v, _, _ = eph.state(ti)
        x[i] = np.r_[r[i], v[i]]
    point, tof = vacuum_impact_ecef(x)
    miss = np.linalg.norm(point - eph.impact_ecef, axis=1)
    # Drag, J2 and the ellipsoid move the true point by kilometres to tens of kilometres: well inside
    # the screen's fixed margin (a wrong branch of the conic puts it hundreds of kilometres off).
    assert np.isfinite(miss).all() and miss.max() < 0.2 * SCREEN_MARGIN_M
    np.testing.assert_allclose(tof, eph.impact_time_s - t, rtol=0.05, atol=15.0)  # drag slows the re-entry


def test_no_track_aimed_at_an_asset_is_screened_out_and_far_assets_are():
    eph, burn = _flights(seed=1)
    P = np.zeros((len(burn), 6, 6))
    P[:, :3, :3] = 200.0 ** 2 * np.eye(3)
    P[:, 3:, 3:] = 20.0 ** 2 * np.eye(3)
    for fraction in (0.1, 0.5, 0.9):
        t = burn + 5.0 + fraction * (eph.impact_time_s - burn - 5.0)
        x = np.array([np.r_[eph.state(ti)[0][i], eph.state(ti)[1][i]] for i, ti in enumerate(t)])
        # An asset on each flight's impact point: kept. The antipode of it: screened out.
        assert near_assets(x, P, eph.impact_ecef).all()
        assert all(near_assets(x[i:i + 1], P[i:i + 1], eph.impact_ecef[i:i + 1]) for i in range(len(x)))
        assert not any(near_assets(x[i:i + 1], P[i:i + 1], -eph.impact_ecef[i:i + 1]) for i in range(len(x)))


def test_nothing_to_screen_for():
    assert near_assets(np.zeros((0, 6)), np.zeros((0, 6, 6)), np.ones((1, 3))).shape == (0,)
    assert not near_assets(np.ones((2, 6)) * 7e6, np.zeros((2, 6, 6)), np.zeros((0, 3))).any()
