"""The HTML after-action report: self-contained, complete, escaped, deterministic, well-formed.

References: Python's own ``html.parser`` judges the markup; the figures asserted are the synthetic
metrics handed in, so every number in the page is checked against its source, not against earlier output.
"""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from plotly.offline import get_plotlyjs

from shieldwall.analysis.report import render_report
from shieldwall.scenario.loader import parse_scenario
from shieldwall.scenario.schema import Scenario

CATALOG = {
    "missiles": {"srbm-test": {"burn_time_s": 60, "burnout_speed_max_kms": 2.5, "ballistic_coefficient_kgm2": 5000,
                               "rcs_m2": 0.1, "nominal_range_km": [300, 1000]}},
    "sensors": {"radar-test": {"kind": "radar", "max_range_km": 800, "half_fov_az_deg": 60, "min_el_deg": 1,
                               "max_el_deg": 80, "revisit_s": 2}},
    "interceptors": {"upper-test": {"tier": "upper", "burnout_speed_kms": 3, "burn_time_s": 20, "min_alt_km": 40,
                                    "max_alt_km": 150, "max_range_km": 300, "reaction_time_s": 5, "pk": 0.8,
                                    "divert_km": 5}},
}


def scenario_dict(name: str = "Baltic shield test") -> dict:
    return {
        "name": name,
        "description": "Two nations & one shared radar <test>.",
        "settings": {"duration_s": 900, "seed": 42},
        "catalog": CATALOG,
        "nations": [
            {"id": "ALF", "name": "Alfland", "territory": [[54, 10], [58, 10], [58, 16], [54, 16]]},
            {"id": "BRV", "name": "Bravonia", "territory": [[54, 16], [58, 16], [58, 22], [54, 22]]},
        ],
        "c2_nodes": [
            {"id": "aoc", "kind": "alliance", "lat_deg": 56, "lon_deg": 15},
            {"id": "alf-c2", "kind": "national", "nation": "ALF", "lat_deg": 56, "lon_deg": 12},
            {"id": "brv-c2", "kind": "national", "nation": "BRV", "lat_deg": 56, "lon_deg": 19},
        ],
        "assets": [
            {"id": "alf-capital", "nation": "ALF", "lat_deg": 55.7, "lon_deg": 12.5, "radius_km": 20, "value": 100},
            {"id": "brv-port", "nation": "BRV", "lat_deg": 56.9, "lon_deg": 21.0, "radius_km": 10, "value": 30},
        ],
        "sensors": [
            {"id": "alf-radar", "class": "radar-test", "nation": "ALF", "lat_deg": 57, "lon_deg": 13,
             "reports_to": "alf-c2"},
        ],
        "batteries": [
            {"id": "alf-bat-1", "class": "upper-test", "nation": "ALF", "lat_deg": 55.8, "lon_deg": 12.7,
             "inventory": 8, "reports_to": "alf-c2"},
            {"id": "brv-bat-1", "class": "upper-test", "nation": "BRV", "lat_deg": 56.8, "lon_deg": 20.8,
             "inventory": 6, "authority": "national_approval", "reports_to": "brv-c2"},
        ],
        "threats": [
            {"id": "T", "class": "srbm-test", "launch": {"lat_deg": 59.5, "lon_deg": 22.0},
             "aim": {"asset": "alf-capital"}, "launch_time_s": 10, "count": 2, "spacing_s": 20},
        ],
    }


def make_scenario(name: str = "Baltic shield test") -> Scenario:
    """Through the loader when the built-in catalog exists; straight through the schema until then."""
    data = scenario_dict(name)
    try:
        return parse_scenario(data)
    except FileNotFoundError:
        return Scenario.model_validate(data)


def ev(t_s, kind, **kw) -> dict:
    row = {"t_s": float(t_s), "kind": kind, "node": "", "nation": "", "threat": "", "track": "", "battery": "",
           "interceptor": "", "lat_deg": math.nan, "lon_deg": math.nan, "alt_km": math.nan, "value": math.nan,
           "leaker": False, "detail": ""}
    row.update(kw)
    return row


def make_events() -> pd.DataFrame:
    return pd.DataFrame([
        ev(10, "threat_launch", threat="T-1", lat_deg=59.5, lon_deg=22.0, alt_km=0.0),
        ev(30, "threat_launch", threat="T-2", lat_deg=59.5, lon_deg=22.0, alt_km=0.0),
        ev(62, "first_detection", node="alf-radar", nation="ALF", threat="T-1", lat_deg=58.0, lon_deg=20.0),
        ev(64, "threat_evaluated", node="aoc", track="S1", value=100.0, detail="alf-capital"),
        ev(66, "message_lost", node="brv-c2", detail="TrackReport to aoc"),
        ev(70, "order", node="aoc", battery="alf-bat-1", threat="T-1", track="S1", nation="ALF"),
        ev(72, "approved", node="alf-c2", battery="alf-bat-1", nation="ALF", threat="T-1"),
        ev(75, "interceptor_launch", battery="alf-bat-1", nation="ALF", interceptor="I-1", threat="T-1"),
        ev(90, "order", node="aoc", battery="brv-bat-1", threat="T-2", nation="BRV"),
        ev(110, "denied", node="brv-c2", battery="brv-bat-1", nation="BRV", threat="T-2",
           detail="caveat: <b>not</b> over own territory"),
        ev(140, "intercept", battery="alf-bat-1", nation="ALF", interceptor="I-1", threat="T-1",
           lat_deg=56.5, lon_deg=18.0, alt_km=80.0),
        ev(150, "interceptor_launch", battery="alf-bat-1", nation="ALF", interceptor="I-2", threat="T-2"),
        ev(200, "miss", battery="alf-bat-1", nation="ALF", interceptor="I-2", threat="T-2"),
        ev(205, "interceptor_launch", battery="alf-bat-1", nation="ALF", interceptor="I-3", threat="T-2"),
        ev(260, "impact", threat="T-2", nation="ALF", lat_deg=55.71, lon_deg=12.52, alt_km=0.0, value=100.0,
           leaker=True),
    ])


def make_tracks() -> pd.DataFrame:
    t = np.arange(60.0, 250.0, 10.0)
    return pd.DataFrame({
        "t_s": np.concatenate([t, t[:8]]),
        "track": ["S1"] * len(t) + ["S2"] * 8,
        "alt_km": np.concatenate([150 - 0.5 * (t - 60), 120 - (t[:8] - 60)]),
        "lat_deg": 57.0, "lon_deg": 20.0,
        "pos_sigma_m": np.concatenate([2000.0 / (1 + t - 60), np.full(8, 900.0)]),
        "truth": ["T-1"] * len(t) + [""] * 8,
    })


METRICS = {
    "threats": 2, "leakers": 1, "intercepts": 1, "interceptors_fired": 3, "defended_value_lost": 100.0,
    "defended_value_total": 130.0, "seed": 7, "first_detection_s": 62.0, "mean_decision_latency_s": 37.25,
    "messages_sent": 4321, "messages_lost": 17,
    "nations": {
        "ALF": {"name": "Alfland", "assets": 1, "value_total": 100.0, "value_lost": 100.0, "interceptors_fired": 3,
                "interceptors_fired_for_others": 0, "kills": 1, "sensors": 1, "batteries": 1,
                "tracks_contributed": 2},
        "BRV": {"name": "Bravonia", "assets": 1, "value_total": 30.0, "value_lost": 0.0, "interceptors_fired": 0,
                "interceptors_fired_for_others": 0, "kills": 0, "sensors": 0, "batteries": 1,
                "tracks_contributed": 0},
    },
    "threat_timeline": [
        {"threat": "T-1", "class": "srbm-test", "launch_s": 10.0, "first_detection_s": 62.0, "first_track_s": 66.0,
         "first_order_s": 70.0, "first_launch_s": 75.0, "intercept_s": 140.0, "impact_s": None, "outcome": "killed"},
        {"threat": "T-2", "class": "srbm-test", "launch_s": 30.0, "first_detection_s": math.nan,
         "first_track_s": None, "first_order_s": 90.0, "first_launch_s": 150.0, "intercept_s": None,
         "impact_s": 260.0, "outcome": "leaker"},
    ],
}

COVERAGE = [{"sensor": "alf-radar", "nation": "ALF", "lat_deg": [57, 60, 60, 57], "lon_deg": [13, 10, 20, 13]}]


def render(**overrides) -> str:
    args = {"scenario": make_scenario(), "events": make_events(), "tracks": make_tracks(), "metrics": METRICS,
            "coverage": COVERAGE}
    args.update(overrides)
    return render_report(**args)


@pytest.fixture(scope="module")
def page() -> str:
    return render()


class Structure(HTMLParser):
    """Records tags, open/close balance of the main containers, external references and visible text."""

    VOID = {"meta", "br", "link", "img", "input", "hr", "col", "area", "base", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.refs: list[str] = []
        self.ids: list[str] = []
        self.scripts = 0
        self.opened: dict[str, int] = {}
        self.closed: dict[str, int] = {}
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.opened[tag] = self.opened.get(tag, 0) + 1
        self.refs += [a[k] for k in ("src", "href") if a.get(k)]
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "script":
            self.scripts += 1
            self._in_script = True
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        self.closed[tag] = self.closed.get(tag, 0) + 1
        if tag == "script":
            self._in_script = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()

    def handle_data(self, data):
        if not self._in_script:
            self.text.append(data)


def parse(page: str) -> Structure:
    parser = Structure()
    parser.feed(page)
    parser.close()
    return parser


def test_page_is_well_formed(page):
    p = parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert p.errors == []
    assert p.stack == []
    for tag in ("html", "head", "body", "main", "header", "nav", "footer", "table", "details", "section"):
        assert p.opened.get(tag, 0) == p.closed.get(tag, 0) > 0, tag
    assert p.opened["html"] == p.opened["head"] == p.opened["body"] == p.opened["main"] == 1
    assert len(p.ids) == len(set(p.ids))


def test_page_is_self_contained(page):
    p = parse(page)
    assert [r for r in p.refs if not r.startswith("#")] == []
    bundle = get_plotlyjs()
    assert page.count(bundle[:200]) == 1 and page.count(bundle[-200:]) == 1 and page.count(bundle) == 1
    ours = page.replace(bundle, "")  # the bundle's own code mentions URLs (its logo link) but loads none
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", ours, re.I)
    assert not re.search(r"https?://", ours)
    assert "<link" not in ours and "@import" not in ours and "url(" not in ours
    # plotly.js fetches its world basemap from a CDN whenever a base layer is shown: none may be.
    for layer in ("showland", "showcoastlines", "showcountries", "showocean", "showlakes", "showrivers"):
        assert f'"{layer}":true' not in page


def test_sections_and_names_present(page):
    p = parse(page)
    for section in ("summary", "map", "timeline", "tracks", "nations", "decisions", "events"):
        assert section in p.ids
    for div in ("sw-map", "sw-timeline", "sw-tracks"):
        assert p.ids.count(div) == 1
        assert re.search(rf'Plotly\.newPlot\(\s*"{div}"', page)
    text = " ".join(p.text)
    for words in ("Baltic shield test", "Alfland", "Bravonia", "Engagement timeline", "Per nation",
                  "Decision timeline", "Seed 7", "900 s (15.0 min)", "Fired for others", "Tracks contributed",
                  "First interceptor launch (s)"):
        assert words in text, words
    assert "Two nations &amp; one shared radar &lt;test&gt;." in page


def test_exact_figures_from_metrics(page):
    cards = re.findall(r'<div class="figure">([^<]*)</div><div class="label">([^<]*)</div>', page)
    assert dict((label, fig) for fig, label in cards) == {
        "Threats": "2", "Leakers": "1", "Intercepts": "1", "Interceptors fired": "3",
        "Defended value lost / total": "100 / 130", "First detection": "62.0 s",
        "Mean decision latency": "37.2 s", "Messages sent / lost": "4321 / 17",
    }
    nations = _table_rows(page, "nations")
    assert nations[0] == ["ID", "Nation", "Assets", "Defended value", "Value lost", "Interceptors fired",
                          "Fired for others", "Kills", "Sensors", "Batteries", "Tracks contributed"]
    assert nations[1] == ["ALF", "Alfland", "1", "100", "100", "3", "0", "1", "1", "1", "2"]
    assert nations[2] == ["BRV", "Bravonia", "1", "30", "0", "0", "0", "0", "0", "1", "0"]
    decisions = _table_rows(page, "decisions")
    assert decisions[0][:3] == ["Threat", "Class", "Launch (s)"]
    assert decisions[1] == ["T-1", "srbm-test", "10.0", "62.0", "66.0", "70.0", "75.0", "140.0", "", "killed"]
    assert decisions[2] == ["T-2", "srbm-test", "30.0", "", "", "90.0", "150.0", "", "260.0", "leaker"]


def _table_rows(page: str, section: str) -> list[list[str]]:
    body = page.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_events_table_and_figures_carry_the_run(page):
    rows = _table_rows(page, "events")
    kinds = [r[1] for r in rows[1:]]
    assert rows[0][:2] == ["Time (s)", "Kind"]
    assert "threat_evaluated" not in kinds and "message_lost" not in kinds  # routine: counted, not listed
    assert kinds.count("interceptor_launch") == 3 and "first_detection" in kinds and len(rows) == 14
    assert "caveat: &lt;b&gt;not&lt;/b&gt; over own territory" in page
    assert "First 13 of 13 notable events" in page and "15 events in all" in page
    assert "message_lost 1" in page and "threat_evaluated 1" in page
    for trace in ("Intercepts", "Impacts (leakers)", "Threat launches", "Threat flight to impact",
                  "Threat flight to intercept", "Interceptor: kill", "Interceptor: miss", "Interceptor: no result",
                  "Denied", "Approved", "Order", "Sensor coverage", "Defended assets", "Batteries",
                  "Sensor: radar-test", "S1 (T-1)", "S2 (no truth)"):
        assert f'"{trace}' in page, trace
    assert "I-3 from alf-bat-1 (Alfland)\\u003cbr\\u003ethreat T-2, no result, 205\\u2013260 s" in page
    assert "I-1 from alf-bat-1 (Alfland)\\u003cbr\\u003ethreat T-1, kill, 75\\u2013140 s" in page


def test_user_text_is_escaped():
    evil = 'Red </script><script>alert("x")</script> & co'
    page = render(scenario=make_scenario(evil))
    assert "<script>alert" not in page
    assert "Red &lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in page
    p = parse(page)
    assert p.errors == [] and p.stack == []
    assert p.scripts == page.replace(get_plotlyjs(), "").count("<script")


def test_same_inputs_same_page(page):
    assert render() == page


def test_empty_run_still_renders():
    empty_events = pd.DataFrame({c: pd.Series(dtype=object) for c in make_events().columns})
    page = render(events=empty_events, tracks=pd.DataFrame(), metrics={}, coverage=[])
    p = parse(page)
    assert p.errors == [] and p.stack == []
    assert "No system tracks were recorded" in page and "sw-tracks" not in page
    assert "Seed 42" in page and "0 events in all" in page  # no metrics: the scenario's seed
    assert "No per-nation figures" in page and "No per-threat timeline" in page
    assert "sw-map" in p.ids and "sw-timeline" in p.ids
    assert render(events=pd.DataFrame(), tracks=pd.DataFrame(), metrics={}, coverage=[]) == page


def test_basemap_is_embedded_when_given():
    topology = {"type": "Topology", "objects": {"land": {"type": "GeometryCollection", "geometries": []}},
                "arcs": [], "note": "</script>"}
    page = render(basemap=topology)
    assert 'window.PlotlyGeoAssets.topojson["world_110m"]' in page
    assert '"showcoastlines":true' in page and '"showland":true' in page
    script = page.split("window.PlotlyGeoAssets.topojson[\"world_110m\"] = ", 1)[1].split(";</script>", 1)[0]
    assert json.loads(script) == topology
    assert parse(page).errors == []


def test_policy_section_counts_each_rule_decision():
    audit = [{"seq": 0, "kind": "run", "rule": "", "t_s": 0.0},
             {"seq": 1, "kind": "withheld", "rule": "sharing:ALF:tracks", "t_s": 2.0},
             {"seq": 2, "kind": "withheld", "rule": "sharing:ALF:tracks", "t_s": 4.0},
             {"seq": 3, "kind": "caveat", "rule": "overflight:BRV", "t_s": 6.0},
             {"seq": 4, "kind": "seal", "rule": "", "t_s": 9.0}]
    page = render(audit=audit)
    section = page[page.index('<section id="policy">'):page.index('<section id="events">')]
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S) for r in rows]
    body = [[c.strip() for c in row] for row in cells[1:]]
    # Header and seal are not decisions; the two withholdings are one row with their first and last times.
    assert [row[:3] for row in body] == [["caveat", "overflight:BRV", "1"], ["withheld", "sharing:ALF:tracks", "2"]]
    assert "No audit log" in render()
