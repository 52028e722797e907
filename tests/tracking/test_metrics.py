"""OSPA and GOSPA against brute-force enumeration of all assignments and closed-form cases; the metric
properties of both; the time-series helpers against the per-step functions."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shieldwall.tracking.metrics import GospaResult, gospa, gospa_series, ospa, ospa_series

coords = st.floats(-20.0, 20.0)
cutoffs = st.floats(0.5, 30.0)
orders = st.one_of(st.sampled_from([1.0, 2.0]), st.floats(1.0, 4.0))
alphas = st.one_of(st.just(2.0), st.floats(0.1, 2.0))


@st.composite
def point_sets(draw, count=2, max_size=5):
    """``count`` position sets (k, d) of up to ``max_size`` points each, in a common dimension 2 or 3."""
    d = draw(st.sampled_from([2, 3]))
    return tuple(draw(arrays(np.float64, (draw(st.integers(0, max_size)), d), elements=coords))
                 for _ in range(count))


def brute_ospa(x, y, c, p):
    """OSPA from its definition: the best of all injections of the smaller set into the larger."""
    n = max(len(x), len(y))
    if n == 0:
        return 0.0
    small, large = (x, y) if len(x) <= len(y) else (y, x)
    best = min(sum(min(c, math.dist(small[i], large[j])) ** p for i, j in enumerate(perm))
               for perm in itertools.permutations(range(len(large)), len(small)))
    return ((best + c**p * (n - len(small))) / n) ** (1.0 / p)


def brute_gospa_permutations(x, y, c, p, alpha):
    """GOSPA^p from the permutation form, for any alpha: cut-off pairs plus c^p / alpha per leftover."""
    small, large = (x, y) if len(x) <= len(y) else (y, x)
    best = min(sum(min(c, math.dist(small[i], large[j])) ** p for i, j in enumerate(perm))
               for perm in itertools.permutations(range(len(large)), len(small)))
    return best + c**p / alpha * (len(large) - len(small))


def brute_gospa_assignments(x, y, c, p):
    """(GOSPA^p, localisation, #missed, #false) of every assignment of pairs closer than c (alpha = 2)."""
    outcomes = []
    for k in range(min(len(x), len(y)) + 1):
        for rows in itertools.combinations(range(len(x)), k):
            for cols in itertools.permutations(range(len(y)), k):
                dist = [math.dist(x[i], y[j]) for i, j in zip(rows, cols)]
                if all(d < c for d in dist):
                    loc = sum(d**p for d in dist)
                    missed, false = len(x) - k, len(y) - k
                    outcomes.append((loc + c**p / 2 * (missed + false), loc, missed, false))
    return outcomes


@settings(max_examples=300, deadline=None)
@given(point_sets(), cutoffs, orders)
def test_ospa_matches_brute_force(sets, c, p):
    x, y = sets
    assert math.isclose(ospa(x, y, c, p), brute_ospa(x, y, c, p), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=300, deadline=None)
@given(point_sets(), cutoffs, orders)
def test_gospa_alpha2_matches_brute_force_over_assignments(sets, c, p):
    x, y = sets
    result = gospa(x, y, c, p)
    outcomes = brute_gospa_assignments(x, y, c, p)
    best = min(o[0] for o in outcomes)
    assert math.isclose(result.distance**p, best, rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(result.distance**p, result.localisation + result.missed + result.false,
                        rel_tol=1e-9, abs_tol=1e-9)
    assert result.missed == pytest.approx(c**p / 2 * result.n_missed)
    assert result.false == pytest.approx(c**p / 2 * result.n_false)
    # The parts are those of one optimal assignment (optima of different sizes can tie).
    assert any(math.isclose(cost, best, rel_tol=1e-9, abs_tol=1e-9)
               and math.isclose(loc, result.localisation, rel_tol=1e-9, abs_tol=1e-9)
               and (missed, false) == (result.n_missed, result.n_false)
               for cost, loc, missed, false in outcomes)


@settings(max_examples=300, deadline=None)
@given(point_sets(), cutoffs, orders, alphas)
def test_gospa_matches_brute_force_over_permutations(sets, c, p, alpha):
    x, y = sets
    result = gospa(x, y, c, p, alpha)
    assert math.isclose(result.distance**p, brute_gospa_permutations(x, y, c, p, alpha), rel_tol=1e-9, abs_tol=1e-9)
    assert math.isclose(result.distance**p, result.localisation + result.missed + result.false,
                        rel_tol=1e-9, abs_tol=1e-9)
    if alpha < 2.0:  # every pair of the smaller set is assigned
        assert (result.n_missed, result.n_false) == (max(len(x) - len(y), 0), max(len(y) - len(x), 0))


@settings(max_examples=200, deadline=None)
@given(point_sets(count=3, max_size=4), cutoffs, orders, alphas, st.randoms(use_true_random=False))
def test_metric_properties(sets, c, p, alpha, rnd):
    x, y, z = sets
    d_xy, d_yx, d_xz, d_yz = ospa(x, y, c, p), ospa(y, x, c, p), ospa(x, z, c, p), ospa(y, z, c, p)
    assert d_xy == pytest.approx(d_yx, rel=1e-12, abs=1e-12)
    assert 0.0 <= d_xy <= c * (1 + 1e-12)
    assert d_xz <= d_xy + d_yz + 1e-9
    shuffled = x[rnd.sample(range(len(x)), len(x))]
    assert ospa(x, shuffled, c, p) == 0.0
    g = lambda a, b: gospa(a, b, c, p, alpha).distance  # noqa: E731
    assert g(x, y) == pytest.approx(g(y, x), rel=1e-12, abs=1e-12)
    assert g(x, z) <= g(x, y) + g(y, z) + 1e-9
    assert g(x, shuffled) == 0.0


@settings(max_examples=100, deadline=None)
@given(point_sets(), cutoffs, orders)
def test_metrics_are_translation_invariant_at_earth_scale(sets, c, p):
    # ECEF positions are ~6.4e6 m from the origin; a shift there changes the distances by rounding only.
    x, y = sets
    shift = np.array([3.9e6, -1.2e6, 4.9e6])[: x.shape[1]]
    assert ospa(x + shift, y + shift, c, p) == pytest.approx(ospa(x, y, c, p), abs=1e-6)
    assert gospa(x + shift, y + shift, c, p).distance == pytest.approx(gospa(x, y, c, p).distance, abs=1e-6)


def test_closed_form_cases():
    origin = np.zeros((1, 3))
    at_5 = np.array([[3.0, 4.0, 0.0]])
    assert ospa(origin, at_5, 10.0) == pytest.approx(5.0)
    assert ospa(origin, at_5, 10.0, order=2.0) == pytest.approx(5.0)
    assert ospa(origin, at_5, 4.0) == pytest.approx(4.0)                  # cut off at c
    assert ospa(origin, [], 10.0) == pytest.approx(10.0)
    assert ospa([], at_5, 10.0, order=3.0) == pytest.approx(10.0)
    assert ospa([], [], 10.0) == 0.0
    assert gospa(origin, at_5, 10.0) == GospaResult(5.0, 5.0, 0.0, 0.0, 0, 0)
    assert gospa([], [], 10.0) == GospaResult(0.0, 0.0, 0.0, 0.0, 0, 0)
    # One missed target: (c^p / 2)^(1/p); with p = 2 that is sqrt(50).
    missed = gospa(origin, [], 10.0, order=2.0)
    assert missed.distance == pytest.approx(math.sqrt(50.0))
    assert (missed.missed, missed.false, missed.n_missed, missed.n_false) == (50.0, 0.0, 1, 0)
    # Truths at 0 and 100 m, one estimate at 1 m, c = 10, p = 1: OSPA (1 + 10) / 2; GOSPA 1 + 10 / 2.
    x, y = np.array([[0.0], [100.0]]), np.array([[1.0]])
    assert ospa(x, y, 10.0) == pytest.approx(5.5)
    assert gospa(x, y, 10.0) == GospaResult(6.0, 1.0, 5.0, 0.0, 1, 0)
    # A pair beyond c: with alpha = 2 a missed and a false target; with alpha = 1 a pair at c.
    far = np.array([[50.0]])
    assert ospa([[0.0]], far, 10.0) == pytest.approx(10.0)
    assert gospa([[0.0]], far, 10.0) == GospaResult(10.0, 0.0, 5.0, 5.0, 1, 1)
    assert gospa([[0.0]], far, 10.0, alpha=1.0) == GospaResult(10.0, 10.0, 0.0, 0.0, 0, 0)
    # The optimal assignment is global: greedy pairs 0-1 (1 m) and leaves 2-3.5 (13.5 m total).
    x, y = np.array([[0.0], [2.0]]), np.array([[1.0], [-1.0]])
    assert ospa(x, y, 100.0) == pytest.approx((1.0 + 1.0) / 2)


@st.composite
def long_format(draw):
    """Truth and estimate rows (t_s, x, y, z) at a few shared and unshared times, in any order."""
    times = st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0])
    tables = []
    for _ in range(2):
        n = draw(st.integers(0, 14))
        tables += [draw(arrays(np.float64, n, elements=times)), draw(arrays(np.float64, (n, 3), elements=coords))]
    return tables


@settings(max_examples=200, deadline=None)
@given(long_format(), cutoffs, orders, alphas)
def test_series_equal_the_per_step_functions(tables, c, p, alpha):
    t_x, x, t_y, y = tables
    expected_times = sorted(set(t_x) | set(t_y))
    times, values = ospa_series(t_x, x, t_y, y, c, p)
    series = gospa_series(t_x, x, t_y, y, c, p, alpha)
    np.testing.assert_array_equal(times, expected_times)
    np.testing.assert_array_equal(series.t_s, expected_times)
    for i, t in enumerate(expected_times):
        assert values[i] == ospa(x[t_x == t], y[t_y == t], c, p)
        step = gospa(x[t_x == t], y[t_y == t], c, p, alpha)
        assert (series.distance[i], series.localisation[i], series.missed[i], series.false[i],
                series.n_missed[i], series.n_false[i]) == (step.distance, step.localisation, step.missed,
                                                             step.false, step.n_missed, step.n_false)


def test_series_from_run_record_frames():
    truth = pd.DataFrame({"t_s": [1.0, 1.0, 0.0, 2.0], "x": [0.0, 100.0, 0.0, 0.0],
                          "y": [0.0, 0.0, 0.0, 0.0], "z": [0.0, 0.0, 0.0, 0.0]})
    tracks = pd.DataFrame({"t_s": [0.0, 1.0, 3.0], "x_m": [3.0, 1.0, 0.0], "y_m": [4.0, 0.0, 0.0],
                           "z_m": [0.0, 0.0, 0.0]})
    times, values = ospa_series(truth.t_s, truth[["x", "y", "z"]], tracks.t_s, tracks[["x_m", "y_m", "z_m"]], 10.0)
    np.testing.assert_array_equal(times, [0.0, 1.0, 2.0, 3.0])
    # 5 m off; one of two truths found 1 m off; a truth with no track; a track with no truth.
    np.testing.assert_allclose(values, [5.0, 5.5, 10.0, 10.0])
    g = gospa_series(truth.t_s, truth[["x", "y", "z"]], tracks.t_s, tracks[["x_m", "y_m", "z_m"]], 10.0)
    np.testing.assert_allclose(g.distance, [5.0, 6.0, 5.0, 5.0])
    np.testing.assert_array_equal(g.n_missed, [0, 1, 1, 0])
    np.testing.assert_array_equal(g.n_false, [0, 0, 0, 1])
    empty_t, empty_v = ospa_series([], [], [], [], 10.0)
    assert empty_t.shape == (0,) and empty_v.shape == (0,)


def test_non_finite_positions_are_never_assigned():
    # A NaN or infinite estimate is at distance c from every truth: a missed and a false target.
    truth = np.array([[0.0, 0.0], [10.0, 0.0]])
    bad = np.array([[np.nan, 0.0], [np.inf, 0.0]])
    assert ospa(truth, bad, 5.0) == pytest.approx(5.0)
    assert gospa(truth, bad, 5.0) == GospaResult(10.0, 0.0, 5.0, 5.0, 2, 2)
    assert gospa(truth, np.array([[1.0, 0.0], [np.nan, 0.0]]), 5.0) == GospaResult(6.0, 1.0, 2.5, 2.5, 1, 1)


def test_invalid_arguments_are_refused():
    x = np.zeros((2, 3))
    for kwargs in ({"cutoff_m": 0.0}, {"cutoff_m": np.inf}, {"cutoff_m": 1.0, "order": 0.5}):
        with pytest.raises(ValueError):
            ospa(x, x, **kwargs)
    with pytest.raises(ValueError, match="alpha"):
        gospa(x, x, 1.0, alpha=3.0)
    with pytest.raises(ValueError, match="dimension"):
        ospa(x, np.zeros((1, 2)), 1.0)
    with pytest.raises(ValueError, match="shapes"):
        ospa(np.zeros(3), x, 1.0)
    with pytest.raises(ValueError, match="one time per position"):
        ospa_series([0.0], x, [], [], 1.0)
