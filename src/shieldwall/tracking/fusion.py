"""Track-to-track fusion of national tracks into system tracks by covariance intersection.

National trackers share estimates whose errors are correlated in unknown ways (common process noise,
shared sensors, earlier fusion), so the fused covariance cannot be the naive information sum.
Covariance intersection (Julier & Uhlmann, 1997) fuses ``P^-1 = sum_i w_i P_i^-1`` with convex
weights, which is consistent for any cross-correlation; the weights minimise the determinant (the
default: unit-free, the original choice) or the trace of the fused covariance.

:class:`FusionCentre` keeps the alliance's system tracks: each national track (nation, local id) is
bound to one system track when first reported, by gated GNN on the Mahalanobis distance of the state
difference to the system track's contributing tracks; a system track's state is the covariance intersection of the latest state of each of its
contributing national tracks predicted to the requested time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shieldwall.tracking import ekf
from shieldwall.tracking.association import gate_threshold, gnn_assign

#: Optimisation criteria of :func:`covariance_intersection`.
CRITERIA = ("det", "trace")


def covariance_intersection(x: np.ndarray, P: np.ndarray, valid: np.ndarray | None = None,
                            criterion: str = "det", max_iter: int = 50,
                            tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Fuse n estimates of each of K objects: ``x`` (n, K, d), ``P`` (n, K, d, d) -> (K, d), (K, d, d).

    ``valid`` (n, K) marks which estimates exist (objects may have different numbers; each needs at
    least one). The weights on the simplex minimise ``det`` or ``trace`` of the fused covariance, for
    all objects at once: exactly for two estimates (:func:`_pair_weight`); for three or more by the
    multiplicative algorithm of optimal experimental design (w_i <- w_i g_i with g_i the normalised
    gradient, power 1 for det and 1/2 for trace), which improves the objective monotonically (Yu,
    Ann. Statist. 38, 2010) and stops after ``max_iter`` sweeps or when no weight moves by ``tol``.
    Any weights give a consistent estimate; the optimisation only makes it tighter.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion={criterion!r}: expected one of {CRITERIA}")
    x = np.asarray(x, float)
    P = np.asarray(P, float)
    n, k, d = x.shape
    valid = np.ones((n, k), bool) if valid is None else np.asarray(valid, bool)
    count = valid.sum(axis=0)
    if not np.all(count >= 1):
        raise ValueError("covariance_intersection: every object needs at least one valid estimate")
    # Missing estimates get a harmless identity covariance and zero weight.
    P = np.where(valid[..., None, None], P, np.eye(d))
    info = np.linalg.inv(P)
    w = valid / count

    pair = np.flatnonzero(count == 2)
    if len(pair):
        first, second = np.argsort(~valid[:, pair], axis=0, kind="stable")[:2]
        omega = _pair_weight(P[first, pair], P[second, pair], criterion)
        w[first, pair], w[second, pair] = omega, 1.0 - omega

    many = np.flatnonzero(count >= 3)
    if len(many):
        w[:, many] = _simplex_weights(w[:, many], info[:, many], criterion, max_iter, tol)

    wi = w[..., None, None] * info
    P_f = np.linalg.inv(wi.sum(axis=0))
    x_f = np.einsum("kij,kj->ki", P_f, np.einsum("nkij,nkj->ki", wi, x))
    return x_f, 0.5 * (P_f + np.swapaxes(P_f, -1, -2))


def _pair_weight(P1: np.ndarray, P2: np.ndarray, criterion: str) -> np.ndarray:
    """Optimal CI weight omega (K,) of estimate 1 against estimate 2.

    With W such that W^T P2^-1 W = I and W^T P1^-1 W = diag(lambda) (generalised eigenvectors), the
    fused information ``omega P1^-1 + (1 - omega) P2^-1`` is ``W^-T diag(1 + omega a) W^-1`` with
    ``a = lambda - 1``, so ``log det P = -sum log(1 + omega a) + const`` and
    ``trace P = sum c / (1 + omega a)`` with ``c`` the squared column norms of W: both convex scalar
    functions of omega, minimised on [0, 1] by bisection on the derivative, vectorised over objects.
    """
    R = np.linalg.cholesky(P2)                                   # P2 = R R^T, W = R U
    M = np.swapaxes(R, -1, -2) @ np.linalg.solve(P1, R)         # R^T P1^-1 R
    lam, U = np.linalg.eigh(0.5 * (M + np.swapaxes(M, -1, -2)))
    a = lam - 1.0
    if criterion == "det":
        c, power = np.ones_like(a), 1
    else:
        c, power = np.sum((R @ U) ** 2, axis=-2), 2
    lo, hi = np.zeros(len(a)), np.ones(len(a))
    for _ in range(52):                                          # to double precision
        mid = 0.5 * (lo + hi)
        slope = -np.sum(c * a / (1.0 + mid[:, None] * a) ** power, axis=-1)
        rising = slope > 0.0
        hi = np.where(rising, mid, hi)
        lo = np.where(rising, lo, mid)
    return 0.5 * (lo + hi)


def _simplex_weights(w: np.ndarray, info: np.ndarray, criterion: str, max_iter: int,
                     tol: float) -> np.ndarray:
    """Multiplicative-algorithm CI weights (n, K) from a starting point ``w`` on the simplex."""
    d = info.shape[-1]
    for _ in range(max_iter):
        P_f = np.linalg.inv(np.einsum("nk,nkij->kij", w, info))
        if criterion == "det":
            w_new = w * np.einsum("kij,nkji->nk", P_f, info) / d      # sums to 1 by construction
        else:
            g = np.einsum("kij,nkji->nk", P_f @ P_f, info) / np.trace(P_f, axis1=-2, axis2=-1)
            w_new = w * np.sqrt(g)
        w_new /= w_new.sum(axis=0)
        done = np.max(np.abs(w_new - w)) < tol
        w = w_new
        if done:
            break
    return w


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Fusion-centre settings: gate for new national tracks (6-dof) and the coarse position pre-gate [m]
    before it, staleness [s], predictor noise."""

    gate_prob: float = 0.9999
    pregate_m: float = 100_000.0
    stale_s: float = 10.0
    q_accel: float = 1.0
    criterion: str = "det"
    first_id: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.gate_prob < 1.0:
            raise ValueError(f"gate_prob={self.gate_prob!r}: expected a probability strictly between 0 and 1")
        if not self.stale_s > 0.0:
            raise ValueError(f"stale_s={self.stale_s!r}: expected a positive number of seconds")
        if self.criterion not in CRITERIA:
            raise ValueError(f"criterion={self.criterion!r}: expected one of {CRITERIA}")


@dataclass(frozen=True, slots=True)
class SystemTrackTable:
    """Fused system tracks: ``x`` (K, 6), ``P`` (K, 6, 6) at ``t_s`` (K,), newest contribution ``t_update_s``.

    ``contributors`` (K, len(nations)) is True where that nation's track feeds the system track.
    """

    ids: np.ndarray
    x: np.ndarray
    P: np.ndarray
    t_s: np.ndarray
    t_update_s: np.ndarray
    nations: tuple[str, ...]
    contributors: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def nations_of(self, i: int) -> tuple[str, ...]:
        """Names of the nations contributing to the i-th system track."""
        return tuple(name for name, c in zip(self.nations, self.contributors[i]) if c)


class FusionCentre:
    """System tracks from national track reports; see the module docstring."""

    def __init__(self, params: FusionParams = FusionParams()) -> None:
        self.params = params
        self._nations: list[str] = []
        self._next_id = int(params.first_id)
        self._nation = np.empty(0, np.int64)   # one row per contributing national track
        self._local = np.empty(0, np.int64)
        self._sys = np.empty(0, np.int64)
        self._t_s = np.empty(0)
        self._x = np.empty((0, 6))
        self._P = np.empty((0, 6, 6))

    def ingest(self, nation: str, local_ids: np.ndarray, x: np.ndarray, P: np.ndarray,
               t_s: np.ndarray | float) -> np.ndarray:
        """Take one nation's track reports; returns the system track id (R,) of each report.

        ``local_ids`` (R,) are the nation's track numbers (unique within a call); ``x`` (R, 6) and
        ``P`` (R, 6, 6) are valid at ``t_s`` (R,) or scalar (e.g. a :class:`TrackTable`'s
        ``t_update_s``). Known national tracks replace their previous state (unless the report is
        older); new ones join a system track or start one.
        """
        local_ids = np.asarray(local_ids, np.int64).reshape(-1)
        r = len(local_ids)
        t_s = np.broadcast_to(np.asarray(t_s, float), (r,)).copy()
        x = np.asarray(x, float).reshape(r, 6)
        P = np.asarray(P, float).reshape(r, 6, 6)
        if len(np.unique(local_ids)) != r:
            raise ValueError(f"ingest({nation!r}): local track ids repeat within one call")
        if r == 0:
            return np.empty(0, np.int64)
        if nation not in self._nations:
            self._nations.append(nation)
        n_idx = self._nations.index(nation)
        self._prune(float(t_s.max()))

        row = self._find(n_idx, local_ids)
        known = row >= 0
        newer = known.copy()
        newer[known] = t_s[known] >= self._t_s[row[known]]
        rows = row[newer]
        self._t_s[rows], self._x[rows], self._P[rows] = t_s[newer], x[newer], P[newer]

        sys_ids = np.empty(r, np.int64)
        sys_ids[known] = self._sys[row[known]]
        new = np.flatnonzero(~known)
        if len(new):
            sys_ids[new] = self._bind(n_idx, t_s[new], x[new], P[new])
            self._nation = np.concatenate([self._nation, np.full(len(new), n_idx)])
            self._local = np.concatenate([self._local, local_ids[new]])
            self._sys = np.concatenate([self._sys, sys_ids[new]])
            self._t_s = np.concatenate([self._t_s, t_s[new]])
            self._x = np.concatenate([self._x, x[new]])
            self._P = np.concatenate([self._P, P[new]])
        return sys_ids

    def system_tracks(self, t_s: float) -> SystemTrackTable:
        """System tracks fused at ``t_s``, after dropping contributions older than ``stale_s``."""
        self._prune(t_s)
        ids, x, P, t_upd, members = self._fuse(t_s)
        return SystemTrackTable(ids=ids, x=x, P=P, t_s=np.full(len(ids), float(t_s)), t_update_s=t_upd,
                                nations=tuple(self._nations), contributors=members)

    # -- internals ---------------------------------------------------------------------------------

    def _find(self, n_idx: int, local_ids: np.ndarray) -> np.ndarray:
        """Contributor row of each (nation, local id), -1 where unknown."""
        rows = np.flatnonzero(self._nation == n_idx)
        out = np.full(len(local_ids), -1, np.int64)
        if len(rows):
            order = np.argsort(self._local[rows])
            sorted_local = self._local[rows][order]
            pos = np.minimum(np.searchsorted(sorted_local, local_ids), len(rows) - 1)
            hit = sorted_local[pos] == local_ids
            out[hit] = rows[order[pos[hit]]]
        return out

    def _bind(self, n_idx: int, t_s: np.ndarray, x: np.ndarray, P: np.ndarray) -> np.ndarray:
        """System ids for new national tracks: gated GNN to system tracks this nation does not feed yet.

        The distance of a new track to a system track is its smallest Mahalanobis distance to any of
        that system track's contributing national tracks (all predicted to the newest report time):
        the same gate as against the fused state, without fusing every system track on each report.
        """
        t_ref = float(t_s.max())
        x_new, P_new = ekf.predict(x, P, t_ref - t_s, self.params.q_accel)
        out = np.empty(len(x), np.int64)
        unbound = np.arange(len(x))
        others = np.flatnonzero(self._nation != n_idx)
        ids = np.unique(self._sys[others])
        ids = ids[~np.isin(ids, self._sys[self._nation == n_idx])]  # a nation's distinct tracks are distinct objects
        rows = others[np.isin(self._sys[others], ids)]
        if len(rows):  # coarse pre-gate on straight-line positions: only nearby pairs are weighed
            drift = self._x[rows, :3] + self._x[rows, 3:] * (t_ref - self._t_s[rows])[:, None]
            new_i, row_j = np.nonzero(np.linalg.norm(x_new[:, None, :3] - drift[None], axis=-1) < self.params.pregate_m)
            used, row_j = np.unique(row_j, return_inverse=True)
            rows = rows[used]
            x_old, P_old = ekf.predict(self._x[rows], self._P[rows], t_ref - self._t_s[rows], self.params.q_accel)
            d2 = ekf.mahalanobis2(x_new[new_i] - x_old[row_j], P_new[new_i] + P_old[row_j])
            cost = np.full((len(x), len(ids)), np.inf)
            np.minimum.at(cost, (new_i, np.searchsorted(ids, self._sys[rows][row_j])), d2)
            result = gnn_assign(cost, gate_threshold(self.params.gate_prob, 6))
            out[result.pairs[:, 0]] = ids[result.pairs[:, 1]]
            unbound = result.unassigned_tracks
        out[unbound] = self._next_id + np.arange(len(unbound))
        self._next_id += len(unbound)
        return out

    def _prune(self, t_s: float) -> None:
        keep = t_s - self._t_s <= self.params.stale_s
        if not keep.all():
            for name in ("_nation", "_local", "_sys", "_t_s", "_x", "_P"):
                setattr(self, name, getattr(self, name)[keep])

    def _fuse(self, t_s: float):
        """(ids, x, P, t_update_s, contributor matrix) of all system tracks fused at ``t_s``."""
        ids, group = np.unique(self._sys, return_inverse=True)
        k = len(ids)
        members = np.zeros((k, len(self._nations)), bool)
        members[group, self._nation] = True
        if k == 0:
            return ids, np.empty((0, 6)), np.empty((0, 6, 6)), np.empty(0), members
        x, P = ekf.predict(self._x, self._P, t_s - self._t_s, self.params.q_accel)
        # Slot of each contributor within its system track, to lay them out as (n_max, K, ...).
        order = np.argsort(group, kind="stable")
        starts = np.searchsorted(group[order], np.arange(k))
        slot = np.empty(len(group), np.int64)
        slot[order] = np.arange(len(group)) - starts[group[order]]
        n_max = int(slot.max()) + 1
        xs = np.zeros((n_max, k, 6))
        Ps = np.broadcast_to(np.eye(6), (n_max, k, 6, 6)).copy()
        valid = np.zeros((n_max, k), bool)
        xs[slot, group], Ps[slot, group], valid[slot, group] = x, P, True
        x_f, P_f = covariance_intersection(xs, Ps, valid, self.params.criterion)
        t_upd = np.full(k, -np.inf)
        np.maximum.at(t_upd, group, self._t_s)
        return ids, x_f, P_f, t_upd, members
