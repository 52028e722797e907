"""Shared sensor-model factories for the sensor tests."""

from __future__ import annotations

import math

import pytest

from shieldwall.sensors import SensorModel

_RADAR = dict(
    name="r1", kind="radar", lat_rad=math.radians(50.0), lon_rad=math.radians(10.0), alt_m=0.0,
    boresight_az_rad=0.0, half_fov_az_rad=math.pi, min_el_rad=0.0, max_el_rad=math.radians(85.0),
    max_range_m=3.0e6, range_sigma_m=50.0, angle_sigma_rad=1.0e-3, snr_ref_db=20.0, ref_range_m=1.0e6,
    pfa=1.0e-6, revisit_s=10.0, false_alarms_per_scan=0.0, pos_sigma_m=2000.0, pd_ir=0.9,
)
_IR = dict(
    _RADAR, name="sat1", kind="ir", lat_rad=0.0, lon_rad=math.radians(40.0), alt_m=35_786_000.0,
    min_el_rad=-math.pi / 2, max_el_rad=math.pi / 2, max_range_m=5.0e7, pos_sigma_m=1500.0, pd_ir=0.85,
)


@pytest.fixture
def make_radar():
    def make(**overrides) -> SensorModel:
        return SensorModel(**{**_RADAR, **overrides})
    return make


@pytest.fixture
def make_ir():
    def make(**overrides) -> SensorModel:
        return SensorModel(**{**_IR, **overrides})
    return make

