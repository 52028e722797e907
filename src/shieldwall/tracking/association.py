"""Gated global-nearest-neighbour association of plots (or tracks) to tracks.

The cost of pairing track k with plot m is the squared Mahalanobis distance d2[k, m] of the
innovation; pairs with d2 at or beyond the chi-square gate g are forbidden. The assignment minimises
``sum over pairs (d2 - g)``, which is the classic augmented-matrix GNN in which leaving a track or a
plot unassigned costs g / 2 each: every gated pair is worth taking unless it competes with a better
one. Because forbidden and "leave unassigned" entries both cost 0 in the reduced matrix
``min(d2 - g, 0)``, one rectangular :func:`scipy.optimize.linear_sum_assignment` solves it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import chi2

from shieldwall.tracking.ekf import Residual


#: Up to this many track-plot pairs the one-dimensional pre-gate compares them all at once.
_DENSE_PAIRS = 4096


@dataclass(frozen=True, slots=True)
class Assignment:
    """Result of an association: ``pairs`` (P, 2) rows of (track index, plot index), the rest unassigned."""

    pairs: np.ndarray
    unassigned_tracks: np.ndarray
    unassigned_plots: np.ndarray


@lru_cache(maxsize=64)
def gate_threshold(gate_prob: float, dof: int = 3) -> float:
    """Squared-Mahalanobis gate holding a true measurement with probability ``gate_prob``."""
    return float(chi2.ppf(gate_prob, dof))


def _strip_pairs(z0: np.ndarray, h0: np.ndarray, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (k, m) with ``|z0[m] - h0[k]| <= half_width[k]``, by sorting the plots once and bisecting each
    track's interval: ``O((K + M) log M + pairs)`` rather than ``K M``."""
    order = np.argsort(z0, kind="stable")
    sorted_z = z0[order]
    lo = np.searchsorted(sorted_z, h0 - half_width, "left")
    hi = np.searchsorted(sorted_z, h0 + half_width, "right")
    count = hi - lo
    k_idx = np.repeat(np.arange(len(h0)), count)
    offset = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    return k_idx, order[np.repeat(lo, count) + offset]


def _gated_d2(z: np.ndarray, h: np.ndarray, S: np.ndarray, residual: Residual | None,
              gate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (k, m) and their squared Mahalanobis distances for the pairs the one-dimensional test on the
    first component cannot rule out (``nu_0^2 / S_00 > gate`` implies ``d2 > gate``)."""
    half_width = np.sqrt(gate * S[:, 0, 0])
    if len(h) * len(z) <= _DENSE_PAIRS:   # few pairs: one broadcast comparison is cheaper than sorting
        k_idx, m_idx = np.nonzero(np.abs(z[None, :, 0] - h[:, None, 0]) <= half_width[:, None])
    else:
        k_idx, m_idx = _strip_pairs(z[:, 0], h[:, 0], half_width)
    if not len(k_idx):
        return k_idx, m_idx, np.empty(0)
    zz, hh = z[m_idx], h[k_idx]
    nu = residual(zz, hh) if residual is not None else zz - hh
    return k_idx, m_idx, ((nu[:, None, :] @ np.linalg.inv(S)[k_idx]) @ nu[:, :, None])[:, 0, 0]


def mahalanobis_cost(z: np.ndarray, h: np.ndarray, S: np.ndarray, residual: Residual | None = None,
                     gate: float | None = None) -> np.ndarray:
    """Squared Mahalanobis distances (K, M) of plots ``z`` (M, m) from predictions ``h`` (K, m), ``S`` (K, m, m).

    ``residual(z, h)`` forms innovations (with angle wrapping); plain subtraction when None. With a
    ``gate``, pairs that a one-dimensional test on the first component proves to lie outside it
    (``nu_0^2 / S_00 > gate`` implies ``d2 > gate``) are not evaluated and come back as ``inf``.
    """
    z = np.asarray(z, float)
    h = np.asarray(h, float)
    if gate is None:
        zz, hh = z[None, :, :], h[:, None, :]
        nu = residual(zz, hh) if residual is not None else zz - hh
        return ((nu[..., None, :] @ np.linalg.inv(S)[:, None]) @ nu[..., None])[..., 0, 0]
    cost = np.empty((len(h), len(z)))
    cost.fill(np.inf)
    k_idx, m_idx, d2 = _gated_d2(z, h, S, residual, gate)
    cost[k_idx, m_idx] = d2
    return cost


def _assign_pairs(rows: np.ndarray, cols: np.ndarray, cost: np.ndarray, gate: float, n_tracks: int,
                  n_plots: int) -> Assignment:
    """Optimal one-to-one assignment over the gated pairs ``(rows, cols)`` with costs ``cost`` (< gate).

    A pair whose track and plot have no other gated partner is taken as it is (its own component of the
    gating graph); the pairs touching a track or plot with several partners go, as one rectangular
    problem over just those tracks and plots, to :func:`scipy.optimize.linear_sum_assignment`.
    """
    per_track = np.bincount(rows, minlength=n_tracks)
    per_plot = np.bincount(cols, minlength=n_plots)
    single = (per_track[rows] == 1) & (per_plot[cols] == 1)
    if not single.all():
        shared = ~single
        r_idx, r_inv = np.unique(rows[shared], return_inverse=True)
        c_idx, c_inv = np.unique(cols[shared], return_inverse=True)
        sub = np.zeros((len(r_idx), len(c_idx)))
        sub[r_inv, c_inv] = cost[shared] - gate
        sub_r, sub_c = linear_sum_assignment(sub)
        keep = sub[sub_r, sub_c] < 0.0
        rows = np.concatenate([rows[single], r_idx[sub_r[keep]]])
        cols = np.concatenate([cols[single], c_idx[sub_c[keep]]])
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
        per_track = np.bincount(rows, minlength=n_tracks)
        per_plot = np.bincount(cols, minlength=n_plots)
    pairs = np.empty((len(rows), 2), np.intp)
    pairs[:, 0], pairs[:, 1] = rows, cols
    return Assignment(pairs=pairs, unassigned_tracks=(per_track == 0).nonzero()[0],
                      unassigned_plots=(per_plot == 0).nonzero()[0])


def gnn_assign(cost: np.ndarray, gate: float) -> Assignment:
    """Optimal one-to-one assignment minimising ``sum(cost - gate)`` over pairs with ``cost < gate``.

    NaN costs count as outside the gate. Indices in the result are sorted by track.
    """
    cost = np.asarray(cost, float)
    rows, cols = np.nonzero(cost < gate)            # False for NaN too
    return _assign_pairs(rows, cols, cost[rows, cols], gate, *cost.shape)


def associate(z: np.ndarray, h: np.ndarray, S: np.ndarray, gate_prob: float,
              residual: Residual | None = None) -> Assignment:
    """Gated GNN of plots ``z`` (M, m) to tracks with predicted plots ``h`` (K, m) and covariances ``S``;
    only the pairs inside the gate are ever formed, so the cost grows with the pairs, not ``K M``."""
    z = np.asarray(z, float)
    gate = gate_threshold(gate_prob, z.shape[-1])
    if len(h) == 0 or len(z) == 0:
        return Assignment(pairs=np.empty((0, 2), np.intp), unassigned_tracks=np.arange(len(h)),
                          unassigned_plots=np.arange(len(z)))
    k_idx, m_idx, d2 = _gated_d2(z, np.asarray(h, float), S, residual, gate)
    inside = d2 < gate
    return _assign_pairs(k_idx[inside], m_idx[inside], d2[inside], gate, len(h), len(z))
