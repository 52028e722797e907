"""Joint probabilistic data association (JPDA) for closely spaced objects in clutter.

Where global nearest neighbour commits each plot to one track, JPDA (Fortmann, Bar-Shalom & Scheffe,
IEEE J. Oceanic Eng. 8, 1983) weighs every feasible joint event — each track takes at most one plot,
each plot goes to at most one track — by its probability and updates each track with the
probability-weighted innovations. With gated likelihood ratios ``l[k, m] = Pd N(nu_km; 0, S_k) / lambda``
(``lambda`` the clutter density) and ``1 - Pd Pg`` for a track that takes no plot, an event's weight is
the product over tracks; the marginal ``beta[k, m]`` is the weight of the events pairing k with m over
the weight of all events.

The marginals are exact: the gating graph splits into independent clusters (connected components);
a track alone in its cluster has the PDA closed form (all such tracks at once), and a shared cluster's
sum over events is a dynamic programme over its tracks with the set of plots used so far as state
(``K 2^M`` terms instead of the ``M!``-sized enumeration), vectorised over the sets.
A cluster with more than :data:`MAX_EXACT_PLOTS` plots uses the cheap-JPDA approximation
(Fitzgerald 1985) instead.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

#: Largest cluster (in plots) whose marginals are computed exactly.
MAX_EXACT_PLOTS = 12


def association_probabilities(ratio: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Marginal association probabilities (K, M + 1) of K tracks and M plots: column m < M is
    ``beta[k, m]``, the last column ``beta[k, none]``; each row sums to 1.

    ``ratio`` (K, M): likelihood ratio of each track-plot pair (0 outside the gate); ``miss`` (K,): the
    weight ``1 - Pd Pg`` of a track taking no plot.
    """
    ratio = np.asarray(ratio, float)
    miss = np.asarray(miss, float)
    n_k, n_m = ratio.shape
    beta = np.zeros((n_k, n_m + 1))
    beta[:, n_m] = 1.0
    gated = ratio > 0.0
    if not gated.any():
        return beta
    graph = coo_matrix((np.ones(int(gated.sum())), (*np.nonzero(gated),)), shape=(n_k, n_m))
    both = coo_matrix((np.r_[graph.data, graph.data], (np.r_[graph.row, graph.col + n_k],
                                                       np.r_[graph.col + n_k, graph.row])), shape=(n_k + n_m,) * 2)
    _, label = connected_components(both, directed=False)
    tracks_in = np.bincount(label[:n_k], minlength=n_k + n_m)
    alone = gated.any(axis=1) & (tracks_in[label[:n_k]] == 1)   # a track whose plots no other track gates
    if alone.any():                                              # the single-track (PDA) closed form
        part = np.concatenate([ratio[alone], miss[alone, None]], axis=1)
        beta[alone] = part / part.sum(axis=1, keepdims=True)
    for cluster in np.unique(label[:n_k][gated.any(axis=1) & ~alone]):
        k = np.flatnonzero(label[:n_k] == cluster)
        m = np.flatnonzero(label[n_k:] == cluster)
        sub = ratio[np.ix_(k, m)]
        part = _exact(sub, miss[k]) if len(m) <= MAX_EXACT_PLOTS else _cheap(sub, miss[k])
        beta[np.ix_(k, m)] = part[:, :-1]
        beta[k, n_m] = part[:, -1]
    return beta


def _event_sum(ratio: np.ndarray, miss: np.ndarray) -> float:
    """Sum over joint events of the products of weights (tracks in order, plots as a bit set)."""
    n_m = ratio.shape[1]
    masks = np.arange(1 << n_m)
    dp = np.zeros(1 << n_m)
    dp[0] = 1.0
    for k in range(len(miss)):
        new = dp * miss[k]
        for m in np.flatnonzero(ratio[k] > 0.0):
            free = (masks >> m) & 1 == 0
            new[masks[free] | (1 << m)] += dp[free] * ratio[k, m]
        dp = new
    return float(dp.sum())


def _exact(ratio: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Exact marginals (K, M + 1) of one cluster from sums over the events of the others."""
    n_k, n_m = ratio.shape
    total = _event_sum(ratio, miss)
    out = np.zeros((n_k, n_m + 1))
    for k in range(n_k):
        others = np.delete(np.arange(n_k), k)
        out[k, n_m] = miss[k] * _event_sum(ratio[others], miss[others])
        for m in np.flatnonzero(ratio[k] > 0.0):
            out[k, m] = ratio[k, m] * _event_sum(np.delete(ratio[others], m, axis=1), miss[others])
    return out / total


def _cheap(ratio: np.ndarray, miss: np.ndarray) -> np.ndarray:
    """Fitzgerald's cheap-JPDA marginals (K, M + 1) for a cluster too large to enumerate."""
    g = ratio / (ratio.sum(axis=1, keepdims=True) + ratio.sum(axis=0, keepdims=True) - ratio + miss[:, None])
    g = np.where(ratio > 0.0, g, 0.0)
    out = np.concatenate([g, np.maximum(1.0 - g.sum(axis=1, keepdims=True), 0.0)], axis=1)
    return out / out.sum(axis=1, keepdims=True)


def pda_update(x: np.ndarray, P: np.ndarray, nu: np.ndarray, S: np.ndarray, H: np.ndarray,
               beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Probabilistic-data-association update of K tracks (Bar-Shalom & Tse 1975).

    ``x`` (K, n), ``P`` (K, n, n): predictions; ``nu`` (K, M, m): innovations of every plot (any value
    where ``beta`` is 0); ``S`` (K, m, m), ``H`` (K, m, n); ``beta`` (K, M + 1) from
    :func:`association_probabilities`. With gain ``W = P H^T S^-1`` and combined innovation
    ``nu_c = sum_m beta_m nu_m``: ``x + W nu_c`` and
    ``P - (1 - beta_0) W S W^T + W (sum_m beta_m nu_m nu_m^T - nu_c nu_c^T) W^T``.
    """
    w = beta[:, :-1]
    nu = np.where(w[..., None] > 0.0, nu, 0.0)
    gain = np.linalg.solve(S, H @ P).swapaxes(-1, -2)               # P H^T S^-1 (S, P symmetric)
    nu_c = np.einsum("km,kmi->ki", w, nu)
    spread = np.einsum("km,kmi,kmj->kij", w, nu, nu) - nu_c[:, :, None] * nu_c[:, None, :]
    x_new = x + (gain @ nu_c[..., None])[..., 0]
    P_new = (P - (1.0 - beta[:, -1])[:, None, None] * (gain @ S @ gain.swapaxes(-1, -2))
             + gain @ spread @ gain.swapaxes(-1, -2))
    return x_new, 0.5 * (P_new + P_new.swapaxes(-1, -2))
