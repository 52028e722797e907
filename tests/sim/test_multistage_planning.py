"""Multi-stage planning against one-shot greedy in a two-wave raid with scarce upper-tier rounds.

The scenario (built from the small example): a lower-tier battery at Copenhagen (12 rounds) and an
upper-tier battery in central Osterland with 2 rounds, its floor lowered to 20 km so it can reach
SRBMs; wave 1 is two SRBMs at Copenhagen (both tiers can engage them, the upper tier first), wave 2,
five minutes later, two SRBMs at the Gothenburg port (only the upper tier reaches it). One-shot
greedy fires the upper tier at wave 1 as soon as it is ready and has nothing left for wave 2;
multi-stage planning, told to expect two threats at the port, leaves wave 1 to the lower tier.

Reference: the expected surviving value of each run, computed from its orders and the truth of
which threat each order engaged (value of the threat's aim asset times (1 - pk) per interceptor);
and the defended value actually lost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import shieldwall
from shieldwall.scenario.loader import load_scenario
from shieldwall.scenario.schema import Scenario

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEEP = {"vs-lt-copenhagen": 12, "ol-ut-central": 2}


def two_waves(planning: str, solver: str) -> Scenario:
    d = load_scenario(EXAMPLES / "small.yaml").model_dump(by_alias=True)
    d["catalog"]["interceptors"]["upper-tier"]["min_alt_km"] = 20.0
    d["batteries"] = [dict(b, inventory=KEEP[b["id"]]) for b in d["batteries"] if b["id"] in KEEP]
    nodes = {c["id"] for c in d["c2_nodes"]} | {x["id"] for x in d["sensors"]} | set(KEEP)
    d["links"] = [k for k in d["links"] if set(k["between"]) <= nodes]
    threats = {t["id"]: t for t in d["threats"]}
    d["threats"] = [dict(threats["srbm-copenhagen"], count=2, spacing_s=20),
                    dict(threats["srbm-gothenburg"], launch_time_s=500, count=2, spacing_s=20)]
    d["settings"]["duration_s"] = 1100
    d["assignment"] = {"solver": solver, "planning": planning,
                       "expected_threats": [{"asset": "ol-gothenburg-port", "count": 2}]}
    return Scenario.model_validate(d)


def expected_surviving_value(result, scenario: Scenario) -> float:
    """Sum over true threats of its aim asset's value times (1 - pk) for every interceptor launched
    at it (the launch record names the true threat it flies at)."""
    pk = {b.id: scenario.catalog.interceptors[b.interceptor_class].pk for b in scenario.batteries}
    value = {a.id: a.value for a in scenario.assets}
    survive = {f"{t.id}-{k + 1}": value[t.aim.asset] for t in scenario.threats for k in range(t.count)}
    launches = result.events[result.events.kind == "interceptor_launch"]
    for threat, battery in zip(launches.threat, launches.battery):
        survive[threat] *= 1.0 - pk[battery]
    return float(sum(survive.values()))


@pytest.fixture(scope="module")
def runs():
    out = {}
    for planning, solver in (("one-shot", "greedy"), ("multi-stage", "auto")):
        scenario = two_waves(planning, solver)
        out[planning] = (scenario, [shieldwall.run(scenario, seed=seed) for seed in (1, 2)])
    return out


def test_multi_stage_holds_the_upper_tier_for_the_second_wave(runs):
    for planning, (scenario, results) in runs.items():
        for r in results:
            orders = r.events[r.events.kind == "order"]
            upper_t = orders[orders.battery == "ol-ut-central"].t_s
            if planning == "one-shot":  # the upper tier fires at wave 1 (before wave 2 launches)
                assert len(upper_t) and upper_t.min() < 500
            else:  # it waits for wave 2
                assert len(upper_t) and upper_t.min() > 500


def test_multi_stage_beats_one_shot_greedy_on_expected_surviving_value(runs):
    esv = {p: np.mean([expected_surviving_value(r, s) for r in results]) for p, (s, results) in runs.items()}
    lost = {p: np.mean([r.metrics["defended_value_lost"] for r in results]) for p, (_, results) in runs.items()}
    assert esv["multi-stage"] < esv["one-shot"]
    assert lost["multi-stage"] <= lost["one-shot"]
