"""The built-in catalogs (scenario/data/*.yaml): every entry validates, the generic figures are
self-consistent, and they agree with independent references: the closed-form minimum-energy range
equation (missiles), the Swerling I detection law (radars) and the geometry of a geostationary
platform (space-based IR)."""

from __future__ import annotations

import math
import re
from importlib import resources

import pytest
import yaml

from shieldwall.errors import ScenarioError
from shieldwall.scenario.loader import builtin_catalog, parse_scenario
from shieldwall.scenario.schema import InterceptorClass, MissileClass, SensorClass

MU_M3S2 = 3.986_004_418e14
R_EARTH_M = 6_371_008.8
R_EQUATOR_M = 6_378_137.0
GEO_ALT_M = 35_786_000.0

KINDS = {"missiles": MissileClass, "sensors": SensorClass, "interceptors": InterceptorClass}


def _raw(kind: str) -> dict:
    text = (resources.files("shieldwall.scenario") / "data" / f"{kind}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


RAW_ENTRIES = [(kind, name, fields) for kind in KINDS for name, fields in _raw(kind).items()]


@pytest.mark.parametrize(("kind", "name", "fields"), RAW_ENTRIES, ids=[f"{k}:{n}" for k, n, _ in RAW_ENTRIES])
def test_every_entry_validates_and_cites_a_public_source(kind, name, fields):
    entry = KINDS[kind].model_validate(fields)
    assert re.fullmatch(r"[a-z0-9][a-z0-9\-]*", name)
    assert entry.description.strip()
    # A source names at least one dated public reference, e.g. "Skolnik, ... (2001)".
    assert re.search(r"\((?:[^()]*\b)?(19|20)\d\d\)", entry.source), entry.source


def test_builtin_catalog_has_the_generic_classes():
    c = builtin_catalog()
    assert {"srbm", "mrbm", "irbm", "icbm"} <= set(c.missiles)
    assert {"ewr", "fbx", "naval-s", "lower-tier", "space-ir"} <= set(c.sensors)
    assert {"upper-tier", "mid-tier", "lower-tier"} <= set(c.interceptors)
    assert {c.interceptors[n].tier for n in c.interceptors} == {"upper", "mid", "lower"}


# -------------------------------------------------------------------------------------------------
# Missiles


def _min_energy_speed_ms(range_m: float) -> float:
    """Closed-form burnout speed of a minimum-energy flight over ``range_m`` from the ground (spherical,
    non-rotating Earth): nu = v^2 R / mu = 2 sin(psi/2) / (1 + sin(psi/2)), psi = range / R."""
    s = math.sin(range_m / R_EARTH_M / 2.0)
    return math.sqrt(2.0 * s / (1.0 + s) * MU_M3S2 / R_EARTH_M)


def test_min_energy_speed_reference_matches_textbook_values():
    # Order-of-magnitude textbook figures: ~3 km/s for 1,000 km, ~7.2 km/s for 10,000 km.
    assert _min_energy_speed_ms(1_000e3) == pytest.approx(3.02e3, rel=0.01)
    assert _min_energy_speed_ms(10_000e3) == pytest.approx(7.18e3, rel=0.01)


def test_missile_range_bands_are_the_public_categories_and_contiguous():
    m = builtin_catalog().missiles
    bands = [m[n].nominal_range_km for n in ("srbm", "mrbm", "irbm", "icbm")]
    assert bands == [(100, 1000), (1000, 3000), (3000, 5500), (5500, 12000)]
    for n in ("srbm", "mrbm", "irbm", "icbm"):
        assert m[n].description and m[n].rcs_m2 <= 1.0
    assert [m[n].burn_time_s for n in ("srbm", "mrbm", "irbm", "icbm")] == [60, 90, 150, 180]
    assert [m[n].ballistic_coefficient_kgm2 for n in ("srbm", "mrbm", "irbm", "icbm")] == [5000, 15000, 30000, 60000]


@pytest.mark.parametrize("name", ["srbm", "mrbm", "irbm", "icbm"])
def test_missile_reaches_the_top_of_its_band_by_the_closed_form_range_equation(name):
    cls = builtin_catalog().missiles[name]
    need_ms = _min_energy_speed_ms(cls.nominal_range_km[1] * 1e3)
    assert need_ms <= cls.burnout_speed_max_kms * 1e3 <= 1.1 * need_ms


@pytest.mark.parametrize("name", ["srbm", "mrbm", "irbm", "icbm"])
def test_missile_reaches_the_top_of_its_band_in_the_flight_model(name):
    """Worst case for an Earth-relative speed limit: due west along the equator."""
    from shieldwall.world.ballistic import trajectory_summary

    cls = builtin_catalog().missiles[name]
    lon_deg = math.degrees(cls.nominal_range_km[1] * 1e3 / R_EARTH_M)
    summary = trajectory_summary(0.0, 0.0, 0.0, -lon_deg, cls.burn_time_s, cls.burnout_speed_max_kms * 1e3,
                                 cls.ballistic_coefficient_kgm2, "minimum-energy")
    assert summary["impact_error_m"] < 100.0


# -------------------------------------------------------------------------------------------------
# Sensors


def _swerling1_pd(snr: float, pfa: float) -> float:
    return pfa ** (1.0 / (1.0 + snr))


def _pd(cls: SensorClass, range_km: float, rcs_m2: float) -> float:
    snr = 10.0 ** (cls.snr_ref_db / 10.0) * rcs_m2 * (cls.ref_range_km / range_km) ** 4
    return _swerling1_pd(snr, cls.pfa)


RADARS = [n for n, c in builtin_catalog().sensors.items() if c.kind == "radar"]


@pytest.mark.parametrize("name", RADARS)
def test_radar_detects_a_small_re_entry_vehicle_near_its_max_range(name):
    """Sized so that a 0.1 m^2 target has Pd ~0.5 at max range and >= 0.9 well inside it."""
    cls = builtin_catalog().sensors[name]
    assert _pd(cls, cls.max_range_km, 0.1) == pytest.approx(0.5, abs=0.05)
    assert _pd(cls, 0.6 * cls.max_range_km, 0.1) >= 0.9
    assert _pd(cls, cls.max_range_km, 1.0) >= 0.9
    assert cls.min_el_deg < cls.max_el_deg <= 90


def test_radar_roles_are_ordered_by_range_and_precision():
    s = builtin_catalog().sensors
    assert s["ewr"].max_range_km > s["fbx"].max_range_km > s["naval-s"].max_range_km > s["lower-tier"].max_range_km
    assert 4000 <= s["ewr"].max_range_km <= 5000 and s["ewr"].half_fov_az_deg >= 90 and s["ewr"].revisit_s == 10
    assert 1500 <= s["fbx"].max_range_km <= 2000 and s["fbx"].half_fov_az_deg == 60
    assert s["fbx"].range_sigma_m == 5 and s["fbx"].angle_sigma_mrad == 0.2
    assert 700 <= s["naval-s"].max_range_km <= 1000 and s["naval-s"].half_fov_az_deg == 180
    assert 2 <= s["naval-s"].revisit_s <= 4
    assert 150 <= s["lower-tier"].max_range_km <= 200 and s["lower-tier"].revisit_s == 1
    assert s["fbx"].range_sigma_m < s["naval-s"].range_sigma_m < s["ewr"].range_sigma_m


def test_space_ir_sees_the_whole_earth_disk_from_geostationary_height():
    cls = builtin_catalog().sensors["space-ir"]
    limb_km = math.sqrt((R_EQUATOR_M + GEO_ALT_M) ** 2 - R_EQUATOR_M**2) / 1e3  # ~41,700 km
    assert cls.kind == "ir"
    assert limb_km <= cls.max_range_km <= 1.05 * limb_km
    assert 2 <= cls.revisit_s <= 10 and 1000 <= cls.pos_sigma_m <= 3000 and cls.pd == 0.95


# -------------------------------------------------------------------------------------------------
# Interceptors


def test_interceptor_tiers_are_layered():
    i = builtin_catalog().interceptors
    up, mid, low = i["upper-tier"], i["mid-tier"], i["lower-tier"]
    assert up.burnout_speed_kms > mid.burnout_speed_kms > low.burnout_speed_kms
    assert up.max_range_km > mid.max_range_km > low.max_range_km
    assert up.min_alt_km >= 100  # exo-atmospheric
    assert low.max_alt_km <= 40  # endo-atmospheric
    assert mid.min_alt_km < up.min_alt_km and mid.max_alt_km > up.min_alt_km  # the mid tier bridges the gap
    assert low.max_alt_km < mid.min_alt_km + 10
    for c in i.values():
        assert 0.6 <= c.pk <= 0.9 and c.fire_channels >= 1 and c.min_alt_km < c.max_alt_km
    assert up.divert_km > mid.divert_km > low.divert_km


# -------------------------------------------------------------------------------------------------
# A scenario's own catalog entries: added, overriding, or malformed.


def _minimal(**catalog) -> dict:
    return {
        "name": "t", "settings": {"duration_s": 600}, "catalog": catalog,
        "nations": [{"id": "a", "name": "A", "territory": [[0, 0], [0, 1], [1, 1]]}],
        "c2_nodes": [{"id": "hq", "kind": "alliance"}],
        "assets": [{"id": "x", "nation": "a", "lat_deg": 0.5, "lon_deg": 0.6, "radius_km": 5, "value": 1}],
        "sensors": [{"id": "s", "class": "lower-tier", "nation": "a", "lat_deg": 0.5, "lon_deg": 0.5,
                     "reports_to": "hq"}],
        "threats": [{"id": "t1", "class": "srbm", "launch": {"lat_deg": 3.0, "lon_deg": 0.5},
                     "aim": {"asset": "x"}, "launch_time_s": 0}],
    }


def test_scenario_catalog_adds_and_overrides_entries():
    extra = dict(_raw("missiles")["srbm"], nominal_range_km=[50, 400])
    s = parse_scenario(_minimal(missiles={"srbm": extra, "custom": _raw("missiles")["mrbm"]}))
    assert s.catalog.missiles["srbm"].nominal_range_km == (50, 400)
    assert "custom" in s.catalog.missiles and "icbm" in s.catalog.missiles
    assert "ewr" in s.catalog.sensors


@pytest.mark.parametrize(("section", "name", "edit", "path", "fragment"), [
    ("missiles", "srbm", {"burn_time_s": "long"}, "catalog.missiles.srbm.burn_time_s", "expected a valid number"),
    ("missiles", "srbm", {"nominal_range_km": [900, 100]}, "catalog.missiles.srbm", "0 < min <= max"),
    ("missiles", "srbm", {"burnout_speed_max_kms": 9.0}, "catalog.missiles.srbm.burnout_speed_max_kms",
     "less than or equal to 8"),
    ("sensors", "ewr", {"min_el_deg": 60, "max_el_deg": 10}, "catalog.sensors.ewr", "min_el_deg <= max_el_deg"),
    ("sensors", "ewr", {"kind": "sonar"}, "catalog.sensors.ewr.kind", "'radar' or 'ir'"),
    ("interceptors", "lower-tier", {"min_alt_km": 40}, "catalog.interceptors.lower-tier", "min_alt_km < max_alt_km"),
    ("interceptors", "lower-tier", {"max_speed_kms": 2}, "catalog.interceptors.lower-tier.max_speed_kms",
     "unknown field"),
])
def test_malformed_catalog_entry_is_reported_with_its_path(section, name, edit, path, fragment):
    entry = dict(_raw(section)[name], **edit)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_minimal(**{section: {name: entry}}), "f.yaml")
    hits = [p for p in info.value.problems if p.path == path]
    assert hits, [str(p) for p in info.value.problems]
    assert fragment in hits[0].message and "expected" in hits[0].message
