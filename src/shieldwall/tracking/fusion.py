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
                            tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Fuse n estimates of each of K objects: ``x`` (n, K, d), ``P`` (n, K, d, d) -> (K, d), (K, d, d).

    ``valid`` (n, K) marks which estimates exist (objects may have different numbers; each needs at
    least one). The weights on the simplex minimise ``det`` or ``trace`` of the fused covariance, for
    all objects at once: exactly for two estimates (:func:`_pair_weight`); for three or more by an
    active-set Newton iteration on the simplex (:func:`_simplex_weights`), to ``tol`` or ``max_iter``
    steps.
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
        w[:, many] = _simplex_weights(w[:, many], info[:, many], valid[:, many], criterion, max_iter, tol)

    wi = w[..., None, None] * info
    P_f = np.linalg.inv(np.add.reduce(wi, axis=0))
    x_f = (P_f @ np.add.reduce(wi @ x[..., None], axis=0))[..., 0]
    return x_f, 0.5 * (P_f + P_f.swapaxes(-1, -2))


#: Generalised eigenvalues within this of 1 are taken as exactly 1 (the two estimates agree along them).
EQUAL_EIGEN_TOL = 1e-10


def _pair_weight(P1: np.ndarray, P2: np.ndarray, criterion: str) -> np.ndarray:
    """Optimal CI weight omega (K,) of estimate 1 against estimate 2.

    With W such that W^T P2^-1 W = I and W^T P1^-1 W = diag(lambda) (generalised eigenvectors), the
    fused information ``omega P1^-1 + (1 - omega) P2^-1`` is ``W^-T diag(1 + omega a) W^-1`` with
    ``a = lambda - 1``, so ``log det P = -sum log(1 + omega a) + const`` and
    ``trace P = sum c / (1 + omega a)`` with ``c`` the squared column norms of W: both convex scalar
    functions of omega, minimised on [0, 1] by :func:`_convex_argmin`, vectorised over objects.
    """
    R = np.linalg.cholesky(P2)                                   # P2 = R R^T, W = R U
    M = R.swapaxes(-1, -2) @ np.linalg.solve(P1, R)             # R^T P1^-1 R
    M = 0.5 * (M + M.swapaxes(-1, -2))
    if criterion == "det":
        return _convex_argmin(np.linalg.eigvalsh(M) - 1.0, None)
    lam, U = np.linalg.eigh(M)
    return _convex_argmin(lam - 1.0, np.sum((R @ U) ** 2, axis=-2))


def _convex_argmin(a: np.ndarray, c: np.ndarray | None) -> np.ndarray:
    """Minimiser (K,) on [0, 1] of ``-sum log(1 + omega a)`` (``c`` None) or ``sum c / (1 + omega a)``
    over the last axis of ``a``, ``c`` (K, n) (``1 + omega a > 0`` on [0, 1]).

    The derivative ``phi'`` is increasing. Where ``phi'(1) <= 0`` the answer is 1 (also where ``phi'``
    vanishes, as for equal estimates: entries of ``a`` within :data:`EQUAL_EIGEN_TOL` of zero are
    rounding and count as zero, so the answer does not hang on the last bit of an eigensolver), else where ``phi'(0) >= 0`` it is 0; otherwise Newton's method
    on ``phi'`` from the secant point, each step kept inside the bracket of the root (bisection
    otherwise), until no object's omega moves by 1e-13 (quadratic convergence: the last step leaves
    it at the root to rounding).
    """
    def derivatives(omega):
        t = 1.0 / (1.0 + omega[:, None] * a)
        u = a * t
        if c is None:                         # phi' = -sum a t, phi'' = sum a^2 t^2
            return -np.add.reduce(u, axis=-1), np.add.reduce(u * u, axis=-1)
        ct = c * t                            # phi' = -sum c a t^2, phi'' = 2 sum c a^2 t^3
        return -np.add.reduce(ct * u, axis=-1), 2.0 * np.add.reduce(ct * u * u, axis=-1)

    a = np.where(np.abs(a) <= EQUAL_EIGEN_TOL, 0.0, a)
    k = len(a)
    d0, _ = derivatives(np.zeros(k))
    d1, _ = derivatives(np.ones(k))
    omega = np.where(d1 <= 0.0, 1.0, 0.0)
    inner = np.flatnonzero((d1 > 0.0) & (d0 < 0.0))
    if len(inner):
        a, c = a[inner], None if c is None else c[inner]
        lo, hi = np.zeros(len(inner)), np.ones(len(inner))
        x = d0[inner] / (d0[inner] - d1[inner])
        for _ in range(100):
            slope, curvature = derivatives(x)
            rising = slope > 0.0
            hi = np.where(rising, x, hi)
            lo = np.where(rising, lo, x)
            step = x - slope / curvature
            step = np.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi))
            moved = np.abs(step - x).max()
            x = step
            if moved < 1e-13:
                break
        omega[inner] = x
    return omega


def _simplex_weights(w: np.ndarray, info: np.ndarray, valid: np.ndarray, criterion: str, max_iter: int,
                     tol: float) -> np.ndarray:
    """Optimal CI weights (n, K) on the simplex from a start ``w`` (n, K), over the ``valid`` (n, K)
    estimates with information matrices ``info`` (n, K, d, d).

    Active-set Newton on ``phi(w) = -log det M`` (det) or ``tr M^-1`` (trace), ``M = sum_i w_i I_i``:
    with ``B_i = M^-1 I_i`` the gradient is ``-tr B_i`` (or ``-tr B_i M^-1``) and the Hessian
    ``tr B_i B_j`` (or ``2 tr B_i B_j M^-1``), positive semi-definite (phi is convex). Each step solves
    the Newton system on the active weights with ``sum w = 1``, is cut short where a weight would turn
    negative (that weight leaves the active set) and halved while phi does not decrease; a weight
    whose gradient says it should grow comes back. Stops when every step is below ``tol`` and the
    Karush-Kuhn-Tucker conditions hold, or after ``max_iter`` steps.
    """
    n, k, d = info.shape[:3]
    I = np.moveaxis(info, 0, 1)                                   # (K, n, d, d)
    w = np.ascontiguousarray(w.T)                                 # (K, n)
    ok = np.ascontiguousarray(valid.T)
    active = ok & (w > 0.0)

    def objective(w):
        M = np.einsum("kn,knij->kij", w, I)
        if criterion == "det":
            return -np.linalg.slogdet(M)[1]
        return np.trace(np.linalg.inv(M), axis1=-2, axis2=-1)

    phi = objective(w)
    for _ in range(max_iter):
        Minv = np.linalg.inv(np.einsum("kn,knij->kij", w, I))
        B = Minv[:, None] @ I                                     # (K, n, d, d)
        if criterion == "det":
            grad = -np.trace(B, axis1=-2, axis2=-1)
            hess = np.einsum("knij,kmji->knm", B, B)
        else:
            C = B @ Minv[:, None]
            grad = -np.trace(C, axis1=-2, axis2=-1)
            hess = 2.0 * np.einsum("knij,kmji->knm", B, C)
        lam = -np.sum(w * grad, axis=1, keepdims=True)           # the active weights' common gradient
        back = ok & ~active & (-grad > lam * (1.0 + tol))          # would improve phi if it grew
        active |= back
        # Equality-constrained Newton system on the active weights; inactive ones held at zero.
        kkt = np.zeros((k, n + 1, n + 1))
        kkt[:, :n, :n] = np.where(active[:, :, None] & active[:, None, :], hess, 0.0)
        kkt[:, :n, :n] += np.eye(n) * ~active[:, :, None]
        kkt[:, :n, n] = kkt[:, n, :n] = active
        rhs = np.zeros((k, n + 1))
        rhs[:, :n] = np.where(active, -grad, 0.0)
        step = np.linalg.solve(kkt, rhs[..., None])[:, :n, 0]
        cut = (step < 0.0) & (w > 0.0)                          # (a weight at zero that falls is projected)
        shrink = np.where(cut, w / np.where(cut, -step, 1.0), np.inf)
        t = np.minimum(1.0, shrink.min(axis=1))
        for _ in range(30):                                      # halve until phi does not grow
            trial = w + t[:, None] * step
            trial[trial < 1e-12] = 0.0                            # a weight the step emptied is out
            trial /= trial.sum(axis=1, keepdims=True)
            phi_new = objective(trial)
            worse = phi_new > phi + 1e-12 * np.abs(phi)
            if not worse.any():
                break
            t = np.where(worse, 0.5 * t, t)
        w, phi = np.where(worse[:, None], w, trial), np.where(worse, phi, phi_new)
        active &= w > 0.0
        if np.max(np.abs(t[:, None] * step)) < tol and not back.any():
            break
    return w.T


@dataclass(frozen=True, slots=True)
class FusionParams:
    """Fusion-centre settings: gate for new national tracks (6-dof) and the coarse position pre-gate [m]
    before it, the looser gate a bound national track must leave (against every other contributor of
    its system track) to be unbound and bound afresh and how often each nation's bindings are reviewed,
    staleness [s], predictor noise."""

    gate_prob: float = 0.9999
    split_gate_prob: float = 1.0 - 1e-9
    review_s: float = 6.0   # how often [s] a nation's bindings are reviewed (split, merge) as it reports
    pregate_m: float = 100_000.0
    stale_s: float = 10.0
    q_accel: float = 1.0
    criterion: str = "det"
    first_id: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.gate_prob <= self.split_gate_prob < 1.0:
            raise ValueError(f"split_gate_prob={self.split_gate_prob!r}: expected gate_prob <= it < 1")
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
        self._reviewed: dict[int, float] = {}  # nation index -> time [s] of its last binding review
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
        times = np.empty(r)
        times[:] = t_s                                  # scalar or (R,): a copy either way
        t_s = times
        x = np.asarray(x, float).reshape(r, 6)
        P = np.asarray(P, float).reshape(r, 6, 6)
        sorted_ids = np.sort(local_ids)
        if (sorted_ids[1:] == sorted_ids[:-1]).any():
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
        if float(t_s.max()) >= self._reviewed.get(n_idx, -np.inf) + self.params.review_s:
            self._reviewed[n_idx] = float(t_s.max())
            parted = rows[self._parted(rows)]
            if len(parted):  # decorrelation: a national track that left its system track binds afresh
                self._sys[parted] = -1                      # (so it no longer holds its old system track)
                self._sys[parted] = self._bind(n_idx, self._t_s[parted], self._x[parted], self._P[parted])
            alone = rows[self._alone(rows)]
            if len(alone):  # dual tracks: a system track fed by this nation only may be another's object
                self._merge_duals(alone)

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

    def updates(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """System track ids (sorted) and the time [s] of each one's newest contribution, after dropping
        contributions older than ``stale_s``: the same as :meth:`system_tracks` gives, without fusing."""
        self._prune(t_s)
        order = np.argsort(self._sys, kind="stable")
        sorted_sys = self._sys[order]
        first = np.ones(len(order), bool)
        first[1:] = sorted_sys[1:] != sorted_sys[:-1]
        starts = np.flatnonzero(first)
        if not len(starts):
            return sorted_sys, np.empty(0)
        return sorted_sys[first], np.maximum.reduceat(self._t_s[order], starts)

    def system_tracks(self, t_s: float) -> SystemTrackTable:
        """System tracks fused at ``t_s``, after dropping contributions older than ``stale_s``."""
        self._prune(t_s)
        ids, x, P, t_upd, members = self._fuse(t_s)
        return SystemTrackTable(ids=ids, x=x, P=P, t_s=np.full(len(ids), float(t_s)), t_update_s=t_upd,
                                nations=tuple(self._nations), contributors=members)

    def sources(self, system_id: int) -> list[tuple[str, int]]:
        """(nation, national track number) of each national track feeding system track ``system_id``."""
        rows = np.flatnonzero(self._sys == system_id)
        return [(self._nations[int(n)], int(i)) for n, i in zip(self._nation[rows], self._local[rows])]

    # -- internals ---------------------------------------------------------------------------------

    def _find(self, n_idx: int, local_ids: np.ndarray) -> np.ndarray:
        """Contributor row of each (nation, local id), -1 where unknown."""
        rows = np.flatnonzero(self._nation == n_idx)
        out = np.empty(len(local_ids), np.int64)
        out.fill(-1)
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
        out = np.empty(len(x), np.int64)
        unbound = np.arange(len(x))
        others = np.flatnonzero(self._nation != n_idx)
        sys_others = self._sys[others]
        ids = np.unique(sys_others)
        # A nation's distinct tracks are distinct objects: not the system tracks it already feeds.
        ids = ids[~_in_sorted(ids, np.sort(self._sys[self._nation == n_idx]))]
        rows = others[_in_sorted(sys_others, ids)]
        if len(rows):  # coarse pre-gate on straight-line positions: only nearby pairs are weighed
            x_new, P_new = ekf.predict(x, P, t_ref - t_s, self.params.q_accel)
            drift = self._x[rows, :3] + self._x[rows, 3:] * (t_ref - self._t_s[rows])[:, None]
            gap = x_new[:, None, :3] - drift[None]
            new_i, row_j = np.nonzero(np.sqrt(np.add.reduce(gap * gap, axis=-1)) < self.params.pregate_m)
            if len(new_i):
                used = np.zeros(len(rows), bool)
                used[row_j] = True
                row_j = (np.cumsum(used) - 1)[row_j]             # index among the rows used
                rows = rows[used]
                x_old, P_old = ekf.predict(self._x[rows], self._P[rows], t_ref - self._t_s[rows],
                                           self.params.q_accel)
                d2 = ekf.mahalanobis2(x_new[new_i] - x_old[row_j], P_new[new_i] + P_old[row_j])
                cost = np.empty((len(x), len(ids)))
                cost.fill(np.inf)
                np.minimum.at(cost, (new_i, np.searchsorted(ids, self._sys[rows][row_j])), d2)
                result = gnn_assign(cost, gate_threshold(self.params.gate_prob, 6))
                out[result.pairs[:, 0]] = ids[result.pairs[:, 1]]
                unbound = result.unassigned_tracks
        out[unbound] = self._next_id + np.arange(len(unbound))
        self._next_id += len(unbound)
        return out

    def _alone(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows),) whether each contributor row is the only one of its system track."""
        order = np.sort(self._sys)
        count = np.searchsorted(order, self._sys[rows], "right") - np.searchsorted(order, self._sys[rows])
        return count == 1

    def _merge_duals(self, rows: np.ndarray) -> None:
        """Merge the system tracks of contributor ``rows`` with any other system track of the same object:
        one fed by none of the same nations whose contributors lie within the binding gate of theirs
        (flown to a common time). Closest pairs first; the older system track number survives."""
        sys_rows = np.unique(self._sys[rows])
        mine = np.flatnonzero(_in_sorted(self._sys, sys_rows))
        other = np.flatnonzero(~_in_sorted(self._sys, sys_rows))
        if not len(mine) or not len(other):
            return
        # Coarse pre-gate: straight-line positions at a common time within sqrt(28) RSS position sigmas (the
        # velocity's grown over the interval) plus the gravity drop a straight line ignores.
        t_ref = float(max(self._t_s[mine].max(), self._t_s[other].max()))
        dt = t_ref - self._t_s
        drift = self._x[:, :3] + self._x[:, 3:] * dt[:, None]
        var = (np.trace(self._P[:, :3, :3], axis1=1, axis2=2) + dt * dt * np.trace(self._P[:, 3:, 3:], axis1=1, axis2=2))
        gap = drift[mine][:, None, :] - drift[other][None, :, :]
        slack = 28.0 * (var[mine][:, None] + var[other][None, :]) + (5.0 * (dt[mine][:, None] + dt[other][None, :]) ** 2) ** 2
        i, j = np.nonzero((np.add.reduce(gap * gap, axis=-1) < slack)
                          & (self._nation[mine][:, None] != self._nation[other][None, :]))
        if not len(i):
            return
        i, j = mine[i], other[j]
        t_ref = np.maximum(self._t_s[i], self._t_s[j])
        x_i, P_i = ekf.predict(self._x[i], self._P[i], t_ref - self._t_s[i], self.params.q_accel)
        x_j, P_j = ekf.predict(self._x[j], self._P[j], t_ref - self._t_s[j], self.params.q_accel)
        d2 = ekf.mahalanobis2(x_i - x_j, P_i + P_j)
        near = d2 <= gate_threshold(self.params.gate_prob, 6)
        for k in np.flatnonzero(near)[np.argsort(d2[near], kind="stable")]:
            a, b = self._sys[i[k]], self._sys[j[k]]
            if a == b or set(self._nation[self._sys == a]) & set(self._nation[self._sys == b]):
                continue
            keep, gone = min(a, b), max(a, b)
            self._sys[self._sys == gone] = keep

    def _parted(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows),) which contributor ``rows`` lie outside the split gate of every other contributor
        of their system track (the others flown to the row's time)."""
        same = self._sys[rows][:, None] == self._sys[None, :]
        same[np.arange(len(rows)), rows] = False
        r_i, c_j = np.nonzero(same)
        out = np.zeros(len(rows), bool)
        if not len(r_i):
            return out
        k = rows[r_i]
        x_o, P_o = ekf.predict(self._x[c_j], self._P[c_j], self._t_s[k] - self._t_s[c_j], self.params.q_accel)
        d2 = ekf.mahalanobis2(self._x[k] - x_o, self._P[k] + P_o)
        out[r_i] = True
        out[r_i[d2 <= gate_threshold(self.params.split_gate_prob, 6)]] = False
        return out

    def _prune(self, t_s: float) -> None:
        keep = t_s - self._t_s <= self.params.stale_s
        if not keep.all():
            for name in ("_nation", "_local", "_sys", "_t_s", "_x", "_P"):
                setattr(self, name, getattr(self, name)[keep])

    def _fuse(self, t_s: float):
        """(ids, x, P, t_update_s, contributor matrix) of all system tracks fused at ``t_s``."""
        # Contributors sorted by system id (stably); ``first`` marks each system track's first one.
        order = np.argsort(self._sys, kind="stable")
        sorted_sys = self._sys[order]
        first = np.ones(len(order), bool)
        first[1:] = sorted_sys[1:] != sorted_sys[:-1]
        ids = sorted_sys[first]
        k = len(ids)
        rank = np.cumsum(first) - 1                      # system track of each sorted contributor
        group = np.empty(len(order), np.intp)
        group[order] = rank
        members = np.zeros((k, len(self._nations)), bool)
        members[group, self._nation] = True
        if k == 0:
            return ids, np.empty((0, 6)), np.empty((0, 6, 6)), np.empty(0), members
        x, P = ekf.predict(self._x, self._P, t_s - self._t_s, self.params.q_accel)
        # Slot of each contributor within its system track, to lay them out as (n_max, K, ...).
        starts = np.flatnonzero(first)
        slot = np.empty(len(group), np.intp)
        slot[order] = np.arange(len(group)) - starts[rank]
        n_max = int(slot.max()) + 1
        xs = np.zeros((n_max, k, 6))
        Ps = np.empty((n_max, k, 6, 6))
        Ps[:] = np.eye(6)
        valid = np.zeros((n_max, k), bool)
        xs[slot, group], Ps[slot, group], valid[slot, group] = x, P, True
        x_f, P_f = covariance_intersection(xs, Ps, valid, self.params.criterion)
        t_upd = np.maximum.reduceat(self._t_s[order], starts)
        return ids, x_f, P_f, t_upd, members


def _in_sorted(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` occurs in the ascending array ``sorted_set`` (a cheap ``np.isin``)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), bool)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[pos] == values
