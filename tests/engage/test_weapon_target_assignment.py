"""Maximum-marginal-return assignment against exhaustive enumeration and random feasible assignments.

References: every feasible shot-count matrix of small instances (brute force), where the greedy is known
to be optimal (kill probability depending only on the threat; each threat reachable by one battery);
random feasible assignments; and the 1/3 guarantee of greedy maximisation of a monotone submodular
function over the intersection of two partition matroids (inventory, salvo) otherwise.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.engage.assignment import expected_surviving_value, greedy_assignment


def brute_force_assignment(value, pk, inventory, channels, salvo, engaged=None, one_battery_per_threat=False):
    """Optimal (minimum expected surviving value) assignment of a small instance, by enumeration.

    Returns (esv, counts (B, T)). Only useful for B * T up to ~10 cells with a few shots each.
    """
    n_b, n_t = pk.shape
    salvo = np.broadcast_to(salvo, (n_t,))
    engaged = np.zeros(n_t, bool) if engaged is None else engaged
    top = int(max(salvo.max(), 0))
    grid = np.array(list(itertools.product(range(top + 1), repeat=n_b * n_t)), np.int64).reshape(-1, n_b, n_t)
    ok = np.all(grid.sum(axis=2) <= inventory, axis=1)
    ok &= np.all(grid.sum(axis=1) <= salvo, axis=1)
    ok &= np.all((grid > 0).sum(axis=2) <= channels, axis=1)
    ok &= np.all(grid[:, :, engaged] == 0, axis=(1, 2))
    if one_battery_per_threat:
        ok &= np.all((grid > 0).sum(axis=1) <= 1, axis=1)
    grid = grid[ok]
    esv = np.sum(value * np.prod((1.0 - pk) ** grid, axis=1), axis=1)
    best = int(np.argmin(esv))
    return esv[best], grid[best]


def _counts(assignment, shape):
    counts = np.zeros(shape, np.int64)
    for b, t, n in assignment:
        counts[b, t] += n
    return counts


def _random_feasible(rng, pk, inventory, channels, salvo, engaged=None):
    """A random assignment respecting every constraint: shots added at random until none is allowed
    (or a random stop)."""
    n_b, n_t = pk.shape
    salvo = np.broadcast_to(salvo, (n_t,))
    engaged = np.zeros(n_t, bool) if engaged is None else engaged
    counts = np.zeros((n_b, n_t), np.int64)
    stop = rng.integers(0, int(inventory.sum()) + 1)
    for _ in range(stop):
        allowed = ((counts.sum(axis=1) < inventory)[:, None] & (counts.sum(axis=0) < salvo)[None, :] & ~engaged
                   & ((counts > 0) | ((counts > 0).sum(axis=1) < channels)[:, None]))
        cells = np.argwhere(allowed)
        if not len(cells):
            break
        b, t = cells[rng.integers(len(cells))]
        counts[b, t] += 1
    return np.array([(b, t, counts[b, t]) for b, t in np.argwhere(counts > 0)], np.int64).reshape(-1, 3)


def _check_constraints(a, pk, inventory, channels, salvo, engaged=None):
    n_b, n_t = pk.shape
    counts = _counts(a, pk.shape)
    assert a.shape[1:] == (3,) and a.dtype.kind == "i"
    assert len({(b, t) for b, t, _ in a}) == len(a) and np.all(a[:, 2] >= 1)
    assert np.all(counts.sum(axis=1) <= inventory)
    assert np.all((counts > 0).sum(axis=1) <= channels)
    assert np.all(counts.sum(axis=0) <= np.broadcast_to(salvo, (n_t,)))
    assert np.all(pk[counts > 0] > 0)
    if engaged is not None:
        assert not counts[:, engaged].any()
    return counts


@st.composite
def instances(draw, pk_kind="general", max_b=3, max_t=3, binding_channels=True):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_b, n_t = draw(st.integers(1, max_b)), draw(st.integers(1, max_t))
    value = rng.uniform(0.0, 10.0, n_t).round(2)
    if pk_kind == "per_threat":  # every battery has the same pk against a given threat
        pk = np.broadcast_to(rng.uniform(0.05, 0.95, n_t), (n_b, n_t)).copy()
    elif pk_kind == "one_battery_per_threat":  # each threat reachable by exactly one battery
        pk = np.zeros((n_b, n_t))
        pk[rng.integers(n_b, size=n_t), np.arange(n_t)] = rng.uniform(0.05, 0.95, n_t)
    else:
        pk = rng.uniform(0.0, 0.95, (n_b, n_t)) * (rng.random((n_b, n_t)) < 0.8)
    inventory = rng.integers(0, 3, n_b)
    channels = rng.integers(1, n_t + 1, n_b) if binding_channels else np.full(n_b, n_t)
    salvo = rng.integers(1, 3, n_t)
    return value, pk, inventory, channels, salvo, rng


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(["per_threat", "one_battery_per_threat"]).flatmap(
    lambda kind: instances(pk_kind=kind, binding_channels=False)))
def test_greedy_optimal_when_pk_depends_only_on_threat_or_each_threat_has_one_battery(inst):
    value, pk, inventory, channels, salvo, _ = inst
    a = greedy_assignment(value, pk, inventory, channels, salvo)
    best, _ = brute_force_assignment(value, pk, inventory, channels, salvo)
    assert expected_surviving_value(value, pk, a) == pytest.approx(best, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(instances(pk_kind="per_threat", binding_channels=False), st.integers(0, 2**32 - 1))
def test_greedy_never_worse_than_random_where_mmr_is_exact(inst, seed):
    value, pk, inventory, channels, salvo, _ = inst
    rng = np.random.default_rng(seed)
    greedy = expected_surviving_value(value, pk, greedy_assignment(value, pk, inventory, channels, salvo))
    for _ in range(5):
        random = expected_surviving_value(value, pk, _random_feasible(rng, pk, inventory, channels, salvo))
        assert greedy <= random + 1e-9


@settings(max_examples=80, deadline=None)
@given(instances(binding_channels=False))
def test_greedy_keeps_a_third_of_the_optimal_value_removed(inst):
    value, pk, inventory, channels, salvo, rng = inst
    a = greedy_assignment(value, pk, inventory, channels, salvo)
    best, _ = brute_force_assignment(value, pk, inventory, channels, salvo)
    removed = value.sum() - expected_surviving_value(value, pk, a)
    assert removed >= (value.sum() - best) / 3 - 1e-9
    for _ in range(5):  # hence never below a third of what a random assignment removes
        random = _random_feasible(rng, pk, inventory, channels, salvo)
        assert removed >= (value.sum() - expected_surviving_value(value, pk, random)) / 3 - 1e-9


@settings(max_examples=100, deadline=None)
@given(instances(max_b=5, max_t=6), st.booleans(), st.booleans())
def test_greedy_respects_constraints_and_stops_only_when_nothing_helps(inst, use_engaged, one_per_threat):
    value, pk, inventory, channels, salvo, rng = inst
    engaged = rng.random(len(value)) < 0.3 if use_engaged else None
    a = greedy_assignment(value, pk, inventory, channels, salvo, engaged, one_battery_per_threat=one_per_threat)
    counts = _check_constraints(a, pk, inventory, channels, salvo, engaged)
    if one_per_threat:
        assert np.all((counts > 0).sum(axis=0) <= 1)
    # Maximality: no further allowed shot would remove expected value.
    surviving = value * np.prod((1.0 - pk) ** counts, axis=0)
    open_t = np.ones(len(value), bool) if engaged is None else ~engaged
    allowed = ((counts.sum(axis=1) < inventory)[:, None] & (counts.sum(axis=0) < salvo)[None, :] & open_t
               & ((counts > 0) | ((counts > 0).sum(axis=1) < channels)[:, None]))
    if one_per_threat:
        allowed &= (counts > 0) | ((counts > 0).sum(axis=0) == 0)[None, :]
    assert not np.any(allowed & (surviving * pk > 0))


@settings(max_examples=60, deadline=None)
@given(instances(pk_kind="one_battery_per_threat", binding_channels=False))
def test_one_battery_per_threat_changes_nothing_when_each_threat_has_one_battery(inst):
    value, pk, inventory, channels, salvo, _ = inst
    np.testing.assert_array_equal(greedy_assignment(value, pk, inventory, channels, salvo),
                                  greedy_assignment(value, pk, inventory, channels, salvo, one_battery_per_threat=True))


def test_known_limitation_of_greedy():
    """The documented instance where MMR is beaten: 1.0 value removed where 1.6 is possible."""
    value, pk = np.ones(2), np.array([[0.9, 0.8], [0.8, 0.1]])
    a = greedy_assignment(value, pk, inventory=[1, 1], channels=[1, 1], salvo=1)
    np.testing.assert_array_equal(a, [[0, 0, 1], [1, 1, 1]])
    assert expected_surviving_value(value, pk, a) == pytest.approx(1.0)
    assert brute_force_assignment(value, pk, np.array([1, 1]), np.array([1, 1]), 1)[0] == pytest.approx(0.4)


def test_hand_worked_salvo_and_ties():
    # One battery, three rounds: first at the 10-value threat (gain 5), then 10*0.5*0.5 = 2.5 vs 4*0.5 = 2
    # -> second shot at threat 0 if its salvo allows it, else at threat 1.
    value, pk = np.array([10.0, 4.0]), np.array([[0.5, 0.5]])
    np.testing.assert_array_equal(greedy_assignment(value, pk, [3], [2], salvo=[2, 2]), [[0, 0, 2], [0, 1, 1]])
    np.testing.assert_array_equal(greedy_assignment(value, pk, [3], [2], salvo=1), [[0, 0, 1], [0, 1, 1]])
    # Ties go to the lowest threat, then the lowest battery.
    np.testing.assert_array_equal(greedy_assignment(np.ones(2), np.full((2, 2), 0.5), [1, 1], [1, 1], 1),
                                  [[0, 0, 1], [1, 1, 1]])


def test_empty_and_engaged_inputs():
    assert greedy_assignment(np.ones(3), np.zeros((2, 3)), [4, 4], [2, 2], 2).shape == (0, 3)
    assert greedy_assignment(np.ones(3), np.full((2, 3), 0.7), [0, 0], [2, 2], 2).shape == (0, 3)
    a = greedy_assignment(np.ones(3), np.full((2, 3), 0.7), [4, 4], [3, 3], 2, engaged=[True, False, True])
    assert set(a[:, 1]) == {1}
    assert expected_surviving_value(np.ones(3), np.full((2, 3), 0.7), np.empty((0, 3), int)) == 3.0


def test_large_instance_shape_and_constraints():
    rng = np.random.default_rng(9)
    n_b, n_t = 60, 300
    pk = rng.uniform(0.5, 0.9, (n_b, n_t)) * (rng.random((n_b, n_t)) < 0.2)
    value, inventory, channels = rng.uniform(0, 10, n_t), rng.integers(0, 12, n_b), rng.integers(1, 6, n_b)
    a = greedy_assignment(value, pk, inventory, channels, 2)
    _check_constraints(a, pk, inventory, channels, 2)
    assert expected_surviving_value(value, pk, a) < value.sum()
