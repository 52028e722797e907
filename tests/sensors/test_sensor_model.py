"""SensorModel: derived frame fields against geo, immutability, contract checks, pickling."""

from __future__ import annotations

import dataclasses
import math
import pickle

import numpy as np
import pymap3d
import pytest

from shieldwall import geo


def test_derived_fields_match_geo_and_pymap3d(make_radar):
    m = make_radar(alt_m=250.0)
    x, y, z = pymap3d.geodetic2ecef(m.lat_rad, m.lon_rad, m.alt_m, deg=False)
    np.testing.assert_allclose(m.origin_ecef, [x, y, z], atol=1e-6)
    np.testing.assert_array_equal(m.basis, geo.enu_basis(m.lat_rad, m.lon_rad))
    assert m.origin_ecef.shape == (3,) and m.basis.shape == (3, 3)
    assert m.snr_ref == pytest.approx(100.0)


def test_derived_fields_are_read_only_and_recomputed_by_replace(make_radar):
    m = make_radar()
    with pytest.raises(ValueError):
        m.origin_ecef[0] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.alt_m = 5.0
    moved = dataclasses.replace(m, lat_rad=0.0, snr_ref_db=10.0)
    np.testing.assert_allclose(moved.origin_ecef, geo.geodetic_to_ecef(0.0, m.lon_rad, 0.0))
    assert moved.snr_ref == pytest.approx(10.0)


def test_equality_hash_and_pickle(make_radar):
    m = make_radar()
    assert m == make_radar() and hash(m) == hash(make_radar())
    back = pickle.loads(pickle.dumps(m))
    assert back == m
    np.testing.assert_array_equal(back.basis, m.basis)


@pytest.mark.parametrize(("bad", "named"), [
    (dict(kind="sonar"), "kind"), (dict(max_range_m=0.0), "max_range_m"), (dict(range_sigma_m=-1.0), "range_sigma_m"),
    (dict(pfa=1.0), "pfa"), (dict(min_el_rad=0.5, max_el_rad=0.1), "min_el_rad"), (dict(max_el_rad=math.pi), "max_el_rad"),
    (dict(pd_ir=1.5), "pd_ir"), (dict(false_alarms_per_scan=-1.0), "false_alarms_per_scan"),
    (dict(half_fov_az_rad=0.0), "half_fov_az_rad"),
])
def test_contract_violations_are_named(make_radar, bad, named):
    with pytest.raises(ValueError, match=named):
        make_radar(**bad)
