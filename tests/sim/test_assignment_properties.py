"""Every engagement the planners order respects inventory, engagement windows, national caveats and
command authority, whatever the solver, planning horizon and force lay-down (property test over
random variations of the small example).

References: the scenario itself (inventories, each class's altitude band and range, each battery's
``defends`` list and authority) and the truth of which threat each interceptor flew at.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shieldwall
from shieldwall import geo
from shieldwall.scenario.loader import load_scenario
from shieldwall.scenario.schema import Scenario

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "small.yaml"
BASE = load_scenario(EXAMPLE).model_dump(by_alias=True)
NATIONS = [n["id"] for n in BASE["nations"]]
ASSETS = [a["id"] for a in BASE["assets"]]
#: Tolerance on the altitude band and range [km]: the kill vehicle meets the threat near, not at, the
#: planned intercept point.
SLACK_KM = 5.0


@st.composite
def variations(draw) -> tuple[Scenario, int]:
    d = {**BASE, "batteries": [], "doctrine": dict(BASE["doctrine"])}
    for b in BASE["batteries"]:
        defends = draw(st.one_of(st.none(), st.lists(st.sampled_from(NATIONS), min_size=1, max_size=3, unique=True)))
        d["batteries"].append(dict(b, inventory=draw(st.integers(0, 8)), defends=defends,
                                   authority=draw(st.sampled_from(["delegated", "national_approval", "national_only"]))))
    d["doctrine"]["allow_duplicate_engagements"] = draw(st.booleans())
    d["doctrine"]["interceptor_cost"] = draw(st.sampled_from([{}, {"upper": 5.0, "lower": 1.0}]))
    d["assignment"] = {"solver": draw(st.sampled_from(["auto", "exact", "fast", "greedy"])),
                       "planning": draw(st.sampled_from(["one-shot", "multi-stage"])),
                       "expected_threats": [{"asset": draw(st.sampled_from(ASSETS)), "count": draw(st.integers(1, 3))}]}
    # A delegated or approval battery must reach the alliance node: link them all to it.
    links = [k for k in BASE["links"] if "alliance-bmdoc" not in k["between"] or
             not any(k["between"][i] == b["id"] for b in BASE["batteries"] for i in (0, 1))]
    links += [{"between": [b["id"], "alliance-bmdoc"], "kind": "terrestrial", "latency_ms": 10.0}
              for b in d["batteries"]]
    d["links"] = links
    return Scenario.model_validate(d), draw(st.integers(0, 1000))


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(variations())
def test_orders_respect_inventory_windows_caveats_and_authority(case):
    scenario, seed = case
    ev = shieldwall.run(scenario, seed=seed).events
    batteries = {b.id: b for b in scenario.batteries}
    classes = {b.id: scenario.catalog.interceptors[b.interceptor_class] for b in scenario.batteries}
    aim_nation = {}
    nation_of = {a.id: a.nation for a in scenario.assets}
    for t in scenario.threats:
        for k in range(t.count):
            aim_nation[t.id if t.count == 1 else f"{t.id}-{k + 1}"] = nation_of.get(t.aim.asset)
    launches = ev[ev.kind == "interceptor_launch"]
    for b in scenario.batteries:  # inventory
        assert (launches.battery == b.id).sum() <= b.inventory
    for _, row in ev[ev.kind.isin(["intercept", "miss"])].iterrows():  # windows
        c, b = classes[row.battery], batteries[row.battery]
        assert c.min_alt_km - SLACK_KM <= row.alt_km <= c.max_alt_km + SLACK_KM
        point = geo.geodetic_to_ecef(np.radians(row.lat_deg), np.radians(row.lon_deg), row.alt_km * 1e3)
        site = geo.geodetic_to_ecef(np.radians(b.lat_deg), np.radians(b.lon_deg), 0.0)
        assert np.linalg.norm(point - site) <= (c.max_range_km + SLACK_KM) * 1e3
    for _, row in launches[launches.threat != ""].iterrows():  # caveats
        defends = batteries[row.battery].defends
        assert aim_nation[row.threat] is not None
        assert defends is None or aim_nation[row.threat] in defends
    orders = ev[ev.kind == "order"]  # authority
    approved = ev[ev.kind == "approved"]
    for _, order in orders.iterrows():
        b = batteries[order.battery]
        assert (order.node == b.reports_to) == (b.authority == "national_only")
    for _, fire in ev[ev.kind == "battery_launch_decision"].iterrows():
        if batteries[fire.battery].authority == "national_approval":
            assert ((approved.order == fire.order) & (approved.t_s <= fire.t_s)).sum() == 1
