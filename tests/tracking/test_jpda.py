"""JPDA against references: marginals against brute-force enumeration of every joint association event,
the single-track case against the PDA closed form, and the update against the Kalman update where the
association is certain and against the PDA formulas written out."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shieldwall.tracking import ekf
from shieldwall.tracking.jpda import _cheap, association_probabilities, pda_update


def brute_force(ratio: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Marginals by listing every joint event: each track takes a distinct plot or none."""
    n_k, n_m = ratio.shape
    beta = np.zeros((n_k, n_m + 1))
    total = 0.0
    for choice in itertools.product(range(-1, n_m), repeat=n_k):
        used = [c for c in choice if c >= 0]
        if len(used) != len(set(used)):
            continue
        weight = np.prod([miss[k] if c < 0 else ratio[k, c] for k, c in enumerate(choice)])
        total += weight
        for k, c in enumerate(choice):
            beta[k, c if c >= 0 else n_m] += weight
    return beta / total


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(0, 5), st.floats(0.0, 0.7))
def test_marginals_match_enumeration_of_joint_events(seed, n_k, n_m, sparsity):
    rng = np.random.default_rng(seed)
    ratio = rng.exponential(2.0, (n_k, n_m)) * (rng.uniform(size=(n_k, n_m)) > sparsity)
    miss = rng.uniform(0.05, 0.5, n_k)
    beta = association_probabilities(ratio, miss)
    np.testing.assert_allclose(beta, brute_force(ratio, miss), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(beta.sum(axis=1), 1.0, rtol=1e-12)


def test_separate_clusters_do_not_interact():
    """Tracks that share no plot are associated independently: the marginals of a block-diagonal problem
    equal those of its blocks."""
    rng = np.random.default_rng(3)
    a, b = rng.exponential(1.0, (2, 3)), rng.exponential(1.0, (3, 2))
    ratio = np.zeros((5, 5))
    ratio[:2, :3], ratio[2:, 3:] = a, b
    miss = rng.uniform(0.1, 0.4, 5)
    beta = association_probabilities(ratio, miss)
    np.testing.assert_allclose(beta[:2, [0, 1, 2, 5]], association_probabilities(a, miss[:2]), rtol=1e-12)
    np.testing.assert_allclose(beta[2:, [3, 4, 5]], association_probabilities(b, miss[2:]), rtol=1e-12)


def test_single_track_is_the_pda_closed_form():
    """One track: beta_m = l_m / (b + sum l), beta_0 = b / (b + sum l) (Bar-Shalom & Tse)."""
    ratio = np.array([[0.5, 2.0, 0.0, 1.5]])
    b = 0.3
    beta = association_probabilities(ratio, np.array([b]))
    np.testing.assert_allclose(beta[0], np.r_[ratio[0], b] / (b + ratio.sum()), rtol=1e-14)


def test_cheap_jpda_is_close_for_well_separated_tracks():
    """Fitzgerald's approximation agrees with the exact marginals when tracks barely compete."""
    ratio = np.array([[5.0, 0.01, 0.0], [0.0, 4.0, 0.02], [0.01, 0.0, 6.0]])
    miss = np.full(3, 0.2)
    np.testing.assert_allclose(_cheap(ratio, miss), association_probabilities(ratio, miss), atol=0.01)


def _problem(rng, k=3, m=4):
    a = rng.normal(size=(k, 6, 6))
    P = a @ a.swapaxes(-1, -2) + np.eye(6)
    H = np.zeros((k, 3, 6))
    H[:, :, :3] = np.eye(3)
    R = np.eye(3) * 0.5
    S = H @ P @ H.swapaxes(-1, -2) + R
    return rng.normal(size=(k, 6)), P, H, R, S, rng.normal(size=(k, m, 3))


def test_certain_association_is_the_kalman_update():
    """beta = 1 on one plot and 0 elsewhere reproduces the Joseph-form Kalman update with that plot."""
    rng = np.random.default_rng(8)
    x, P, H, R, S, nu = _problem(rng)
    beta = np.zeros((3, 5))
    beta[np.arange(3), [0, 2, 1]] = 1.0
    x_new, P_new = pda_update(x, P, nu, S, H, beta)
    h = (H @ x[..., None])[..., 0]
    z = h + nu[np.arange(3), [0, 2, 1]]
    x_ref, P_ref, _, _ = ekf.update(x, P, z, R, h, H)
    np.testing.assert_allclose(x_new, x_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(P_new, P_ref, rtol=1e-9, atol=1e-9)


def test_pda_update_matches_the_formulas_written_out():
    """Mean and covariance against the PDA equations evaluated track by track with explicit inverses."""
    rng = np.random.default_rng(9)
    x, P, H, R, S, nu = _problem(rng)
    raw = rng.uniform(size=(3, 5))
    beta = raw / raw.sum(axis=1, keepdims=True)
    x_new, P_new = pda_update(x, P, nu, S, H, beta)
    for k in range(3):
        W = P[k] @ H[k].T @ np.linalg.inv(S[k])
        nu_c = sum(beta[k, m] * nu[k, m] for m in range(4))
        spread = sum(beta[k, m] * np.outer(nu[k, m], nu[k, m]) for m in range(4)) - np.outer(nu_c, nu_c)
        P_ref = beta[k, 4] * P[k] + (1 - beta[k, 4]) * (P[k] - W @ S[k] @ W.T) + W @ spread @ W.T
        np.testing.assert_allclose(x_new[k], x[k] + W @ nu_c, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(P_new[k], P_ref, rtol=1e-9, atol=1e-9)


def test_tracker_with_jpda_agrees_with_gnn_when_association_is_certain():
    """Well-separated targets, no clutter, every plot detected: each confirmed track's gate holds one
    plot with probability ~1, so the JPDA tracker's estimates equal the GNN tracker's."""
    from shieldwall.tracking import Tracker, TrackerParams

    rng = np.random.default_rng(4)
    start = rng.uniform(-50e3, 50e3, (6, 3))
    vel = rng.normal(0.0, 100.0, (6, 3))
    R = np.eye(3) * 25.0**2
    trackers = [Tracker(TrackerParams(motion="cv", association=a, pd=0.999, clutter_density=1e-20, m_of_n=(2, 3),
                                      init_velocity_sigma_ms=300.0)) for a in ("gnn", "jpda")]
    for k in range(15):
        z = start + vel * k + rng.normal(0.0, 25.0, (6, 3))
        for tr in trackers:
            tr.process(float(k), "pos", z, R)
    gnn, jpda = (tr.confirmed() for tr in trackers)
    np.testing.assert_array_equal(gnn.ids, jpda.ids)
    np.testing.assert_allclose(jpda.x, gnn.x, rtol=0, atol=1e-3)
    np.testing.assert_allclose(jpda.P, gnn.P, rtol=1e-6, atol=1e-6)
