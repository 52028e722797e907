"""The WTA solvers against exhaustive enumeration, their proofs against their own claims, and every
plan against the constraints.

References: brute-force enumeration of every feasible shot matrix (:mod:`wta_reference`) on
literature instances up to 6 weapons x 5 targets and on general problems (inventories, channels,
salvo caps, engaged threats, costs, one battery per threat); for the exact solver's column
enumeration, a brute-force listing of every plan with its reduced cost.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wta_reference import brute_force

from shieldwall.engage.exact import _envelope_bound, enumerate_plans
from shieldwall.engage.problem import WtaProblem, literature_instance, load_problem
from shieldwall.engage.solvers import SOLVERS, solve


@st.composite
def general_problems(draw, max_b=4, max_t=4):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_b, n_t = draw(st.integers(1, max_b)), draw(st.integers(1, max_t))
    pk = rng.uniform(0.0, 0.95, (n_b, n_t)) * (rng.random((n_b, n_t)) < 0.8)
    return WtaProblem(rng.uniform(0.0, 10.0, n_t), pk, rng.integers(0, 3, n_b), rng.integers(1, n_t + 1, n_b),
                      rng.integers(1, 3, n_t), rng.random(n_t) < 0.2,
                      rng.uniform(0.0, 1.0, n_b) * draw(st.booleans()), one_battery_per_threat=draw(st.booleans()))


@st.composite
def literature_problems(draw):
    return literature_instance(draw(st.integers(1, 6)), draw(st.integers(1, 5)), draw(st.integers(0, 2**32 - 1)))


@settings(max_examples=60, deadline=None)
@given(literature_problems())
def test_fast_and_exact_match_brute_force(problem):
    best, _ = brute_force(problem)
    for solver in ("fast", "exact"):
        result = solve(problem, solver)
        assert not problem.violations(result.counts)
        assert result.objective == pytest.approx(best, rel=1e-9, abs=1e-9), solver
    exact = solve(problem, "exact")
    assert exact.bound <= best + 1e-9 and exact.gap <= 1e-9


#: The fast solver is a heuristic: on the general problems (salvo caps, fire channels, several rounds per
#: battery, one battery per threat, costs) it misses the optimum now and then (2 of 1,500 random ones,
#: by at most 3.2 %, when this was written); it must stay feasible and close.
FAST_GENERAL_TOLERANCE = 0.05


@settings(max_examples=60, deadline=None, derandomize=True)  # a fixed sample: the rare miss above is measured, not drawn
@given(general_problems())
def test_exact_matches_brute_force_and_fast_comes_close_on_general_problems(problem):
    best, _ = brute_force(problem)
    exact = solve(problem, "exact")
    assert not problem.violations(exact.counts)
    assert exact.objective == pytest.approx(best, rel=1e-9, abs=1e-9)
    assert exact.bound <= best + 1e-9 and exact.gap <= 1e-9
    fast = solve(problem, "fast")
    assert not problem.violations(fast.counts)
    assert best - 1e-9 <= fast.objective <= best * (1.0 + FAST_GENERAL_TOLERANCE) + 1e-9


def test_fast_finds_exchanges_two_moves_deep():
    # Found by the property test above: battery 3 holds threats 0 and 1 with one round each and battery
    # 1 holds threat 2; the optimum trades threat 1 for threat 2 and puts both of battery 3's rounds on
    # threat 2, which no single move reaches (each step alone is worse).
    p = WtaProblem(np.array([0.69085777, 3.4173407, 9.34256588, 8.00557367]),
                   np.array([[0.65299808, 0.78261225, 0.01935563, 0.93655119],
                             [0.32723764, 0.75416205, 0.3999466, 0.80954797],
                             [0.31569354, 0.86377994, 0.0788542, 0.56312162],
                             [0.04763966, 0.39928214, 0.18393074, 0.6254087]]),
                   np.array([1, 1, 0, 2]), np.array([3, 4, 3, 4]), np.array([1, 1, 2, 1]), np.zeros(4, bool),
                   np.zeros(4), one_battery_per_threat=True)
    best, _ = brute_force(p)
    assert solve(p, "fast").objective == pytest.approx(best, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(general_problems(max_b=6, max_t=8), st.sampled_from(SOLVERS))
def test_every_plan_is_feasible_and_its_objective_is_recomputed(problem, solver):
    result = solve(problem, solver)
    n = result.counts
    assert not problem.violations(n)
    # Independent checks of each constraint and of the objective.
    assert np.all(n.sum(axis=1) <= problem.inventory) and np.all((n > 0).sum(axis=1) <= problem.channels)
    assert np.all(n.sum(axis=0) <= problem.salvo) and not n[:, problem.engaged].any()
    assert not np.any((n > 0) & (problem.pk == 0))
    if problem.one_battery_per_threat:
        assert np.all((n > 0).sum(axis=0) <= 1)
    expected = np.sum(problem.value * np.prod((1.0 - problem.pk) ** n, axis=0)) + problem.cost @ n.sum(axis=1)
    assert result.objective == pytest.approx(expected, rel=1e-12)


def test_exact_proves_the_literature_instances_and_fast_is_near():
    for seed in range(3):
        problem = literature_instance(40, 40, seed)
        exact, fast, greedy = (solve(problem, s) for s in ("exact", "fast", "greedy"))
        assert exact.gap <= 1e-9 and exact.bound <= exact.objective + 1e-9
        assert exact.objective <= fast.objective + 1e-9 <= greedy.objective + 2e-9
        assert fast.objective <= exact.objective * 1.005


def test_fast_beats_the_greedys_known_trap():
    """Two single-round batteries, pk [[0.9, 0.8], [0.8, 0.1]], two equal threats: greedy leaves 1.0,
    the optimum 0.4 (battery 0 on threat 1, battery 1 on threat 0)."""
    problem = WtaProblem(np.ones(2), np.array([[0.9, 0.8], [0.8, 0.1]]), [1, 1], [1, 1], 1)
    assert solve(problem, "greedy").objective == pytest.approx(1.0)
    for solver in ("fast", "exact"):
        result = solve(problem, solver)
        assert result.objective == pytest.approx(0.4)
        np.testing.assert_array_equal(result.counts, [[0, 1], [1, 0]])


def test_costs_stop_shots_that_remove_less_than_they_cost():
    # One threat of value 10, pk 0.5: shots remove 5, 2.5, 1.25, ... ; at cost 2 only two are worth it.
    problem = WtaProblem([10.0], [[0.5]], [5], cost=[2.0])
    for solver in SOLVERS:
        result = solve(problem, solver)
        assert result.counts[0, 0] == 2 and result.objective == pytest.approx(10 * 0.25 + 4.0)


def _all_plans(problem, t):
    """Every non-empty plan of threat t as (bats, shots), by enumeration of shot vectors."""
    p = problem
    top = np.minimum(p.inventory, p.salvo[t]) * (p.pk[:, t] > 0) * (not p.engaged[t])
    for shots in itertools.product(*(range(int(k) + 1) for k in top)):
        shots = np.array(shots)
        if 0 < shots.sum() <= p.salvo[t] and (not p.one_battery_per_threat or (shots > 0).sum() == 1):
            bats = np.flatnonzero(shots)
            yield bats, shots[bats]


@settings(max_examples=80, deadline=None)
@given(general_problems(max_b=4, max_t=2), st.integers(0, 2**32 - 1))
def test_column_enumeration_finds_every_plan_within_the_threshold(problem, seed):
    rng = np.random.default_rng(seed)
    n_b, n_t = problem.shape
    m, r = rng.uniform(0, 3, n_b) * (rng.random(n_b) < 0.8), rng.uniform(0, 2, n_b) * (rng.random(n_b) < 0.5)
    for t in range(n_t):
        sigma, threshold = rng.uniform(0, 10), rng.uniform(-2, 3)
        expected = {}
        for bats, shots in _all_plans(problem, t):
            rc = problem.value[t] * np.prod((1 - problem.pk[bats, t]) ** shots) + m[bats] @ shots + r[bats].sum() - sigma
            if rc <= threshold:
                expected[(tuple(bats), tuple(shots))] = rc
        found = {}
        for bats, shots, rc in enumerate_plans(problem, t, sigma, m, r, threshold, 10_000):
            order = np.argsort(bats)
            found[(tuple(bats[order]), tuple(shots[order]))] = rc
        assert found.keys() == expected.keys()
        for key, rc in expected.items():
            assert found[key] == pytest.approx(rc, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e3), st.floats(0, 50), st.floats(0, 20), st.lists(st.floats(0.05, 3.0), min_size=1, max_size=6))
def test_envelope_bound_is_below_every_completion(P, rate, cap, cuts):
    """P e^-y + rate y over 0 <= y <= cap lower-bounds any set of shots of log-kill a_i (total within
    the cap) priced at least rate per unit log-kill."""
    bound = float(_envelope_bound(np.array(P), np.array(rate), np.array(cap)))
    for k in range(len(cuts) + 1):
        for subset in itertools.combinations(cuts, k):
            y = sum(subset)
            if y <= cap:
                assert bound <= P * np.exp(-y) + rate * y + 1e-9


def test_exact_reports_a_bound_when_stopped_early():
    problem = literature_instance(60, 60, 7)
    result = solve(problem, "exact", time_limit_s=1e-6)
    assert not problem.violations(result.counts)
    assert result.bound <= solve(problem, "exact").objective + 1e-9


def test_bad_problems_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="pk must lie in"):
        WtaProblem([1.0], [[1.5]], [1])
    with pytest.raises(ValueError, match="expected one column per threat"):
        WtaProblem([1.0, 2.0], [[0.5]], [1])
    with pytest.raises(ValueError, match="engaged must hold true/false values"):
        WtaProblem([1.0], [[0.5]], [1], engaged=["yes"])
    with pytest.raises(ValueError, match=r"inventory must be integers in \[0, 1,000,000\]"):
        WtaProblem([1.0], [[0.5]], [1e19])
    with pytest.raises(ValueError, match="unknown solver"):
        solve(WtaProblem([1.0], [[0.5]], [1]), "magic")
    path = tmp_path / "bad.json"
    path.write_text('{"value": [1], "pk": [[0.5]], "inventory": [1], "colour": 3}')
    with pytest.raises(ValueError, match="unknown key 'colour'"):
        load_problem(path)
