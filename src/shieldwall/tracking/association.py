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
    half_width = np.sqrt(gate * S[:, 0, 0])
    k_idx, m_idx = np.nonzero(np.abs(z[None, :, 0] - h[:, None, 0]) <= half_width[:, None])
    cost = np.empty((len(h), len(z)))
    cost.fill(np.inf)
    if len(k_idx):
        zz, hh = z[m_idx], h[k_idx]
        nu = residual(zz, hh) if residual is not None else zz - hh
        cost[k_idx, m_idx] = ((nu[:, None, :] @ np.linalg.inv(S)[k_idx]) @ nu[:, :, None])[:, 0, 0]
    return cost


def gnn_assign(cost: np.ndarray, gate: float) -> Assignment:
    """Optimal one-to-one assignment minimising ``sum(cost - gate)`` over pairs with ``cost < gate``.

    NaN costs count as outside the gate. Indices in the result are sorted. When no track and no plot
    has two gated partners, the gated pairs are themselves one-to-one and all of them are the
    optimum; otherwise the rows and columns with a gated entry go to the full solver.
    """
    cost = np.asarray(cost, float)
    n_tracks, n_plots = cost.shape
    inside = cost < gate                            # False for NaN too
    rows, cols = np.nonzero(inside)
    per_track = np.bincount(rows, minlength=n_tracks)
    per_plot = np.bincount(cols, minlength=n_plots)
    if np.count_nonzero(per_track) < len(rows) or np.count_nonzero(per_plot) < len(rows):
        # Only rows and columns with a gated entry can take part: solve the smaller problem.
        r_idx = np.flatnonzero(per_track)
        c_idx = np.flatnonzero(per_plot)
        sub = np.ix_(r_idx, c_idx)
        sub_inside = inside[sub]
        sub_r, sub_c = linear_sum_assignment(np.where(sub_inside, cost[sub] - gate, 0.0))
        keep = sub_inside[sub_r, sub_c]
        rows, cols = r_idx[sub_r[keep]], c_idx[sub_c[keep]]    # rows ascending, as LSA returns them
        per_track = np.bincount(rows, minlength=n_tracks)
        per_plot = np.bincount(cols, minlength=n_plots)
    pairs = np.empty((len(rows), 2), np.intp)
    pairs[:, 0], pairs[:, 1] = rows, cols
    return Assignment(pairs=pairs, unassigned_tracks=(per_track == 0).nonzero()[0],
                      unassigned_plots=(per_plot == 0).nonzero()[0])


def associate(z: np.ndarray, h: np.ndarray, S: np.ndarray, gate_prob: float,
              residual: Residual | None = None) -> Assignment:
    """Gated GNN of plots ``z`` (M, m) to tracks with predicted plots ``h`` (K, m) and covariances ``S``."""
    z = np.asarray(z, float)
    gate = gate_threshold(gate_prob, z.shape[-1])
    if len(h) == 0 or len(z) == 0:
        return Assignment(pairs=np.empty((0, 2), np.intp), unassigned_tracks=np.arange(len(h)),
                          unassigned_plots=np.arange(len(z)))
    return gnn_assign(mahalanobis_cost(z, h, S, residual, gate), gate)
