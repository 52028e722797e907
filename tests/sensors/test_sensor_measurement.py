"""Measurement functions: pymap3d cross-check, Jacobian by finite differences, inverses, shapes."""

from __future__ import annotations

import math

import numpy as np
import pymap3d
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall import geo
from shieldwall.sensors import (measurement_function, measurement_jacobian, rae_covariance_to_ecef, rae_to_ecef,
                                residual)


def _points_around(m, n, rng):
    """ECEF points at random (ground distance 20-2500 km, any azimuth, height 0-1500 km) about the site."""
    bearing = rng.uniform(0.0, 2.0 * np.pi, n)
    bearing[:4] = [0.0, 1e-6, 2.0 * np.pi - 1e-6, np.pi]  # across the azimuth wrap and due south
    lat, lon = geo.destination(m.lat_rad, m.lon_rad, bearing, rng.uniform(2e4, 2.5e6, n))
    return geo.geodetic_to_ecef(lat, lon, rng.uniform(0.0, 1.5e6, n))


def test_rae_matches_pymap3d_ecef2aer(make_radar):
    """Reference: pymap3d.ecef2aer (WGS-84), an independent implementation of the same geometry."""
    m = make_radar(alt_m=120.0)
    x = _points_around(m, 200, np.random.default_rng(3))
    z = measurement_function("rae", x, m.origin_ecef, m.basis)
    az, el, srange = pymap3d.ecef2aer(x[:, 0], x[:, 1], x[:, 2], m.lat_rad, m.lon_rad, m.alt_m, deg=False)
    np.testing.assert_allclose(z[:, 0], srange, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(residual("rae", z, np.column_stack([srange, az, el]))[:, 1:], 0.0, atol=1e-9)


def test_jacobian_matches_central_differences(make_radar):
    m = make_radar(lat_rad=math.radians(-33.0), lon_rad=math.radians(151.0))
    x = _points_around(m, 100, np.random.default_rng(4))
    jac = measurement_jacobian("rae", x, m.origin_ecef, m.basis)
    step_m = 1.0
    fd = np.empty_like(jac)
    for k in range(3):
        dx = np.zeros(3)
        dx[k] = step_m
        plus = measurement_function("rae", x + dx, m.origin_ecef, m.basis)
        minus = measurement_function("rae", x - dx, m.origin_ecef, m.basis)
        fd[:, :, k] = residual("rae", plus, minus) / (2.0 * step_m)
    scale = np.abs(fd).max(axis=2, keepdims=True)
    np.testing.assert_allclose(jac / scale, fd / scale, atol=1e-6)


def test_pos_kind_is_identity():
    x = np.random.default_rng(5).normal(size=(7, 3)) * 7e6
    np.testing.assert_array_equal(measurement_function("pos", x, np.zeros(3), np.eye(3)), x)
    np.testing.assert_array_equal(measurement_jacobian("pos", x, np.zeros(3), np.eye(3)), np.broadcast_to(np.eye(3), (7, 3, 3)))


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'rae' or 'pos'"):
        measurement_function("xyz", np.zeros(3), np.zeros(3), np.eye(3))


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(-89.0, 89.0), lon=st.floats(-180.0, 180.0), bearing=st.floats(0.0, 360.0),
       dist_km=st.floats(1.0, 3000.0), h_km=st.floats(0.0, 2000.0))
def test_rae_to_ecef_inverts_measurement_function(lat, lon, bearing, dist_km, h_km):
    lat_r, lon_r = math.radians(lat), math.radians(lon)
    origin, basis = geo.geodetic_to_ecef(lat_r, lon_r, 0.0), geo.enu_basis(lat_r, lon_r)
    tlat, tlon = geo.destination(lat_r, lon_r, math.radians(bearing), dist_km * 1e3)
    x = geo.geodetic_to_ecef(tlat, tlon, h_km * 1e3)
    z = measurement_function("rae", x, origin, basis)
    assert 0.0 <= z[1] < 2.0 * math.pi
    np.testing.assert_allclose(rae_to_ecef(z, origin, basis), x, atol=1e-5)


def test_converted_covariance_is_inverse_jacobian_sandwich(make_radar):
    """Reference: P = H^-1 R H^-T with H the forward Jacobian, inverted numerically."""
    m = make_radar()
    x = _points_around(m, 30, np.random.default_rng(6))
    z = measurement_function("rae", x, m.origin_ecef, m.basis)
    R = np.diag([50.0**2, 1e-3**2, 2e-3**2])
    h_inv = np.linalg.inv(measurement_jacobian("rae", x, m.origin_ecef, m.basis))
    expected = h_inv @ R @ np.swapaxes(h_inv, -1, -2)
    got = rae_covariance_to_ecef(z, R, m.basis)
    scale = np.linalg.norm(expected, axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got / scale, expected / scale, atol=1e-9)


def test_residual_wraps_azimuth_only():
    d = residual("rae", np.array([[10.0, 0.01, 0.2]]), np.array([[4.0, 2 * np.pi - 0.01, 0.1]]))
    np.testing.assert_allclose(d, [[6.0, 0.02, 0.1]], atol=1e-12)
    np.testing.assert_allclose(residual("pos", [[1.0, 7.0, 0.0]], [[0.0, 0.0, 0.0]]), [[1.0, 7.0, 0.0]])


@pytest.mark.parametrize("shape", [(3,), (5, 3), (2, 4, 3), (0, 3)])
def test_shapes_broadcast(make_radar, shape):
    m = make_radar()
    x = m.origin_ecef + np.ones(shape) * [1e5, 2e5, 3e5]
    for kind in ("rae", "pos"):
        assert measurement_function(kind, x, m.origin_ecef, m.basis).shape == shape
        assert measurement_jacobian(kind, x, m.origin_ecef, m.basis).shape == shape[:-1] + (3, 3)
    assert rae_covariance_to_ecef(np.ones(shape) * [1e5, 1.0, 0.2], np.eye(3), m.basis).shape == shape[:-1] + (3, 3)
