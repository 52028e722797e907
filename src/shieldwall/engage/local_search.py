"""The fast WTA solver: maximum-marginal-return greedy, then local search over shot moves, then (while
the budget lasts) iterated local search from perturbed plans. Anytime: the best plan so far is always
feasible.

One round of the local search evaluates every move of one shot at once, as NumPy matrices over the
engaged cells (battery, threat) of the plan:

- *relocate*: a shot of battery b moves from threat t to threat t' (cells x threats);
- *swap*: two shots of different batteries at different threats exchange their threats (cells x cells);
- *replace*: a shot at t is fired by another battery with a round to spare instead (cells x batteries);
- *add* / *drop*: a spare round is fired, or a shot whose cost exceeds what it removes is dropped.

Every move's change of the objective is exact (only the one or two threats it touches change). The
round applies the best improving moves that share no battery or threat, so each stays exact and
feasible, and repeats until no move improves: a local optimum of the swap/relocate neighbourhood
(the two-exchange neighbourhood of Ahuja et al., 2007). Perturbation re-seeds from the best plan with
random relocations; its generator is seeded, and a budget given as a number of perturbations
(``kicks``) keeps the result deterministic, as the simulation needs.
"""

from __future__ import annotations

import time

import numpy as np

from shieldwall.engage.assignment import greedy
from shieldwall.engage.problem import WtaProblem

#: Moves considered per kind and round (the best ones); bounds the conflict resolution's Python loop.
_MOVES_PER_KIND = 256
#: Relative objective decrease below which a move does not count as an improvement.
_REL_TOL = 1e-12
#: Candidate entries per row and per column of the sparse linear assignment of :func:`assignment_start`.
_MATCH_CANDIDATES = 20
_DENSE_MATCH = 250_000
#: Largest rounds x slots matrix the assignment start builds (beyond it the greedy start alone).
_MAX_MATCH_ENTRIES = 4_000_000
#: Perturbation rounds by default: KICK_CELLS / (B T), at most MAX_KICKS (a fixed amount of work).
KICK_CELLS, MAX_KICKS = 2_000, 32
#: Instances of at most this many (battery, threat) cells get the two-move-deep search at each local
#: optimum (its cost grows with the square of the moves).
LOOKAHEAD_CELLS = 64
#: A perturbation relocates between one and this fraction of the engaged cells (at least two), at random.
_KICK_FRACTION = 0.3


class _Plan:
    """A feasible shot matrix with the per-battery and per-threat sums the moves need."""

    def __init__(self, problem: WtaProblem, counts: np.ndarray):
        self.p = problem
        self.n = np.array(counts, np.int64)
        self.left = problem.inventory - self.n.sum(axis=1)
        self.used = (self.n > 0).sum(axis=1)
        self.at = self.n.sum(axis=0)
        self.surviving = problem.value * np.exp(np.einsum("bt,bt->t", self.n, problem.log_q))

    def objective(self) -> float:
        return float(self.surviving.sum() + self.p.cost @ (self.p.inventory - self.left))

    def shift(self, b: int, t: int, k: int) -> None:
        """Add ``k`` (+1 or -1) shots of battery ``b`` at threat ``t``."""
        before = self.n[b, t]
        self.n[b, t] += k
        self.left[b] -= k
        self.used[b] += int(self.n[b, t] > 0) - int(before > 0)
        self.at[t] += k
        self.surviving[t] = self.p.value[t] * np.exp(self.n[:, t] @ self.p.log_q[:, t])


def _best(delta: np.ndarray, ok: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices and values of the (at most ``_MOVES_PER_KIND``) most improving allowed moves."""
    idx = np.flatnonzero(ok & (delta < -tol))
    d = delta.ravel()[idx]
    if idx.size > _MOVES_PER_KIND:
        best = np.argpartition(d, _MOVES_PER_KIND - 1)[:_MOVES_PER_KIND]
        idx, d = idx[best], d[best]
    return idx, d


Move = tuple[float, tuple[tuple[int, int, int], ...]]  # (objective change, shifts (battery, threat, k))


def _moves(plan: _Plan, tol: float) -> list[Move]:
    """The best improving moves of each kind, each as its objective change and its shot shifts."""
    p, n = plan.p, plan.n
    bi, ti = np.nonzero(n)
    if p.shape[0] == 0 or p.shape[1] == 0:
        return []
    q = np.exp(p.log_q)
    ev = plan.surviving
    rest = ev[ti] / q[bi, ti]  # value surviving at t_i without one of the cell's shots
    single = n[bi, ti] == 1
    open_t = ~p.engaged & (plan.at < p.salvo)
    channel_free = plan.used < p.channels
    out: list[Move] = []

    def collect(delta, ok, shifts):
        for i, d in zip(*_best(delta, ok, tol)):
            out.append((float(d), shifts(*np.unravel_index(i, delta.shape))))

    # relocate: (cells, T)
    ok_rel = (p.pk[bi] > 0) & open_t[None, :] & (ti[:, None] != np.arange(p.shape[1])[None, :])
    ok_rel &= (n[bi] > 0) | (plan.used[bi] - single < p.channels[bi])[:, None]
    if p.one_battery_per_threat:
        ok_rel &= n[bi] == plan.at[None, :]
    collect((rest - ev[ti])[:, None] - ev[None, :] * p.pk[bi], ok_rel,
            lambda i, t: ((bi[i], ti[i], -1), (bi[i], t, 1)))
    # swap: (cells, cells); m[i, j] = change at t_i when b_j's shot replaces b_i's
    m = rest[:, None] * q[bi[None, :], ti[:, None]] - ev[ti][:, None]
    n_ij = n[bi[:, None], ti[None, :]]  # shots of b_i at t_j
    ch_ok = plan.used[bi][:, None] - single[:, None] + (n_ij == 0) <= p.channels[bi][:, None]
    ok = (p.pk[bi[None, :], ti[:, None]] > 0) & ch_ok
    ok &= ok.T & (bi[:, None] != bi[None, :]) & (ti[:, None] != ti[None, :])
    if p.one_battery_per_threat:
        ok &= single[:, None] & single[None, :]
    collect(np.triu(m + m.T), np.triu(ok),
            lambda i, j: ((bi[i], ti[i], -1), (bi[i], ti[j], 1), (bi[j], ti[j], -1), (bi[j], ti[i], 1)))
    # chain: cell i's shot moves to its best other threat t'', cell j's battery takes its place at
    # t_i, and t_j loses j's shot; (cells, cells), with each cell's two best t'' (one may be t_j)
    if bi.size > 1 and p.shape[1] > 1:
        gain = np.where(ok_rel, -ev[None, :] * p.pk[bi], np.inf)
        top = np.argpartition(gain, 1, axis=1)[:, :2]
        top_gain = np.take_along_axis(gain, top, axis=1)
        clash = top[:, 0][:, None] == ti[None, :]
        alt = np.where(clash, top_gain[:, 1][:, None], top_gain[:, 0][:, None])
        dest = np.where(clash, top[:, 1][:, None], top[:, 0][:, None])
        ok = ch_ok.T & (p.pk[bi[None, :], ti[:, None]] > 0) & np.isfinite(alt)
        ok &= (bi[:, None] != bi[None, :]) & (ti[:, None] != ti[None, :]) & (dest != ti[:, None])
        if p.one_battery_per_threat:
            ok &= single[:, None] & single[None, :]
        collect(m + (rest - ev[ti])[None, :] + alt, ok,
                lambda i, j: ((bi[i], ti[i], -1), (bi[i], dest[i, j], 1), (bi[j], ti[j], -1), (bi[j], ti[i], 1)))
    # replace: (cells, B)
    ok = (plan.left > 0)[None, :] & (p.pk[:, ti].T > 0) & (bi[:, None] != np.arange(p.shape[0])[None, :])
    ok &= (n[:, ti].T > 0) | channel_free[None, :]
    if p.one_battery_per_threat:
        ok &= single[:, None]
    collect(rest[:, None] * q[:, ti].T - ev[ti][:, None] + p.cost[None, :] - p.cost[bi][:, None], ok,
            lambda i, b: ((bi[i], ti[i], -1), (b, ti[i], 1)))
    # add: (B, T), and drop: (cells,)
    ok = (p.pk > 0) & (plan.left > 0)[:, None] & open_t[None, :] & ((n > 0) | channel_free[:, None])
    if p.one_battery_per_threat:
        ok &= n == plan.at[None, :]
    collect(p.cost[:, None] - ev[None, :] * p.pk, ok, lambda b, t: ((b, t, 1),))
    collect(rest - ev[ti] - p.cost[bi], np.ones(bi.size, bool), lambda i: ((bi[i], ti[i], -1),))
    _engagement_moves(plan, bi, ti, q, collect)
    return out


def _engagement_moves(plan: _Plan, bi: np.ndarray, ti: np.ndarray, q: np.ndarray, collect) -> None:
    """Moves of whole engagements (all shots of a battery at a threat), which one-shot moves cannot
    make under ``one_battery_per_threat``: hand one to another battery, which fires as many shots as
    its rounds and the salvo cap allow; and, for multi-shot engagements, swap the threats of two or
    move one to another threat."""
    p, n = plan.p, plan.n
    k = n[bi, ti]
    ev = plan.surviving
    rest = ev[ti] / q[bi, ti] ** k  # value surviving at t_i without the whole engagement
    spare = np.flatnonzero(plan.left > 0)  # batteries that could take an engagement over
    # hand over: (cells, batteries with rounds left)
    fill = np.minimum(plan.left[spare][None, :], (p.salvo[ti] - plan.at[ti] + k)[:, None])
    ok = (fill >= 1) & (p.pk[np.ix_(spare, ti)].T > 0) & (bi[:, None] != spare[None, :])
    ok &= (n[np.ix_(spare, ti)].T > 0) | (plan.used[spare] < p.channels[spare])[None, :]
    delta = (rest[:, None] * q[np.ix_(spare, ti)].T ** fill - ev[ti][:, None] + fill * p.cost[spare][None, :]
             - (k * p.cost[bi])[:, None])
    collect(delta, ok, lambda i, j: ((bi[i], ti[i], -k[i]), (spare[j], ti[i], fill[i, j])))
    many = np.flatnonzero(k > 1)
    if not many.size:
        return
    mb, mt, mk, mr = bi[many], ti[many], k[many], rest[many]
    # swap with any other engagement j: (many, cells)
    delta = (mr[:, None] * q[bi[None, :], mt[:, None]] ** k[None, :] - ev[mt][:, None]
             + rest[None, :] * q[mb[:, None], ti[None, :]] ** mk[:, None] - ev[ti][None, :])
    ok = (p.pk[mb[:, None], ti[None, :]] > 0) & (p.pk[bi[None, :], mt[:, None]] > 0)
    ok &= (mb[:, None] != bi[None, :]) & (mt[:, None] != ti[None, :])
    ok &= (n[bi[None, :], mt[:, None]] == 0) & (n[mb[:, None], ti[None, :]] == 0)
    ok &= plan.at[mt][:, None] - mk[:, None] + k[None, :] <= p.salvo[mt][:, None]
    ok &= plan.at[ti][None, :] - k[None, :] + mk[:, None] <= p.salvo[ti][None, :]
    collect(delta, ok, lambda i, j: ((mb[i], mt[i], -mk[i]), (mb[i], ti[j], mk[i]),
                                      (bi[j], ti[j], -k[j]), (bi[j], mt[i], k[j])))
    # move a whole engagement to another threat: (many, T)
    ok = (p.pk[mb] > 0) & ~p.engaged[None, :] & (plan.at[None, :] + mk[:, None] <= p.salvo[None, :])
    ok &= mt[:, None] != np.arange(p.shape[1])[None, :]
    if p.one_battery_per_threat:
        ok &= n[mb] == plan.at[None, :]
    collect((mr - ev[mt])[:, None] + ev[None, :] * (q[mb] ** mk[:, None] - 1.0), ok,
            lambda i, t: ((mb[i], mt[i], -mk[i]), (mb[i], t, mk[i])))


def _lookahead(plan: _Plan, tol: float) -> list[Move]:
    """Depth-two search: the best pair of moves (any first move, then the best move after it) whose
    sum improves the plan by more than ``tol``, as one compound move (empty list: none does). It finds
    the exchanges a single move cannot make, e.g. two batteries trading threats so that one of them
    can then put a second round on its new threat."""
    best: Move | None = None
    for delta, shifts in _moves(plan, -np.inf):
        trial = _Plan(plan.p, plan.n)
        for b, t, k in shifts:
            trial.shift(int(b), int(t), int(k))
        follow = _moves(trial, delta + tol)
        if not follow:
            continue
        second = min(follow, key=lambda m: m[0])
        if best is None or delta + second[0] < best[0]:
            best = (delta + second[0], tuple(shifts) + tuple(second[1]))
    return [best] if best is not None else []


def descend(plan: _Plan, deadline: float = np.inf) -> int:
    """Local search on ``plan`` in place until no move improves (or ``deadline``, perf_counter
    seconds, passes); returns the number of rounds. On instances of at most :data:`LOOKAHEAD_CELLS`
    (battery, threat) cells a local optimum is also searched two moves deep (:func:`_lookahead`)."""
    rounds = 0
    while time.perf_counter() < deadline:
        tol = _REL_TOL * max(1.0, abs(plan.objective()))
        moves = sorted(_moves(plan, tol), key=lambda m: m[0])
        if not moves and plan.p.pk.size <= LOOKAHEAD_CELLS:
            moves = _lookahead(plan, tol)
        if not moves:
            break
        rounds += 1
        seen_b: set[int] = set()
        seen_t: set[int] = set()
        for _, shifts in moves:
            bats = {int(b) for b, _, _ in shifts}
            threats = {int(t) for _, t, _ in shifts}
            if seen_b.isdisjoint(bats) and seen_t.isdisjoint(threats):
                for b, t, k in shifts:
                    plan.shift(int(b), int(t), int(k))
                seen_b |= bats
                seen_t |= threats
    return rounds


def _kick(plan: _Plan, rng: np.random.Generator) -> None:
    """Relocate a few random shots to random threats they may legally engage."""
    bi, ti = np.nonzero(plan.n)
    if not bi.size:
        return
    p = plan.p
    size = int(rng.integers(1, max(2, int(_KICK_FRACTION * bi.size)) + 1))
    for i in rng.choice(bi.size, size=min(size, bi.size), replace=False):
        b, t = int(bi[i]), int(ti[i])
        if plan.n[b, t] == 0:
            continue
        single = plan.n[b, t] == 1
        ok = (p.pk[b] > 0) & ~p.engaged & (plan.at < p.salvo) & (np.arange(p.shape[1]) != t)
        ok &= (plan.n[b] > 0) | (plan.used[b] - single < p.channels[b])
        if p.one_battery_per_threat:
            ok &= plan.n[b] == plan.at
        targets = np.flatnonzero(ok)
        if targets.size:
            plan.shift(b, t, -1)
            plan.shift(b, int(rng.choice(targets)), +1)


def _max_weight_matching(worth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of a maximum-weight matching of ``worth`` (R, C) over its positive entries.

    Dense LAPJV (:func:`scipy.optimize.linear_sum_assignment`, non-positive entries as 0, i.e. left
    unmatched) up to :data:`_DENSE_MATCH` entries. Larger problems first try sparse LAPJV
    (:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`, ten times faster at 1000 x 1000)
    on each row's and each column's :data:`_MATCH_CANDIDATES` best positive entries: the best
    matching that covers the smaller side within them, a heuristic (exact on a complete positive
    matrix whose optimum uses only those entries)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    n_r, n_c = worth.shape
    k = _MATCH_CANDIDATES
    rows = cols = None
    if worth.size > _DENSE_MATCH and min(n_r, n_c) > k:
        keep = np.zeros(worth.shape, bool)
        keep[np.arange(n_r)[:, None], np.argpartition(-worth, k - 1, axis=1)[:, :k]] = True
        keep[np.argpartition(-worth, k - 1, axis=0)[:k], np.arange(n_c)[None, :]] = True
        keep &= worth > 0
        top = float(worth.max(initial=0.0)) + 1.0
        try:
            rows, cols = min_weight_full_bipartite_matching(csr_array((top - worth[keep], np.nonzero(keep)),
                                                                      shape=worth.shape))
        except ValueError:  # no matching covers the smaller side within the candidates
            pass
    if rows is None:
        rows, cols = linear_sum_assignment(np.where(worth > 0, -worth, 0.0))
    good = worth[rows, cols] > 0
    return rows[good], cols[good]


def assignment_start(problem: WtaProblem) -> np.ndarray:
    """A feasible plan from one linear assignment of interceptor rounds to shot slots, completed by the
    greedy. Slot k of threat t is worth v_t pk[b, t] (1 - mean pk_t)^k - cost_b to a round of battery b
    (the k-th shot's marginal value were every shot at t of average pk), with as many slots per
    threat as spreading all rounds evenly needs. Shots that break a channel limit or
    ``one_battery_per_threat`` (which the assignment ignores) are dropped before the greedy completes
    the plan. Exact when at most one shot per threat is optimal and no such limit binds."""
    p = problem
    n_b, n_t = p.shape
    open_t = np.flatnonzero(~p.engaged & (p.salvo > 0))
    reach = (p.pk[:, open_t] > 0) @ p.salvo[open_t]  # the most rounds a battery could place
    rounds = np.minimum(p.inventory, np.minimum(reach, p.salvo.max(initial=0) * p.channels))
    row_bat = np.repeat(np.arange(n_b), rounds)
    if not row_bat.size or not open_t.size:
        return greedy(p)
    k_max = int(np.ceil(row_bat.size / open_t.size))
    slots = np.minimum(p.salvo[open_t], k_max)
    if row_bat.size * slots.sum() > _MAX_MATCH_ENTRIES:
        return greedy(p)
    slot_t = np.repeat(open_t, slots)
    slot_k = np.concatenate([np.arange(k) for k in slots])
    pk_open = p.pk[:, open_t]
    mean_pk = np.divide(pk_open.sum(axis=0), (pk_open > 0).sum(axis=0), out=np.zeros(open_t.size),
                        where=(pk_open > 0).any(axis=0))
    decay = np.repeat(1.0 - mean_pk, slots) ** slot_k
    worth = p.value[slot_t] * p.pk[:, slot_t] * decay - p.cost[:, None]
    worth = np.where(p.pk[:, slot_t] > 0, worth, 0.0)[row_bat]
    rows, cols = _max_weight_matching(worth)
    counts = np.zeros((n_b, n_t), np.int64)
    np.add.at(counts, (row_bat[rows], slot_t[cols]), 1)
    # Repair what the assignment cannot express: keep each battery's most valuable channels, and
    # under one_battery_per_threat each threat's most valuable battery.
    value_bt = np.where(counts > 0, p.value[None, :] * -np.expm1(counts * p.log_q), 0.0)
    if p.one_battery_per_threat:
        keep = np.argmax(value_bt, axis=0)
        counts[np.arange(n_b)[:, None] != keep[None, :]] = 0
        value_bt[counts == 0] = 0.0
    rank = np.argsort(np.argsort(-value_bt, axis=1, kind="stable"), axis=1, kind="stable")
    counts[(rank >= p.channels[:, None]) | (counts.sum(axis=0) > p.salvo)[None, :]] = 0
    return greedy(p, counts)


def fast_solve(problem: WtaProblem, *, kicks: int | None = None, budget_s: float | None = None, seed: int = 0,
               start: np.ndarray | None = None) -> np.ndarray:
    """Shot matrix (B, T): the better of the assignment and greedy starts (or the feasible ``start``)
    after local search, then ``kicks`` perturbation-and-descent rounds (default: a fixed amount of
    work, :data:`KICK_CELLS` / (B T) rounds, at most :data:`MAX_KICKS`; unbounded when only
    ``budget_s`` is given) while the wall-clock ``budget_s`` [s] lasts. Without ``budget_s`` the
    result depends only on the problem, ``kicks`` and ``seed``."""
    deadline = np.inf if budget_s is None else time.perf_counter() + budget_s
    if kicks is None:
        kicks = np.iinfo(np.int64).max if budget_s is not None else \
            min(MAX_KICKS, KICK_CELLS // max(1, problem.pk.size))
    best_n, best_f = None, np.inf
    for make in (lambda _: start,) if start is not None else (assignment_start, greedy):
        if best_n is not None and time.perf_counter() >= deadline:
            break
        plan = _Plan(problem, make(problem))
        descend(plan, deadline)
        if plan.objective() < best_f:
            best_n, best_f = plan.n.copy(), plan.objective()
    plan = _Plan(problem, best_n)
    rng = np.random.default_rng(seed)
    k = 0
    while k < kicks and time.perf_counter() < deadline:
        k += 1
        _kick(plan, rng)
        descend(plan, deadline)
        if (f := plan.objective()) < best_f:
            best_n, best_f = plan.n.copy(), f
        else:
            plan = _Plan(problem, best_n)
    return best_n
