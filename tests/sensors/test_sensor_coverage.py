"""Coverage footprints against the ellipsoidal visibility test, and the false-alarm density."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shieldwall import geo
from shieldwall.sensors import IR_CLOUD_TOP_ALT_M, IR_FALSE_ALARM_TOP_ALT_M, coverage_footprint, covers, false_alarm_density


def _scaled_edge(m, lat_deg, lon_deg, alt_m, factor):
    """Points at ``factor`` times the great-circle distance from the site to each footprint vertex."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    dist = geo.great_circle_m(m.lat_rad, m.lon_rad, lat, lon)
    bearing = geo.initial_bearing(m.lat_rad, m.lon_rad, lat, lon)
    plat, plon = geo.destination(m.lat_rad, m.lon_rad, bearing, factor * dist)
    return geo.geodetic_to_ecef(plat, plon, alt_m)


@pytest.mark.parametrize(("overrides", "alt_m"), [
    (dict(), 100e3),                                          # horizon-limited (~1,130 km)
    (dict(), 400e3),                                          # range-limited (3,000 km)
    (dict(alt_m=3000.0, min_el_rad=math.radians(-2.0)), 20e3),  # mountain site looking down: horizon
    (dict(min_el_rad=math.radians(5.0), lat_rad=math.radians(-60.0)), 150e3),  # elevation-limited
])
def test_radar_footprint_edge_agrees_with_covers(make_radar, overrides, alt_m):
    """Reference: the ellipsoidal visibility test; 2 % inside the spherical edge is covered, 2 % outside is not."""
    m = make_radar(**overrides)
    lat, lon = coverage_footprint(m, alt_m, n=36)
    assert lat.shape == lon.shape == (37,) and lat[0] == lat[-1] and lon[0] == lon[-1]
    assert covers(m, _scaled_edge(m, lat[:-1], lon[:-1], alt_m, 0.98)).all()
    assert not covers(m, _scaled_edge(m, lat[:-1], lon[:-1], alt_m, 1.02)).any()


def test_ir_footprint_edge_agrees_with_covers(make_ir):
    m = make_ir()
    lat, lon = coverage_footprint(m, 50e3, n=36)
    assert covers(m, _scaled_edge(m, lat[:-1], lon[:-1], 50e3, 0.98)).all()
    assert not covers(m, _scaled_edge(m, lat[:-1], lon[:-1], 50e3, 1.02)).any()
    assert coverage_footprint(m, 5e3)[0].size == 0  # below the cloud deck nothing is seen


def test_sector_footprint_is_a_closed_wedge(make_radar):
    m = make_radar(boresight_az_rad=math.radians(90.0), half_fov_az_rad=math.radians(60.0))
    lat, lon = coverage_footprint(m, 100e3, n=10)
    assert lat.shape == (12,)
    np.testing.assert_allclose([lat[0], lat[-1]], math.degrees(m.lat_rad))
    bearings = np.degrees(geo.initial_bearing(m.lat_rad, m.lon_rad, np.radians(lat[1:-1]), np.radians(lon[1:-1])))
    np.testing.assert_allclose(bearings, np.linspace(30.0, 150.0, 10), atol=1e-6)


def test_uncovered_height_gives_empty_footprint(make_radar):
    m = make_radar(alt_m=2000.0, min_el_rad=0.0)
    lat, lon = coverage_footprint(m, 1000.0)  # below the site with no look-down: nothing
    assert lat.size == 0 and lon.size == 0
    assert coverage_footprint(make_radar(max_range_m=5e4), 100e3)[0].size == 0  # beyond max range overhead


def test_false_alarm_density_is_count_over_volume(make_radar, make_ir):
    m = make_radar(false_alarms_per_scan=3.0, half_fov_az_rad=0.5, min_el_rad=0.1, max_el_rad=0.6)
    assert false_alarm_density(m) == pytest.approx(3.0 / (m.max_range_m * 1.0 * 0.5))
    assert false_alarm_density(make_radar(false_alarms_per_scan=3.0)) == pytest.approx(
        3.0 / (3e6 * 2 * math.pi * math.radians(85.0)))
    assert false_alarm_density(make_radar()) == 0.0
    ir = make_ir(false_alarms_per_scan=2.0)
    cap = math.acos((geo.R_MEAN_M + IR_CLOUD_TOP_ALT_M) / (geo.R_MEAN_M + ir.alt_m))
    volume = 2 * math.pi * geo.R_MEAN_M**2 * (1 - math.cos(cap)) * (IR_FALSE_ALARM_TOP_ALT_M - IR_CLOUD_TOP_ALT_M)
    assert false_alarm_density(ir) == pytest.approx(2.0 / volume)
