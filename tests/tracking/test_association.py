"""Gated GNN against brute-force enumeration of all partial assignments; vectorised costs against loops."""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from shieldwall.sensors.measurement import residual
from shieldwall.tracking.association import associate, gate_threshold, gnn_assign, mahalanobis_cost

GATE = 10.0


def brute_force_best(cost, gate):
    """Minimum of sum(cost - gate) over every one-to-one set of pairs strictly inside the gate."""
    n_t, n_p = cost.shape
    best = 0.0
    for n_pairs in range(1, min(n_t, n_p) + 1):
        for tracks in itertools.combinations(range(n_t), n_pairs):
            for plots in itertools.permutations(range(n_p), n_pairs):
                c = cost[list(tracks), list(plots)]
                if np.all(c < gate):
                    best = min(best, float(np.sum(c - gate)))
    return best


cost_matrices = st.tuples(st.integers(0, 4), st.integers(0, 4)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=st.floats(0.0, 20.0)))


@settings(max_examples=300, deadline=None)
@given(cost_matrices)
def test_gnn_matches_brute_force(cost):
    result = gnn_assign(cost, GATE)
    rows, cols = result.pairs[:, 0], result.pairs[:, 1]
    # A valid one-to-one assignment of gated pairs ...
    assert len(set(rows)) == len(rows) and len(set(cols)) == len(cols)
    assert np.all(cost[rows, cols] < GATE)
    # ... whose objective is the brute-force optimum ...
    np.testing.assert_allclose(np.sum(cost[rows, cols] - GATE), brute_force_best(cost, GATE), atol=1e-9)
    # ... and the unassigned lists are the complements.
    assert sorted(set(range(cost.shape[0])) - set(rows)) == list(result.unassigned_tracks)
    assert sorted(set(range(cost.shape[1])) - set(cols)) == list(result.unassigned_plots)


def test_gnn_prefers_global_over_greedy_and_ignores_nan():
    # Greedy takes (0, 0) = 1 and leaves track 1 with nothing; GNN pairs (0, 1) and (1, 0).
    cost = np.array([[1.0, 2.0], [3.0, np.nan]])
    result = gnn_assign(cost, GATE)
    np.testing.assert_array_equal(result.pairs, [[0, 1], [1, 0]])
    empty = gnn_assign(np.empty((3, 0)), GATE)
    assert empty.pairs.shape == (0, 2) and list(empty.unassigned_tracks) == [0, 1, 2]


def test_mahalanobis_cost_matches_pairwise_loop_with_wrapped_azimuth():
    rng = np.random.default_rng(3)
    k, m = 5, 7
    h = rng.normal(size=(k, 3))
    h[:, 1] = rng.uniform(0, 2 * np.pi, k)
    z = rng.normal(size=(m, 3))
    z[:, 1] = rng.uniform(0, 2 * np.pi, m)
    a = rng.normal(size=(k, 3, 3))
    S = a @ np.swapaxes(a, -1, -2) + np.eye(3)
    cost = mahalanobis_cost(z, h, S, partial(residual, "rae"))
    for i in range(k):
        for j in range(m):
            d = z[j] - h[i]
            d[1] = np.angle(np.exp(1j * d[1]))
            assert np.isclose(cost[i, j], d @ np.linalg.solve(S[i], d))
    # With a gate, pairs inside it are exact and the rest are provably outside.
    gated = mahalanobis_cost(z, h, S, partial(residual, "rae"), gate=3.0)
    np.testing.assert_allclose(gated[cost < 3.0], cost[cost < 3.0])
    assert np.all(gated[cost >= 3.0] >= 3.0) and np.isinf(gated).any()


def test_associate_finds_true_pairs_among_separated_tracks():
    rng = np.random.default_rng(4)
    k = 300
    h = np.stack([np.arange(k) * 1000.0, np.zeros(k), np.zeros(k)], axis=-1)
    S = np.broadcast_to(np.eye(3) * 100.0, (k, 3, 3))
    perm = rng.permutation(k)
    z = h[perm] + rng.normal(scale=10.0, size=(k, 3))
    result = associate(z, h, S, 0.9999)
    assert len(result.pairs) == k
    np.testing.assert_array_equal(perm[result.pairs[:, 1]], result.pairs[:, 0])
    assert np.isclose(gate_threshold(0.9999, 3), chi2.ppf(0.9999, 3))


def general_gnn(cost, gate):
    """Reference: the full solver on every row and column with a gated entry, whatever the structure."""
    inside = cost < gate
    r_idx, c_idx = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    sub = np.ix_(r_idx, c_idx)
    sub_r, sub_c = linear_sum_assignment(np.where(inside[sub], cost[sub] - gate, 0.0))
    keep = inside[sub][sub_r, sub_c]
    rows, cols = r_idx[sub_r[keep]], c_idx[sub_c[keep]]
    order = np.argsort(rows, kind="stable")
    return np.stack([rows[order], cols[order]], axis=-1)


@st.composite
def sparse_costs(draw):
    """Costs with few gated entries, often one-to-one (the shortcut) and sometimes contested."""
    n_t, n_p = draw(st.integers(0, 7)), draw(st.integers(0, 7))
    cost = draw(arrays(np.float64, (n_t, n_p), elements=st.floats(GATE, 1e3)))
    for _ in range(draw(st.integers(0, 6)) if n_t and n_p else 0):
        i, j = draw(st.integers(0, n_t - 1)), draw(st.integers(0, n_p - 1))
        cost[i, j] = draw(st.floats(0.0, GATE, exclude_max=True))
    if n_t and n_p and draw(st.booleans()):
        cost[0, 0] = np.nan
    return cost


@settings(max_examples=500, deadline=None)
@given(sparse_costs())
def test_gnn_shortcut_matches_the_full_solver(cost):
    result = gnn_assign(cost, GATE)
    reference = general_gnn(cost, GATE)
    # Ties (equal costs) may be broken either way: compare the assignments' value, and that each is a
    # valid one (gated pairs, every track and plot at most once).
    def value(pairs):
        return float(np.sum(cost[pairs[:, 0], pairs[:, 1]] - GATE)) if len(pairs) else 0.0
    assert value(result.pairs) == pytest.approx(value(reference), abs=1e-9)
    pairs = result.pairs
    assert len(set(pairs[:, 0])) == len(pairs) == len(set(pairs[:, 1]))
    assert (np.nan_to_num(cost[pairs[:, 0], pairs[:, 1]], nan=np.inf) < GATE).all()
    assert result.pairs.dtype == np.intp and result.pairs.shape[1:] == (2,)
    assert sorted(set(range(cost.shape[0])) - set(result.pairs[:, 0])) == list(result.unassigned_tracks)
    assert sorted(set(range(cost.shape[1])) - set(result.pairs[:, 1])) == list(result.unassigned_plots)


def test_associate_with_no_tracks_or_no_plots():
    z, h, S = np.zeros((2, 3)), np.zeros((3, 3)), np.broadcast_to(np.eye(3), (3, 3, 3))
    for zz, hh, SS in ((z, h[:0], S[:0]), (z[:0], h, S)):
        result = associate(zz, hh, SS, 0.99)
        assert result.pairs.shape == (0, 2) and result.pairs.dtype == np.intp
        assert list(result.unassigned_tracks) == list(range(len(hh)))
        assert list(result.unassigned_plots) == list(range(len(zz)))


def test_sorted_pre_gate_of_large_problems_matches_the_full_cost_matrix():
    """Above the dense threshold the one-dimensional pre-gate sorts the plots and bisects each track's
    interval; the assignment equals the one from the full (ungated) cost matrix."""
    from shieldwall.tracking.association import _DENSE_PAIRS, associate, gate_threshold, gnn_assign, mahalanobis_cost

    rng = np.random.default_rng(12)
    k = m = int(np.sqrt(_DENSE_PAIRS)) + 20
    h = rng.uniform(0.0, 2_000.0, (k, 3))
    z = np.concatenate([h[: m // 2] + rng.normal(0.0, 3.0, (m // 2, 3)), rng.uniform(0.0, 2_000.0, (m - m // 2, 3))])
    a = rng.normal(size=(k, 3, 3))
    S = a @ a.swapaxes(-1, -2) * 4.0 + np.eye(3) * 4.0
    got = associate(z, h, S, 0.999)
    ref = gnn_assign(mahalanobis_cost(z, h, S), gate_threshold(0.999, 3))
    np.testing.assert_array_equal(got.pairs, ref.pairs)
    np.testing.assert_array_equal(got.unassigned_plots, ref.unassigned_plots)
    assert len(got.pairs) >= m // 4
