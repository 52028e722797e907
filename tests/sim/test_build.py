"""Building a run from a scenario: a raid whose missile cannot reach its aim point is a scenario error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shieldwall.errors import ScenarioError
from shieldwall.scenario.loader import parse_scenario
from shieldwall.sim.build import plan_threats

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "small.yaml"


def test_unreachable_aim_point_names_the_threat_and_the_class_limit():
    data = yaml.safe_load(EXAMPLE.read_text())
    weak = {"description": "too slow for its targets", "source": "test", "burn_time_s": 60,
            "burnout_speed_max_kms": 1.0, "ballistic_coefficient_kgm2": 5000, "rcs_m2": 1.0,
            "nominal_range_km": [100, 1000]}
    data["catalog"] = {"missiles": {"weak-srbm": weak}}
    data["threats"][0]["class"] = "weak-srbm"
    data["threats"][2]["class"] = "weak-srbm"
    scenario = parse_scenario(data, "raid.yaml")
    with pytest.raises(ScenarioError) as err:
        plan_threats(scenario, "raid.yaml")
    lines = str(err.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["threats[0]", "threats[2]"]
    assert all(line.startswith("raid.yaml: ") and "burnout_speed_max_kms" in line for line in lines)
    assert "'srbm-stockholm'" in lines[0] and "'srbm-gothenburg'" in lines[1]


def test_reachable_raid_is_flown_in_scenario_order():
    scenario = parse_scenario(yaml.safe_load(EXAMPLE.read_text()), "small.yaml")
    threats, eph = plan_threats(scenario)
    assert len(threats.ids) == len(eph) == sum(t.count for t in scenario.threats)
    assert threats.ids[1:3] == ("srbm-copenhagen-1", "srbm-copenhagen-2")
    assert threats.group[:4] == (0, 1, 1, 2)
    assert (eph.impact_time_s > eph.launch_time_s).all()
