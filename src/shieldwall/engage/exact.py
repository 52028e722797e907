"""The exact WTA solver: a target-plan MILP, made finite by column generation and reduced-cost column
enumeration, solved by HiGHS.

**Model.** A *plan* of threat t is a shot vector (n_b) over the batteries (total at most t's salvo
cap; one battery only under ``one_battery_per_threat``). Its cost is linear data:
c = v_t * prod_b q_bt ** n_b + sum_b cost_b n_b, so the WTA is the set-partitioning MILP

    min sum_j c_j x_j   s.t.  sum_{j of t} x_j = 1 (each threat one plan, the empty one included),
    sum_j n_bj x_j <= inventory_b,  sum_j [n_bj > 0] x_j <= channels_b,  x binary,

exact, but with exponentially many columns (Dantzig-Wolfe form of the target-based WTA).

**Solution.** (1) Column generation solves its LP relaxation: the restricted master is solved by HiGHS
(dual simplex, warm) and priced with duals sigma_t (threat rows), pi_b, rho_b <= 0 (battery rows);
the reduced cost of a plan is v_t prod q^n + sum_b n_b m_b + sum_b [n_b > 0] r_b - sigma_t, with
m_b = cost_b - pi_b >= 0 and r_b = -rho_b >= 0. Pricing is a vectorised greedy over all threats, and
an exact enumeration (below) proves that no column prices out. The LP value z is a lower bound.
(2) Any plan set whose cost is at most UB (the fast solver's objective) uses only columns of reduced
cost at most UB - z (the standard reduced-cost argument: cost = z + sum of the chosen columns'
reduced costs + non-negative slack terms), so (3) enumerating every such column and solving the MILP
over them with HiGHS gives the optimum, with no branching on the exponential model.

**Enumeration.** Per threat, a depth-first search over batteries sorted by price per unit of log-kill
m_b / -ln q_b, adding one shot at a time in canonical order. A subtree is cut when the bound
L + min_y (P e^-y + r y) - sigma (P: the plan's surviving value, L: its linear price, r: the lowest
price per log-kill left, y capped by the shots left) exceeds the threshold: the convex envelope of
the remaining shots' prices lies above r y. The children of a node are evaluated at once (NumPy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shieldwall.engage.problem import WtaProblem

#: Reduced cost below which a column prices out (objective units).
_PRICE_TOL = 1e-9
#: Columns the enumeration may produce before it gives up proving optimality.
MAX_COLUMNS = 400_000
#: Columns the exact pricing adds per threat and round, and the single shots per threat whose pairs
#: the heuristic pricing tries.
_COLUMNS_PER_ROUND = 1
_PAIR_CANDIDATES = 6


@dataclass(frozen=True, slots=True)
class ExactResult:
    """Outcome of :func:`exact_solve`: ``counts`` (B, T) the best plan found, ``objective`` its value,
    ``bound`` a proven lower bound on the optimum, ``optimal`` whether the gap is closed (relative
    gap at most ``gap_tol``), ``model`` the target-plan MILP's columns it ended with (they contain an
    optimal plan set when ``optimal``), ``lp_bound`` the column generation bound."""

    counts: np.ndarray
    objective: float
    bound: float
    optimal: bool
    model: PlanColumns
    lp_bound: float

    @property
    def gap(self) -> float:
        """Relative optimality gap (objective - bound) / objective (0 for a zero objective)."""
        return max(0.0, self.objective - self.bound) / self.objective if self.objective > 0 else 0.0


class PlanColumns:
    """Columns of the target-plan MILP: plan j of threat ``threat[j]`` fires ``plans[j] = (bats,
    shots)`` at cost ``cost[j]``; ``channel_row[b]`` is battery b's channel row (-1: none needed).
    Rows: T threat rows (= 1), B inventory rows (<= inventory), then the channel rows."""

    def __init__(self, problem: WtaProblem, channel_rows: np.ndarray):
        self.p = problem
        n_t, n_b = problem.shape[1], problem.shape[0]
        self.channel_row = np.full(n_b, -1)
        self.channel_row[channel_rows] = n_t + n_b + np.arange(channel_rows.size)
        self.threat: list[int] = []
        self.plans: list[tuple[np.ndarray, np.ndarray]] = []
        self.cost: list[float] = []
        self.keys: set[tuple] = set()

    def add(self, t: int, bats: np.ndarray, shots: np.ndarray) -> bool:
        """Add plan (bats, shots) of threat ``t`` unless present; returns whether it was new."""
        order = np.argsort(bats)
        bats, shots = bats[order], shots[order]
        key = (t, *bats.tolist(), -1, *shots.tolist())
        if key in self.keys:
            return False
        self.keys.add(key)
        p = self.p
        self.threat.append(t)
        self.plans.append((bats, shots))
        self.cost.append(float(p.value[t] * np.exp(shots @ p.log_q[bats, t]) + p.cost[bats] @ shots))
        return True

    def matrix(self, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSC (starts, row indices, values) of columns ``start:``."""
        n_t = self.p.shape[1]
        starts, rows, vals = [], [], []
        for t, (bats, shots) in zip(self.threat[start:], self.plans[start:]):
            starts.append(len(rows))
            ch = self.channel_row[bats]
            rows += [t, *(n_t + bats).tolist(), *ch[ch >= 0].tolist()]
            vals += [1.0, *shots.astype(float).tolist(), *([1.0] * int((ch >= 0).sum()))]
        return np.array(starts, np.int32), np.array(rows, np.int32), np.array(vals, float)


def _solver(problem: WtaProblem, channel_rows: np.ndarray):
    # The core class: highspy.Highs's constructor enables callbacks, which prints HiGHS's banner on
    # stdout before any option can silence it.
    from highspy import _Highs

    h = _Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    n_b, n_t = problem.shape
    lower = np.concatenate([np.ones(n_t), np.full(n_b + channel_rows.size, -np.inf)])
    upper = np.concatenate([np.ones(n_t), problem.inventory.astype(float),
                            problem.channels[channel_rows].astype(float)])
    h.addRows(lower.size, lower, upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    return h


def _push(h, pool: PlanColumns, start: int) -> None:
    """Add pool columns ``start:`` to the HiGHS model as continuous x in [0, 1]."""
    k = len(pool.cost) - start
    if k:
        starts, rows, vals = pool.matrix(start)
        h.addCols(k, np.array(pool.cost[start:]), np.zeros(k), np.ones(k), rows.size, starts, rows, vals)


def _prices(h, problem: WtaProblem, channel_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Duals as (sigma (T,), m (B,), r (B,)), clipped to the signs the LP guarantees."""
    n_b, n_t = problem.shape
    y = np.asarray(h.getSolution().row_dual)
    m = problem.cost + np.maximum(-y[n_t:n_t + n_b], 0.0)
    r = np.zeros(n_b)
    r[channel_rows] = np.maximum(-y[n_t + n_b:], 0.0)
    return y[:n_t], m, r


def _greedy_pricing(problem: WtaProblem, sigma, m, r) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Plans that price out, found for every threat at once: the best single shots and pairs of shots
    among each threat's :data:`_PAIR_CANDIDATES` cheapest single shots, and a plan built shot by shot
    while a shot lowers its reduced cost. Returns (t, bats, shots) per plan."""
    p = problem
    n_b, n_t = p.shape
    n = np.zeros((n_b, n_t), np.int64)
    cap = np.minimum(p.inventory[:, None], p.salvo[None, :]) * (p.pk > 0) * ~p.engaged[None, :]
    surviving = p.value.copy()
    growing = np.ones(n_t, bool)
    while growing.any():
        ok = (n < cap) & (n.sum(axis=0) < p.salvo)[None, :] & growing[None, :]
        if p.one_battery_per_threat:
            ok &= (n > 0) | (n.sum(axis=0) == 0)[None, :]
        step = np.where(ok, surviving[None, :] * -p.pk + m[:, None] + r[:, None] * (n == 0), np.inf)
        b = np.argmin(step, axis=0)
        gain = step[b, np.arange(n_t)]
        growing = gain < -_PRICE_TOL
        t = np.flatnonzero(growing)
        n[b[t], t] += 1
        surviving[t] *= 1.0 - p.pk[b[t], t]
    rc = surviving + m @ n + r @ (n > 0) - sigma
    out = [(int(t), np.flatnonzero(n[:, t]), n[np.flatnonzero(n[:, t]), t]) for t in np.flatnonzero(rc < -_PRICE_TOL)]
    # singles and pairs
    single = np.where(cap > 0, p.value[None, :] * (1.0 - p.pk) + (m + r)[:, None] - sigma[None, :], np.inf)
    k = min(_PAIR_CANDIDATES, n_b)
    top = np.argpartition(single, k - 1, axis=0)[:k] if k < n_b else np.repeat(np.arange(n_b)[:, None], n_t, 1)
    one = np.ones(1, np.int64)
    for i, t in zip(*np.nonzero(np.take_along_axis(single, top, axis=0) < -_PRICE_TOL)):
        out.append((int(t), top[i, t:t + 1], one))
    if p.one_battery_per_threat:
        return out
    i, j = np.triu_indices(k, 1)
    b1, b2 = top[i], top[j]  # (pairs, T)
    cols = np.arange(n_t)[None, :]
    ok = (cap[b1, cols] > 0) & (cap[b2, cols] > 0) & (p.salvo >= 2)[None, :]
    rc2 = p.value[None, :] * (1.0 - p.pk[b1, cols]) * (1.0 - p.pk[b2, cols]) + (m + r)[b1] + (m + r)[b2] - sigma
    for e, t in zip(*np.nonzero(ok & (rc2 < -_PRICE_TOL))):
        pair = np.sort(np.array([b1[e, t], b2[e, t]]))
        out.append((int(t), pair, np.ones(2, np.int64)))
    return out


def _envelope_bound(P: np.ndarray, rate: np.ndarray, y_cap: np.ndarray | float) -> np.ndarray:
    """min over 0 <= y <= y_cap of P e^-y + rate y (the cheapest conceivable completion of a plan);
    rate 0: log-kill is free up to the cap, rate inf: no shot left."""
    P, rate = np.asarray(P, float), np.asarray(rate, float)
    priced = np.isfinite(rate) & (rate > 0)
    safe = np.where(priced, rate, 1.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        y = np.where(priced, np.clip(np.log(P) - np.log(safe), 0.0, y_cap), np.where(rate == 0, y_cap, 0.0))
    return P * np.exp(-y) + np.where(priced, safe * y, 0.0)


def enumerate_plans(problem: WtaProblem, t: int, sigma: float, m: np.ndarray, r: np.ndarray,
                    threshold: float, limit: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Every non-empty plan of threat ``t`` whose reduced cost (prices ``sigma``, ``m``, ``r``) is at
    most ``threshold``, as (bats, shots, reduced cost); raises OverflowError past ``limit`` plans."""
    p = problem
    if p.engaged[t] or p.salvo[t] == 0:
        return []
    bats = np.flatnonzero((p.pk[:, t] > 0) & (p.inventory > 0))
    if not bats.size:
        return []
    a = p.log_q[bats, t]
    order = np.lexsort((bats, m[bats] / -a))
    bats, a = bats[order], a[order]
    units = np.minimum(p.inventory[bats], p.salvo[t])
    item_bat = np.repeat(np.arange(bats.size), units)  # one item per round, a battery's rounds adjacent
    first = np.r_[True, item_bat[1:] != item_bat[:-1]]
    a_i = a[item_bat]
    price = m[bats][item_bat] + np.where(first, r[bats][item_bat], 0.0)
    rate = (m[bats] / -a)[item_bat]
    rate_after = np.r_[rate[1:], np.inf]  # items are sorted by rate: the lowest rate after each item
    same_next = np.r_[item_bat[1:] == item_bat[:-1], False]  # item i + 1 is another round of i's battery
    if p.one_battery_per_threat:
        rate_after = np.where(same_next, rate_after, np.inf)
    max_cut = float(-a_i.min())
    v, salvo, n_items = p.value[t], int(p.salvo[t]), item_bat.size
    firsts = np.flatnonzero(first)
    found: list[tuple[np.ndarray, np.ndarray, float]] = []
    stack: list[tuple[np.ndarray, float, float]] = [(np.zeros(0, np.int64), 0.0, 0.0)]
    while stack:
        items, log_s, linear = stack.pop()
        depth = items.size
        if depth:
            last = int(items[-1])
            later = firsts[np.searchsorted(firsts, last, "right"):] if not p.one_battery_per_threat else firsts[:0]
            kids = np.concatenate([[last + 1], later]) if same_next[last] else later
        else:
            kids = firsts
        if not kids.size:
            continue
        surv = v * np.exp(log_s + a_i[kids])
        lin = linear + price[kids]
        rc = surv + lin - sigma
        for k in np.flatnonzero(rc <= threshold):
            plan = np.append(items, kids[k])
            b, shots = np.unique(item_bat[plan], return_counts=True)
            found.append((bats[b], shots.astype(np.int64), float(rc[k])))
        if len(found) > limit:
            raise OverflowError(f"more than {limit} plans of threat {t} within the threshold")
        if depth + 1 >= salvo:
            continue
        bound = lin + _envelope_bound(surv, rate_after[kids], max_cut * (salvo - depth - 1)) - sigma
        for k in np.flatnonzero(bound <= threshold)[::-1]:
            stack.append((np.append(items, kids[k]), log_s + a_i[kids[k]], lin[k]))
    return found


def _min_reduced_cost_bound(problem: WtaProblem, sigma, m, r) -> np.ndarray:
    """(T,) a lower bound on each threat's least reduced cost over all its plans, the empty one
    included: the enumeration's bound at its root."""
    p = problem
    rate = np.where(p.pk > 0, m[:, None] / np.maximum(-p.log_q, 1e-300), np.inf).min(axis=0)
    cut = (-p.log_q).max(axis=0) * p.salvo
    return _envelope_bound(p.value, rate, cut) - sigma


def exact_solve(problem: WtaProblem, upper: np.ndarray, *, time_limit_s: float = 60.0,
                gap_tol: float = 1e-9) -> ExactResult:
    """Optimal shot matrix of ``problem``, starting from the feasible plan ``upper`` (e.g. the fast
    solver's; the better it is, the fewer columns the proof needs). Stops at ``time_limit_s`` [s]
    (wall clock) with the best plan and a proven bound."""
    deadline = time.perf_counter() + time_limit_s
    p = problem
    n_b, n_t = p.shape
    upper = np.asarray(upper, np.int64)
    ub = p.objective(upper)
    reach = ((p.pk > 0) & ~p.engaged[None, :]).sum(axis=1)
    channel_rows = np.flatnonzero(p.channels < np.minimum(p.inventory, reach))
    pool = PlanColumns(p, channel_rows)
    for t in range(n_t):
        pool.add(t, np.zeros(0, np.int64), np.zeros(0, np.int64))
        bats = np.flatnonzero(upper[:, t])
        if bats.size:
            pool.add(t, bats, upper[bats, t])
    h = _solver(p, channel_rows)
    _push(h, pool, 0)
    lp = -np.inf
    lower = -np.inf
    while time.perf_counter() < deadline:
        start = len(pool.cost)
        h.run()
        lp = h.getInfo().objective_function_value
        sigma, m, r = _prices(h, p, channel_rows)
        lower = max(lower, lp + np.minimum(_min_reduced_cost_bound(p, sigma, m, r), 0.0).sum())
        for t, bats, shots in _greedy_pricing(p, sigma, m, r):
            pool.add(t, bats, shots)
        if len(pool.cost) == start:  # prove it: exact pricing
            try:
                for t in np.flatnonzero(_min_reduced_cost_bound(p, sigma, m, r) < -_PRICE_TOL):
                    best = sorted(enumerate_plans(p, t, sigma[t], m, r, -_PRICE_TOL, MAX_COLUMNS),
                                  key=lambda x: x[2])[:_COLUMNS_PER_ROUND]
                    for bats, shots, _ in best:
                        pool.add(t, bats, shots)
            except OverflowError:  # pricing cannot be completed: no proof
                return ExactResult(upper, ub, min(lower, ub), False, pool, lp)
            if len(pool.cost) == start:
                lower = max(lower, lp)
                break
        _push(h, pool, start)
    if ub - lower <= gap_tol * max(ub, 1.0) or time.perf_counter() >= deadline:
        return ExactResult(upper, ub, min(lower, ub), ub - lower <= gap_tol * max(ub, 1.0), pool, lp)
    # Every column that can be in a plan set at most as costly as ``upper``.
    sigma, m, r = _prices(h, p, channel_rows)
    threshold = ub - lp + _PRICE_TOL
    final = PlanColumns(p, channel_rows)
    try:
        root = _min_reduced_cost_bound(p, sigma, m, r)
        for t in range(n_t):
            final.add(t, np.zeros(0, np.int64), np.zeros(0, np.int64))
            if root[t] > threshold:
                continue
            for bats, shots, _ in enumerate_plans(p, t, sigma[t], m, r, threshold, MAX_COLUMNS - len(final.cost)):
                final.add(t, bats, shots)
    except OverflowError:
        return ExactResult(upper, ub, min(lower, ub), False, pool, lp)
    return _solve_milp(p, final, channel_rows, upper, ub, lower, lp, deadline, gap_tol)


def _solve_milp(p: WtaProblem, pool: PlanColumns, channel_rows, upper, ub, lower, lp, deadline, gap_tol) -> ExactResult:
    import highspy

    h = _solver(p, channel_rows)
    _push(h, pool, 0)
    k = len(pool.cost)
    h.changeColsIntegrality(k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger, np.uint8))
    h.setOptionValue("mip_rel_gap", gap_tol)
    h.setOptionValue("mip_abs_gap", gap_tol)
    h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.01))
    start = np.zeros(k)
    index = {(t, *b.tolist(), -1, *s.tolist()): j for j, (t, (b, s)) in enumerate(zip(pool.threat, pool.plans))}
    for t in range(p.shape[1]):
        bats = np.flatnonzero(upper[:, t])
        start[index[(t, *bats.tolist(), -1, *upper[bats, t].tolist())]] = 1.0
    h.setSolution(k, np.arange(k, dtype=np.int32), start)
    h.run()
    info = h.getInfo()
    x = np.asarray(h.getSolution().col_value)
    counts = np.zeros(p.shape, np.int64)
    for j in np.flatnonzero(x > 0.5):
        bats, shots = pool.plans[j]
        counts[bats, pool.threat[j]] += shots
    objective = p.objective(counts)
    if objective > ub:
        counts, objective = upper, ub
    bound = min(objective, max(lower, info.mip_dual_bound))
    optimal = objective - bound <= gap_tol * max(objective, 1.0) or h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return ExactResult(counts, objective, objective if optimal else bound, optimal, pool, lp)
