"""Scenario validation: the example scenarios load and make geometric sense; every malformed input
gives a :class:`ScenarioError` whose problems name the file, the path inside it and what is expected;
and no input at all (random text, random structures, random edits of a valid scenario) raises
anything else.

Malformed cases are built by editing a parsed copy of ``examples/small.yaml`` so that they follow
the example as it changes.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from shieldwall import geo
from shieldwall.errors import Problem, ScenarioError
from shieldwall.scenario.loader import load_scenario, parse_scenario
from shieldwall.scenario.references import aim_point_deg
from shieldwall.scenario.schema import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL = EXAMPLES / "small.yaml"
MEDIUM = EXAMPLES / "medium.yaml"
SMALL_DATA = yaml.safe_load(SMALL.read_text(encoding="utf-8"))


# -------------------------------------------------------------------------------------------------
# The examples load and have the structure they document.


@pytest.fixture(scope="module", params=[SMALL, MEDIUM], ids=["small", "medium"])
def example(request) -> Scenario:
    return load_scenario(request.param)


def _missiles(s: Scenario) -> int:
    return sum(t.count for t in s.threats)


def test_small_example_structure():
    s = load_scenario(SMALL)
    assert len(s.nations) == 3
    assert 5 <= _missiles(s) <= 8 and {t.missile_class for t in s.threats} == {"srbm", "mrbm"}
    assert 3 <= len(s.sensors) <= 5
    assert "space-ir" in {x.sensor_class for x in s.sensors}
    assert 3 <= len(s.batteries) <= 5
    assert {b.authority for b in s.batteries} == {"delegated", "national_approval", "national_only"}
    assert len({s.catalog.interceptors[b.interceptor_class].tier for b in s.batteries}) == 3
    assert len(s.assets) >= 5
    assert 900 <= s.settings.duration_s <= 1200
    assert [link.kind for link in s.links].count("satcom") == 1


def test_medium_example_structure():
    s = load_scenario(MEDIUM)
    assert len(s.nations) >= 5
    assert _missiles(s) >= 40
    waves = {t.id.split("-")[0] for t in s.threats}
    assert len(waves) >= 3
    assert len(s.sensors) >= 12 and len(s.batteries) >= 12 and len(s.assets) >= 20
    assert {b.authority for b in s.batteries} == {"delegated", "national_approval", "national_only"}
    assert {s.catalog.interceptors[b.interceptor_class].tier for b in s.batteries} == {"upper", "mid", "lower"}
    assert s.settings.duration_s == 1800
    assert any(t.count > 1 and t.spacing_s > 0 for t in s.threats)


def test_example_command_structure(example):
    s = example
    national = Counter(c.nation for c in s.c2_nodes if c.kind == "national")
    assert national == Counter(n.id for n in s.nations)  # exactly one national C2 node per nation
    c2 = {c.id: c for c in s.c2_nodes}
    alliance = next(c.id for c in s.c2_nodes if c.kind == "alliance")
    linked = {frozenset(link.between) for link in s.links}
    for x in list(s.sensors) + list(s.batteries):
        assert c2[x.reports_to].nation == x.nation, x.id  # reports to its own national node
        assert frozenset((x.id, x.reports_to)) in linked, x.id
    for b in s.batteries:
        assert (frozenset((b.id, alliance)) in linked) == (b.authority == "delegated"), b.id
    for n in s.nations:
        node = next(c.id for c in s.c2_nodes if c.nation == n.id)
        assert frozenset((node, alliance)) in linked
    assert any(b.defends for b in s.batteries)
    for link in s.links:
        assert link.between[0] != link.between[1]
        assert link.loss <= 0.02 and link.jitter_ms < link.latency_ms
        if link.kind == "satcom":
            assert 250 <= link.latency_ms <= 350
        else:
            assert 5 <= link.latency_ms <= 80


def test_example_has_no_preflight_warnings(example):
    """The system checks of the simulation (network paths, battery reach, terminal radar coverage)."""
    from shieldwall.sim.preflight import preflight

    assert [str(p) for p in preflight(example, "example")] == []


# -------------------------------------------------------------------------------------------------
# The examples' geometry makes sense.


def _territories(s: Scenario) -> dict[str, Polygon]:
    return {n.id: Polygon([(lon, lat) for lat, lon in n.territory]) for n in s.nations}


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geo.great_circle_m(*map(math.radians, (lat1, lon1, lat2, lon2)))) / 1e3


def test_example_territories_assets_and_sites(example):
    s = example
    land = _territories(s)
    for a, b in [(a, b) for a in land for b in land if a < b]:
        assert land[a].intersection(land[b]).area < 1e-9, (a, b)
    for a in s.assets:
        assert land[a.nation].contains(Point(a.lon_deg, a.lat_deg)), a.id
    at_sea_or_in_space = {"naval-s", "space-ir", "naval-upper"}
    for x in list(s.sensors) + list(s.batteries):
        cls = getattr(x, "sensor_class", None) or x.interceptor_class
        if cls not in at_sea_or_in_space:
            assert land[x.nation].contains(Point(x.lon_deg, x.lat_deg)), x.id


def test_example_threats_fly_from_outside_within_their_class_range(example):
    s = example
    land = _territories(s)
    assert any(t.aim.asset is None for t in s.threats)
    assert sum(t.aim.asset is not None for t in s.threats) > len(s.threats) / 2
    for i, t in enumerate(s.threats):
        assert not any(p.contains(Point(t.launch.lon_deg, t.launch.lat_deg)) for p in land.values()), t.id
        lo, hi = s.catalog.missiles[t.missile_class].nominal_range_km
        assert lo <= _km(t.launch.lat_deg, t.launch.lon_deg, *aim_point_deg(s, i)) <= hi, t.id


def test_example_missiles_fly_and_land_before_the_end(example):
    """Every missile can be flown by the world's flight model within its class and lands in the run."""
    from shieldwall.sim.build import threat_list
    from shieldwall.world.ballistic import plan_raid

    t = threat_list(example)
    eph = plan_raid(t.launch_lat_deg, t.launch_lon_deg, t.aim_lat_deg, t.aim_lon_deg, t.launch_time_s,
                    t.burn_time_s, t.burnout_speed_max_ms, t.beta_kgm2, list(t.trajectory))
    assert eph.impact_time_s.max() <= example.settings.duration_s - 60.0


def test_example_batteries_sit_near_what_they_defend(example):
    s = example
    for b in s.batteries:
        cls = s.catalog.interceptors[b.interceptor_class]
        allowed = [a for a in s.assets if b.defends is None or a.nation in b.defends]
        nearest_km = min(_km(b.lat_deg, b.lon_deg, a.lat_deg, a.lon_deg) for a in allowed)
        limit_km = 50.0 if cls.tier == "lower" else cls.max_range_km / 2
        assert nearest_km <= limit_km, b.id


def _min_energy_track_ecef(lat0, lon0, lat1, lon1, n=60) -> np.ndarray:
    """Points along a minimum-energy trajectory: great circle, Keplerian apogee height at mid-range."""
    a = [math.radians(v) for v in (lat0, lon0, lat1, lon1)]
    d = float(geo.great_circle_m(*a))
    half = d / geo.R_MEAN_M / 2.0
    apogee_m = geo.R_MEAN_M * (math.sin(half) + math.cos(half) - 1.0) / 2.0
    f = np.linspace(0.0, 1.0, n)
    lat, lon = geo.destination(a[0], a[1], float(geo.initial_bearing(*a)), f * d)
    return geo.geodetic_to_ecef(lat, lon, 4.0 * apogee_m * f * (1.0 - f))


def test_example_sensors_see_every_threat_corridor(example):
    """Every threat: a space-based IR sensor sees its launch, and some radar sees a fifth of its path."""
    from shieldwall.sensors.coverage import covers
    from shieldwall.sim.build import sensor_models

    s = example
    models = sensor_models(s)
    radars = [m for m in models if m.kind == "radar"]
    ir = [m for m in models if m.kind == "ir"]
    assert ir
    for i, t in enumerate(s.threats):
        boost = geo.geodetic_to_ecef(math.radians(t.launch.lat_deg), math.radians(t.launch.lon_deg), 30e3)
        assert any(covers(m, boost[None])[0] for m in ir), t.id
        track = _min_energy_track_ecef(t.launch.lat_deg, t.launch.lon_deg, *aim_point_deg(s, i))
        assert max(covers(m, track).mean() for m in radars) >= 0.2, t.id


# -------------------------------------------------------------------------------------------------
# Malformed scenarios: each gives a ScenarioError naming the right path and what is expected.


def _problems(tmp_path: Path, data=None, text: str | None = None) -> list[Problem]:
    path = tmp_path / "scenario.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    problems = info.value.problems
    assert problems
    for p in problems:
        assert p.file == str(path) and p.severity == "error"
        assert str(p).startswith(f"{path}: {p.path}: ")
        assert "expected" in p.message
    return problems


def _edited(edit: Callable[[dict], None]) -> dict:
    data = copy.deepcopy(SMALL_DATA)
    edit(data)
    return data


def _index(section: str, ident: str) -> int:
    return next(i for i, x in enumerate(SMALL_DATA[section]) if x.get("id") == ident)


def _set(*keys, value):
    def edit(data):
        node = data
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return edit


def _delete(*keys):
    def edit(data):
        node = data
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return edit


def _rename(*keys, to):
    def edit(data):
        node = data
        for k in keys[:-1]:
            node = node[k]
        node[to] = node.pop(keys[-1])
    return edit


def _append_copy(section, index):
    def edit(data):
        data[section].append(copy.deepcopy(data[section][index]))
    return edit


FAR_AWAY = {"lat_deg": 40.0, "lon_deg": -30.0}

CASES = {
    # wrong type
    "lat-not-a-number": (_set("assets", 0, "lat_deg", value="north"), "assets[0].lat_deg",
                         ["'north'", "expected a valid number"]),
    "count-not-an-integer": (_set("threats", 1, "count", value=2.5), "threats[1].count",
                             ["expected a valid integer"]),
    "section-not-a-list": (_set("assets", value={"id": "x"}), "assets", ["expected a valid list"]),
    "authority-not-a-mode": (_set("batteries", 0, "authority", value="approve"), "batteries[0].authority",
                             ["'approve'", "'delegated', 'national_approval' or 'national_only'"]),
    # unknown class
    "unknown-sensor-class": (_set("sensors", 1, "class", value="ewr-9000"), "sensors[1].class",
                             ["unknown sensor class 'ewr-9000'", "expected one of:", "ewr"]),
    "unknown-interceptor-class": (_set("batteries", 0, "class", value="laser"), "batteries[0].class",
                                  ["unknown interceptor class 'laser'", "upper-tier"]),
    "unknown-missile-class": (_set("threats", 0, "class", value="hgv"), "threats[0].class",
                              ["unknown missile class 'hgv'", "srbm"]),
    # missing field
    "missing-asset-radius": (_delete("assets", 0, "radius_km"), "assets[0].radius_km", ["missing"]),
    "missing-settings": (_delete("settings"), "settings", ["missing"]),
    "missing-duration": (_delete("settings", "duration_s"), "settings.duration_s", ["missing"]),
    "missing-battery-class": (_delete("batteries", 0, "class"), "batteries[0].class", ["missing"]),
    "national-node-without-nation": (_delete("c2_nodes", 1, "nation"), "c2_nodes[1]",
                                     ["needs 'nation'", "expected a nation id"]),
    # unknown reference
    "unknown-aim-asset": (_set("threats", 0, "aim", "asset", value="atlantis"), "threats[0].aim.asset",
                          ["unknown asset 'atlantis'", "nm-oslo"]),
    "unknown-asset-nation": (_set("assets", 0, "nation", value="narnia"), "assets[0].nation",
                             ["unknown nation 'narnia'", "nordmark"]),
    "unknown-battery-nation": (_set("batteries", 2, "nation", value="narnia"), "batteries[2].nation",
                               ["unknown nation 'narnia'"]),
    "unknown-c2-nation": (_set("c2_nodes", 1, "nation", value="narnia"), "c2_nodes[1].nation",
                          ["unknown nation 'narnia'"]),
    "unknown-defends-nation": (_set("batteries", 0, "defends", value=["osterland", "narnia"]),
                               "batteries[0].defends[1]", ["unknown nation 'narnia'"]),
    "unknown-sensor-reports-to": (_set("sensors", 0, "reports_to", value="nowhere"), "sensors[0].reports_to",
                                  ["unknown C2 node 'nowhere'", "alliance-bmdoc"]),
    "battery-reports-to-a-sensor": (_set("batteries", 0, "reports_to", value="ol-ewr"),
                                    "batteries[0].reports_to", ["unknown C2 node 'ol-ewr'"]),
    "unknown-link-endpoint": (_set("links", 0, "between", 1, value="ghost"), "links[0].between[1]",
                              ["unknown node 'ghost'"]),
    # out of range
    "latitude-above-90": (_set("assets", 0, "lat_deg", value=95.0), "assets[0].lat_deg",
                          ["95.0", "less than or equal to 90"]),
    "longitude-below-minus-180": (_set("sensors", 1, "lon_deg", value=-200), "sensors[1].lon_deg",
                                  ["greater than or equal to -180"]),
    "launch-latitude-below-minus-90": (_set("threats", 0, "launch", "lat_deg", value=-91),
                                       "threats[0].launch.lat_deg", ["greater than or equal to -90"]),
    "territory-vertex-latitude": (_set("nations", 0, "territory", 2, 0, value=100),
                                  "nations[0].territory[2][0]", ["less than or equal to 90"]),
    "negative-latency": (_set("links", 0, "latency_ms", value=-5), "links[0].latency_ms",
                         ["greater than or equal to 0"]),
    "loss-of-one": (_set("links", 0, "loss", value=1.0), "links[0].loss", ["less than 1"]),
    # unknown key (a typo, or units missing from the key name)
    "latency-in-seconds": (_rename("links", 0, "latency_ms", to="latency_s"), "links[0].latency_s",
                           ["unknown field", "latency_ms"]),
    "unknown-top-level-section": (_set("radars", value=[]), "radars", ["unknown field"]),
    "typo-in-battery": (_rename("batteries", 1, "inventory", to="inventroy"), "batteries[1].inventroy",
                        ["unknown field"]),
    # duplicate id
    "duplicate-asset": (_append_copy("assets", 0), "assets", ["'nm-oslo' is used 2 times", "expected unique ids"]),
    "duplicate-nation": (_append_copy("nations", 1), "nations", ["'vestria' is used 2 times"]),
    "sensor-and-battery-share-an-id": (_set("batteries", 0, "id", value="ol-ewr"), "nodes",
                                       ["'ol-ewr' is used 2 times"]),
    "two-alliance-nodes": (_set("c2_nodes", 1, "kind", value="alliance"), "c2_nodes",
                           ["2 alliance nodes", "expected exactly one"]),
    # range beyond the missile class
    "srbm-beyond-its-range": (_set("threats", 0, "launch", value=FAR_AWAY), "threats[0].aim",
                              ["beyond class 'srbm'", "expected at most 1000 km"]),
    "aim-point-beyond-mrbm-range": (_set("threats", _index("threats", "mrbm-oslo"), "aim",
                                         value={"lat_deg": 10.0, "lon_deg": 10.0}),
                                    f"threats[{_index('threats', 'mrbm-oslo')}].aim",
                                    ["beyond class 'mrbm'", "expected at most 3000 km"]),
    "aim-too-close": (_set("threats", 0, "aim", value={"lat_deg": 56.65, "lon_deg": 19.6}), "threats[0].aim",
                      ["expected at least 50 km"]),
    "aim-both-asset-and-point": (_set("threats", 0, "aim", value={"asset": "nm-oslo", "lat_deg": 1, "lon_deg": 2}),
                                 "threats[0].aim", ["give either 'asset' or both"]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_scenario_names_path_and_expectation(tmp_path, name):
    edit, path, fragments = CASES[name]
    problems = _problems(tmp_path, _edited(edit))
    hits = [p for p in problems if p.path == path]
    assert hits, f"no problem at {path!r}: {[str(p) for p in problems]}"
    for fragment in fragments:
        assert any(fragment in p.message for p in hits), (fragment, [str(p) for p in hits])


def test_renamed_key_reports_both_the_unknown_and_the_missing_key(tmp_path):
    problems = _problems(tmp_path, _edited(_rename("links", 0, "latency_ms", to="latency_s")))
    assert {p.path for p in problems} == {"links[0].latency_s", "links[0].latency_ms"}


def test_every_problem_is_reported_at_once(tmp_path):
    def edit(data):
        data["assets"][0]["lat_deg"] = "north"
        data["sensors"][1]["lon_deg"] = 500
        data["links"][0]["latency_s"] = data["links"][0].pop("latency_ms")
    paths = {p.path for p in _problems(tmp_path, _edited(edit))}
    assert {"assets[0].lat_deg", "sensors[1].lon_deg", "links[0].latency_s"} <= paths


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    lines = SMALL.read_text(encoding="utf-8").splitlines()
    bad = next(i for i, line in enumerate(lines) if line.startswith("  duration_s:"))
    lines[bad] = "  duration_s: [1200"
    (problem,) = _problems(tmp_path, text="\n".join(lines) + "\n")
    assert problem.path.startswith("line ") and ", column " in problem.path
    assert int(problem.path.split()[1].rstrip(",")) >= bad + 1
    assert "YAML syntax error" in problem.message and "expected valid YAML" in problem.message


@pytest.mark.parametrize(("text", "fragment"), [
    ("- a\n- b\n", "got list"),
    ("just a string\n", "got str"),
    ("42\n", "got int"),
])
def test_top_level_must_be_a_mapping(tmp_path, text, fragment):
    (problem,) = _problems(tmp_path, text=text)
    assert problem.path == "(top level)"
    assert fragment in problem.message and "expected a mapping of scenario sections" in problem.message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank", "comment"])
def test_empty_file(tmp_path, text):
    (problem,) = _problems(tmp_path, text=text)
    assert problem.path == "(top level)" and "expected a mapping" in problem.message


def test_file_not_found(tmp_path):
    path = tmp_path / "missing.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.file, problem.path) == (str(path), "(file)")
    assert "not found" in problem.message and "expected" in problem.message


@pytest.mark.parametrize("make", [
    lambda d: d,  # a directory
    lambda d: (d / "binary.yaml", (d / "binary.yaml").write_bytes(b"name: \xff\xfe\x00bad\n"))[0],
    lambda d: d / "nul\x00byte.yaml",
], ids=["directory", "not-utf8", "nul-in-path"])
def test_unreadable_file(tmp_path, make):
    with pytest.raises(ScenarioError) as info:
        load_scenario(make(tmp_path))
    (problem,) = info.value.problems
    assert problem.path == "(file)" and "expected" in problem.message


@pytest.mark.parametrize("text", [
    "settings: {duration_s: !!int abc}\n",
    "settings: {duration_s: !!float abc}\n",
    "date: 2020-13-45\n",
    "when: !!timestamp never\n",
    "name: !!python/object:os.system x\n",
    "[" * 3000 + "]" * 3000 + "\n",
], ids=["bad-int-tag", "bad-float-tag", "impossible-date", "bad-timestamp-tag", "python-tag", "deep-nesting"])
def test_unbuildable_yaml_values(tmp_path, text):
    (problem,) = _problems(tmp_path, text=text)
    assert "YAML" in problem.message


# -------------------------------------------------------------------------------------------------
# Fuzzing: nothing but ScenarioError, whatever the input.

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "scenario.yaml"


def _load_or_scenario_error(path: Path) -> None:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
        str(exc)


TOKENS = ["name:", "settings:", "duration_s:", "nations:", "threats:", "assets:", "- ", "  ", "\n", ":", "[",
          "]", "{", "}", ",", "'", '"', "&a ", "*a", "!!int ", "!!float ", "!!str ", "!!binary ", "!!timestamp ",
          "!!python/tuple ", "!!set ", "? ", "|", ">", "#", "---", "...", "0", "-1", "1e400", ".nan", ".inf",
          "2020-02-30", "12:30:00", "0x1F", "0o17", "~", "null", "yes", "no", "on", "lat_deg", "class", "\t",
          "\\", "%YAML 1.1", "<<: *a", "é", "\x00", "\x85"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(st.characters(exclude_categories=("Cs",)), max_size=12))
KEYS = st.sampled_from(["name", "id", "class", "settings", "duration_s", "nations", "territory", "lat_deg",
                        "lon_deg", "threats", "aim", "launch", "count", "links", "between", "catalog",
                        "missiles", "sensors", "x"]) | st.text(max_size=6) | st.integers()
STRUCTURES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(KEYS, inner, max_size=4), max_leaves=30)


@FUZZ
@given(text=st.text(st.characters(exclude_categories=("Cs",)), max_size=300))
def test_fuzz_random_text(fuzz_file, text):
    fuzz_file.write_text(text, encoding="utf-8")
    _load_or_scenario_error(fuzz_file)


@FUZZ
@given(tokens=st.lists(st.sampled_from(TOKENS), max_size=60))
def test_fuzz_yaml_like_text(fuzz_file, tokens):
    fuzz_file.write_text("".join(tokens), encoding="utf-8")
    _load_or_scenario_error(fuzz_file)


@FUZZ
@given(data=st.binary(max_size=200))
def test_fuzz_random_bytes(fuzz_file, data):
    fuzz_file.write_bytes(data)
    _load_or_scenario_error(fuzz_file)


@FUZZ
@given(structure=STRUCTURES)
def test_fuzz_random_structures(fuzz_file, structure):
    fuzz_file.write_text(yaml.safe_dump(structure), encoding="utf-8")
    _load_or_scenario_error(fuzz_file)


def _all_paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _all_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _all_paths(value, (*prefix, i))


SMALL_PATHS = list(_all_paths(SMALL_DATA))


def _mutate(data, path, op, value, key):
    if not path:
        return value if op == "replace" else data
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if op == "replace":
        parent[last] = value
    elif op == "delete":
        del parent[last]
    elif op == "add-key" and isinstance(parent[last], dict):
        parent[last][key] = value
    elif op == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    elif op == "swap-type":
        parent[last] = [parent[last]] if not isinstance(parent[last], list) else {"x": parent[last]}
    return data


@FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(SMALL_PATHS),
                                st.sampled_from(["replace", "delete", "add-key", "duplicate", "swap-type"]),
                                STRUCTURES, KEYS), min_size=1, max_size=4))
def test_fuzz_edits_of_the_small_example(edits):
    data = copy.deepcopy(SMALL_DATA)
    for path, op, value, key in edits:
        try:
            data = _mutate(data, path, op, value, key)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or retyped this path
    try:
        parse_scenario(data, "fuzz.yaml")
    except ScenarioError as exc:
        assert exc.problems and all(p.file == "fuzz.yaml" for p in exc.problems)
