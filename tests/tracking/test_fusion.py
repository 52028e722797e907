"""Covariance intersection against closed-form error covariances and a grid search; fusion centre
against simulated truth with two nations' trackers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.tracking import ekf
from shieldwall.tracking.fusion import (FusionCentre, FusionParams, _in_sorted, _pair_weight, _simplex_weights,
                                       covariance_intersection)
from shieldwall.tracking.tracker import Tracker, TrackerParams
from tracking_scenarios import Radar, ballistic_truth, suborbital_state


def random_spd(rng, k, scale=1.0):
    a = rng.normal(size=(k, 6, 6)) * scale
    return a @ np.swapaxes(a, -1, -2) + 0.1 * scale**2 * np.eye(6)


def fused_gains(P1, P2, fuse):
    """Gains (K1, K2) of a linear fusion rule x = K1 x1 + K2 x2, read off by feeding unit vectors."""
    k = len(P1)
    eye = np.broadcast_to(np.eye(6), (k, 6, 6))
    zero = np.zeros((k, 6))
    g1 = np.stack([fuse(eye[:, :, j], zero)[0] for j in range(6)], axis=-1)
    g2 = np.stack([fuse(zero, eye[:, :, j])[0] for j in range(6)], axis=-1)
    return g1, g2


def true_error_cov(K1, K2, P1, P2, C):
    """Error covariance of K1 x1 + K2 x2 (with K1 + K2 = I) when cov(e1, e2) = C (closed form)."""
    t = lambda a: np.swapaxes(a, -1, -2)  # noqa: E731
    return K1 @ P1 @ t(K1) + K1 @ C @ t(K2) + K2 @ t(C) @ t(K1) + K2 @ P2 @ t(K2)


def naive(x1, x2, P1, P2):
    i1, i2 = np.linalg.inv(P1), np.linalg.inv(P2)
    P = np.linalg.inv(i1 + i2)
    return np.einsum("kij,kj->ki", P, np.einsum("kij,kj->ki", i1, x1) + np.einsum("kij,kj->ki", i2, x2)), P


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_ci_is_consistent_under_positive_correlation_where_naive_fusion_is_not(criterion):
    # Errors e1 = a + b1, e2 = a + b2 with a common part a: cov(e1, e2) = cov(a) > 0.
    rng = np.random.default_rng(1)
    k = 50
    Pa, Pb1, Pb2 = random_spd(rng, k, 1.0), random_spd(rng, k, 0.5), random_spd(rng, k, 0.5)
    P1, P2, C = Pa + Pb1, Pa + Pb2, Pa

    def ci(x1, x2):
        return covariance_intersection(np.stack([x1, x2]), np.stack([P1, P2]), criterion=criterion)

    K1, K2 = fused_gains(P1, P2, ci)
    np.testing.assert_allclose(K1 + K2, np.broadcast_to(np.eye(6), (k, 6, 6)), atol=1e-8)
    P_ci = ci(np.zeros((k, 6)), np.zeros((k, 6)))[1]
    assert np.linalg.eigvalsh(P_ci - true_error_cov(K1, K2, P1, P2, C)).min() > -1e-9

    N1, N2 = fused_gains(P1, P2, lambda a, b: naive(a, b, P1, P2))
    P_naive = naive(np.zeros((k, 6)), np.zeros((k, 6)), P1, P2)[1]
    overconfidence = np.linalg.eigvalsh(true_error_cov(N1, N2, P1, P2, C) - P_naive).max(axis=-1)
    assert np.all(overconfidence > 0.1)      # every naive fusion claims too much


def test_ci_with_independent_errors_is_no_tighter_than_naive():
    rng = np.random.default_rng(2)
    k = 50
    P1, P2 = random_spd(rng, k), random_spd(rng, k)
    x1, x2 = rng.normal(size=(k, 6)), rng.normal(size=(k, 6))
    _, P_ci = covariance_intersection(np.stack([x1, x2]), np.stack([P1, P2]))
    _, P_naive = naive(x1, x2, P1, P2)
    assert np.linalg.eigvalsh(P_ci - P_naive).min() > -1e-9


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_ci_weights_are_optimal_against_a_grid_search(criterion):
    rng = np.random.default_rng(3)
    k = 20
    P1, P2 = random_spd(rng, k), random_spd(rng, k, 2.0)
    P2[:5] = P1[:5] * 0.01                   # lopsided cases: optimum near a simplex corner
    _, P_ci = covariance_intersection(np.zeros((2, k, 6)), np.stack([P1, P2]), criterion=criterion)
    w = np.linspace(0.0, 1.0, 2001)[:, None, None, None]
    i1, i2 = np.linalg.inv(P1), np.linalg.inv(P2)
    P_grid = np.linalg.inv(w * i1 + (1.0 - w) * i2)
    if criterion == "det":
        best = np.linalg.slogdet(P_grid)[1].min(axis=0)
        got = np.linalg.slogdet(P_ci)[1]
        assert np.all(got <= best + 1e-6)
    else:
        best = np.trace(P_grid, axis1=-2, axis2=-1).min(axis=0)
        got = np.trace(P_ci, axis1=-2, axis2=-1)
        assert np.all(got <= best * (1 + 1e-6))


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_ci_of_three_estimates_is_near_optimal_against_a_simplex_grid(criterion):
    rng = np.random.default_rng(6)
    k = 8
    P = np.stack([random_spd(rng, k, 1.0), random_spd(rng, k, 2.0), random_spd(rng, k, 0.7)])
    _, P_ci = covariance_intersection(np.zeros((3, k, 6)), P, criterion=criterion)
    g = np.linspace(0.0, 1.0, 101)
    w1, w2 = np.meshgrid(g, g, indexing="ij")
    ok = w1 + w2 <= 1.0
    w = np.stack([w1[ok], w2[ok], 1.0 - w1[ok] - w2[ok]])[:, :, None, None, None]
    P_grid = np.linalg.inv(np.sum(w * np.linalg.inv(P)[:, None], axis=0))
    if criterion == "det":
        best, got = np.linalg.slogdet(P_grid)[1].min(axis=0), np.linalg.slogdet(P_ci)[1]
    else:
        best = np.log(np.trace(P_grid, axis1=-2, axis2=-1).min(axis=0))
        got = np.log(np.trace(P_ci, axis1=-2, axis2=-1))
    assert np.all(got <= best + 1e-3)        # within 0.1 % of the grid's best


def test_ci_masks_missing_estimates():
    rng = np.random.default_rng(4)
    P = np.stack([random_spd(rng, 3) for _ in range(3)])
    x = rng.normal(size=(3, 3, 6))
    valid = np.array([[True, True, True], [True, False, True], [False, False, True]])
    xf, Pf = covariance_intersection(x, P, valid)
    np.testing.assert_allclose(xf[1], x[0, 1])       # a single estimate passes through
    np.testing.assert_allclose(Pf[1], P[0, 1])
    x2, P2 = covariance_intersection(x[:2, :1], P[:2, :1])
    np.testing.assert_allclose(xf[0], x2[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(Pf[0], P2[0], rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="at least one"):
        covariance_intersection(x, P, np.zeros((3, 3), bool))


def test_two_nations_three_targets_fuse_into_three_system_tracks():
    # Reference: the simulated truth. Nation A's radar sits west of the targets, B's north-east.
    rng = np.random.default_rng(5)
    times = np.arange(0.0, 41.0)
    truth = ballistic_truth(suborbital_state([40.0, 41.0, 40.5], [20.0, 20.5, 21.5],
                                             heading_deg=[90, 85, 95]), times)
    radars = {"A": Radar(40.5, 14.0), "B": Radar(44.0, 25.0)}
    trackers = {n: Tracker(TrackerParams(q_accel=0.1)) for n in radars}
    centre = FusionCentre(FusionParams(q_accel=0.1, stale_s=5.0))
    err = {"A": [], "B": [], "fused": []}
    for i, t in enumerate(times):
        for nation, radar in radars.items():
            detected = rng.random(3) < 0.9
            trackers[nation].process(t, "rae", radar.measure(truth[i, detected, :3], rng), radar.R,
                                     radar.origin_ecef, radar.basis)
            if t % 2.0 == 0.0:                       # national track reports every 2 s
                tab = trackers[nation].confirmed()
                centre.ingest(nation, tab.ids, tab.x, tab.P, tab.t_update_s)
        if t >= 20.0 and t % 2.0 == 0.0:
            system = centre.system_tracks(t)
            assert len(system) == 3
            assert system.contributors.all() and system.nations == ("A", "B")
            assert system.nations_of(0) == ("A", "B")
            err["fused"].append(nearest_errors(system.x, truth[i]))
            for nation in radars:
                err[nation].append(nearest_errors(trackers[nation].coast_to(t).x, truth[i]))
    rms = {k: np.sqrt(np.mean(np.square(v), axis=0)) for k, v in err.items()}   # per target
    assert np.all(rms["fused"] <= np.maximum(rms["A"], rms["B"]))
    # Nation B stops reporting: after stale_s its contributions drop; then the picture empties.
    assert centre.system_tracks(times[-1] + 4.0).contributors.all()
    later = centre.system_tracks(times[-1] + 6.0)
    assert len(later) == 0


def nearest_errors(x, truth_t):
    """Position error [m] of the track nearest to each true target."""
    d = np.linalg.norm(x[:, None, :3] - truth_t[None, :, :3], axis=-1)
    return d.min(axis=0)


def test_fusion_centre_binding_and_staleness():
    x = suborbital_state([40.0, 45.0], [20.0, 25.0])
    P = np.broadcast_to(np.diag([100.0**2] * 3 + [10.0**2] * 3), (2, 6, 6))
    centre = FusionCentre(FusionParams(stale_s=10.0, first_id=7))
    ids_a = centre.ingest("A", [1, 2], x, P, 0.0)
    assert list(ids_a) == [7, 8]
    # B's two tracks match A's two, whatever B calls them; a third, far away, starts a new one.
    x_b = ekf.predict(x, P, 1.0, 1.0)[0] + np.array([50.0, -50.0, 50.0, 1.0, 2.0, -3.0])
    far = x[:1] + np.array([[5e5, 0, 0, 0, 0, 0]])
    ids_b = centre.ingest("B", [30, 10, 20], np.concatenate([x_b[::-1], far]),
                          np.concatenate([P, P[:1]]), 1.0)
    assert list(ids_b) == [8, 7, 9]
    # A's second local track near A's first is a distinct object: never bound to A's own system track.
    assert list(centre.ingest("A", [3], x[:1] + 10.0, P[:1], 1.0)) == [10]
    moved = ekf.predict(x[:1], P[:1], 2.0, 1.0)[0]
    assert list(centre.ingest("A", [1], moved, P[:1], 2.0)) == [7]      # known track keeps its id
    table = centre.system_tracks(10.5)          # A@0 (local 2) is stale; A@1, A@2, B@1 remain
    assert list(table.ids) == [7, 8, 9, 10]
    assert table.nations_of(1) == ("B",) and table.nations_of(0) == ("A", "B")
    assert list(centre.system_tracks(30.0).ids) == []
    with pytest.raises(ValueError, match="repeat"):
        centre.ingest("A", [1, 1], x, P, 30.0)


def bisected_pair_weight(P1, P2, criterion):
    """Reference: 60 bisections on the derivative of the CI objective over the generalised eigenvalues."""
    R = np.linalg.cholesky(P2)
    lam, U = np.linalg.eigh(R.swapaxes(-1, -2) @ np.linalg.solve(P1, R))
    a = lam - 1.0
    c, power = (np.ones_like(a), 1) if criterion == "det" else (np.sum((R @ U) ** 2, axis=-2), 2)
    lo, hi = np.zeros(len(a)), np.ones(len(a))
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        rising = -np.sum(c * a / (1.0 + mid[:, None] * a) ** power, axis=-1) > 0.0
        lo, hi = np.where(rising, lo, mid), np.where(rising, mid, hi)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("criterion", ["det", "trace"])
def test_pair_weight_newton_finds_the_bisection_optimum(criterion):
    # Pairs of every kind: interior optimum, one estimate dominating (omega 0 or 1), equal estimates.
    rng = np.random.default_rng(8)
    P1 = np.concatenate([random_spd(rng, 200), random_spd(rng, 20, 0.01), random_spd(rng, 20, 100.0)])
    P2 = np.concatenate([random_spd(rng, 200), random_spd(rng, 20, 1.0), random_spd(rng, 20, 1.0)])
    P1[-1] = P2[-1]
    omega = _pair_weight(P1, P2, criterion)
    # Equal estimates (the last pair): every omega is optimal; the documented answer is 1, whatever the
    # eigensolver's rounding (the bisection would follow the sign of that rounding).
    np.testing.assert_allclose(omega[:-1], bisected_pair_weight(P1[:-1], P2[:-1], criterion), rtol=0, atol=1e-12)
    assert 0.0 < omega[:200].min() and omega[:200].max() < 1.0 and omega[-1] == 1.0


@pytest.mark.parametrize("criterion", ["det", "trace"])
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 5))
def test_simplex_weights_are_optimal(criterion, seed, n):
    """The Newton weights sit on the simplex (zero for missing estimates), meet the optimality
    (Karush-Kuhn-Tucker) conditions, and no weights do better: not 2,000 sweeps of the multiplicative
    algorithm of optimal design (Yu 2010, monotone), nor random points of the simplex."""
    rng = np.random.default_rng(seed)
    k = 5
    info = np.linalg.inv(np.stack([random_spd(rng, k, s) for s in rng.uniform(0.3, 3.0, n)]))
    valid = rng.uniform(size=(n, k)) < 0.85
    valid[:3] = True
    info = np.where(valid[..., None, None], info, np.eye(6))
    w0 = valid / valid.sum(axis=0)
    w = _simplex_weights(w0, info, valid, criterion, 50, 1e-9)

    def phi(w):
        M = np.einsum("nk,nkij->kij", w, info)
        return -np.linalg.slogdet(M)[1] if criterion == "det" else np.trace(np.linalg.inv(M), axis1=-2, axis2=-1)

    assert np.all(w >= 0.0) and np.all(w[~valid] == 0.0)
    np.testing.assert_allclose(w.sum(axis=0), 1.0, rtol=1e-12)
    P_f = np.linalg.inv(np.einsum("nk,nkij->kij", w, info))
    if criterion == "det":
        g = np.einsum("kij,nkji->nk", P_f, info) / 6
    else:
        g = np.einsum("kij,nkji->nk", P_f @ P_f, info) / np.trace(P_f, axis1=-2, axis2=-1)
    assert np.all(np.where(valid, g, 0.0) <= 1.0 + 1e-6)                   # no weight would gain by growing
    assert np.all(np.abs(np.where(w > 1e-9, g, 1.0) - 1.0) <= 1e-6)       # the used ones are balanced
    ref = w0
    for _ in range(2000):
        P_r = np.linalg.inv(np.einsum("nk,nkij->kij", ref, info))
        if criterion == "det":
            ref = ref * np.einsum("kij,nkji->nk", P_r, info) / 6
        else:
            ref = ref * np.sqrt(np.einsum("kij,nkji->nk", P_r @ P_r, info) / np.trace(P_r, axis1=-2, axis2=-1))
        ref /= ref.sum(axis=0)
    assert np.all(phi(w) <= phi(ref) + 1e-9 * np.abs(phi(ref)))
    for _ in range(20):
        u = rng.dirichlet(np.ones(n), size=k).T * valid
        u /= u.sum(axis=0)
        assert np.all(phi(w) <= phi(u) + 1e-12 * np.abs(phi(u)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 5), max_size=8), st.lists(st.integers(-5, 5), max_size=8))
def test_in_sorted_is_isin(values, members):
    values, members = np.array(values, np.int64), np.sort(np.array(members, np.int64))
    np.testing.assert_array_equal(_in_sorted(values, members), np.isin(values, members))
