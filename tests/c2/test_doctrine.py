"""Doctrine in the planner: salvo caps (value, shoot-look-shoot, raid negation) and interceptor costs.

References: the closed forms of the salvo rules (shots n with 1 - (1 - pk)^n >= P_RN^(1/N)) and the
doctrine's own tier costs.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.c2.planner import MAX_SALVO, PlanningContext, _salvo
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec

DOCTRINE = DoctrineSpec(salvo_size=1, high_value_salvo_size=2, high_value_threshold=50.0, shoot_look_shoot=True,
                        kill_assessment_delay_s=8.0, allow_duplicate_engagements=False, decision_period_s=2.0)


def test_value_and_second_look_set_the_salvo():
    value = np.array([10.0, 60.0, 10.0])
    second = np.array([[True, True, False]])
    np.testing.assert_array_equal(_salvo(DOCTRINE, value, np.full((1, 3), 0.7), second), [1, 2, 2])
    ssl = dataclasses.replace(DOCTRINE, shoot_look_shoot=False)
    np.testing.assert_array_equal(_salvo(ssl, value, np.full((1, 3), 0.7), second), [2, 2, 2])


@settings(max_examples=100, deadline=None)
@given(st.floats(0.05, 0.99), st.lists(st.floats(0.05, 0.95), min_size=1, max_size=6))
def test_raid_negation_salvo_is_the_fewest_shots_that_reach_it(p_rn, pks):
    d = dataclasses.replace(DOCTRINE, min_raid_negation=p_rn, salvo_size=1, high_value_salvo_size=1)
    pk = np.array([pks])
    salvo = _salvo(d, np.ones(len(pks)), pk, np.ones_like(pk, bool))
    per_threat = p_rn ** (1.0 / len(pks))
    for n, p in zip(salvo, pks):
        need = next((k for k in range(1, 100) if 1 - (1 - p) ** k >= per_threat - 1e-12), 100)
        assert n == max(1, min(need, MAX_SALVO))
    if np.all(salvo < MAX_SALVO):  # the raid is then negated with at least the doctrine's probability
        assert math.prod(1 - (1 - p) ** n for n, p in zip(salvo, pks)) >= p_rn - 1e-9


def test_interceptor_cost_follows_the_tier():
    def battery(i, tier):
        return BatterySpec(id=f"b{i}", nation="n1", reports_to="c2", authority="delegated", tier=tier,
                           ecef=np.array([6.4e6, 0.0, 0.0]), burnout_speed_ms=3000.0, burn_time_s=10.0, min_alt_m=0.0,
                           max_alt_m=1e5, max_range_m=1e5, reaction_time_s=5.0, pk=0.8, divert_m=1e3,
                           fire_channels=2, inventory=4, defends=None)

    assets = AssetTable(("a",), ("n1",), np.array([[6.4e6, 0.0, 0.0]]), np.array([1e4]), np.array([100.0]))
    d = dataclasses.replace(DOCTRINE, interceptor_cost=(("lower", 1.5), ("upper", 8.0)))
    ctx = PlanningContext("x", [battery(0, "upper"), battery(1, "mid"), battery(2, "lower")], assets, d, np.zeros(3))
    np.testing.assert_array_equal(ctx.cost, [8.0, 0.0, 1.5])
    assert ctx.expected_value.size == 0 and ctx.expected_pk.shape == (3, 0)
    staged = dataclasses.replace(d, planning="multi-stage", expected_threats=(("a", 2, 0.5),))
    ctx = PlanningContext("x", [battery(0, "upper")], assets, staged, np.zeros(1))
    np.testing.assert_array_equal(ctx.expected_value, [50.0, 50.0])
    np.testing.assert_array_equal(ctx.expected_pk, [[0.8, 0.8]])
