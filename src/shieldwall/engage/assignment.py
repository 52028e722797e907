"""Maximum-marginal-return greedy for the static WTA (:class:`~shieldwall.engage.problem.WtaProblem`).

The greedy (den Broeder et al., 1959) fires one interceptor at a time where it lowers the objective
most (expected value removed minus the interceptor's cost), while some allowed shot lowers it. Each
threat keeps its best allowed battery and that shot's gain; a shot changes only its own threat's
column, and the columns whose best battery it just used up, so a step costs O(B) rather than O(B T).

The objective is monotone submodular in the set of shots, and inventory and salvo caps are partition
matroids, so without costs, binding channel limits or ``one_battery_per_threat`` the greedy removes at
least 1/3 of the optimal expected value (Fisher, Nemhauser & Wolsey, 1978). It is optimal when kill
probabilities depend only on the threat, or when each threat can be engaged by a single battery, and
a heuristic otherwise: two single-round batteries with pk = [[0.9, 0.8], [0.8, 0.1]] against two
equal threats remove 1.0 by the greedy where 1.6 is possible. :mod:`shieldwall.engage.local_search`
improves on it.
"""

from __future__ import annotations

import numpy as np

from shieldwall.engage.problem import WtaProblem


def greedy(problem: WtaProblem, counts: np.ndarray | None = None) -> np.ndarray:
    """Shot matrix (B, T) of the maximum-marginal-return greedy, starting from the feasible plan
    ``counts`` (default: no shots). Ties go to the lowest threat, then the lowest battery."""
    p = problem
    n_b, n_t = p.shape
    n = np.zeros((n_b, n_t), np.int64) if counts is None else np.array(counts, np.int64)
    left = p.inventory - n.sum(axis=1)
    used = (n > 0).sum(axis=1)
    at = n.sum(axis=0)
    surviving = p.value * np.exp(np.einsum("bt,bt->t", n, p.log_q))

    def gains(cols: np.ndarray) -> np.ndarray:
        """(B, len(cols)) objective decrease of one more shot, -inf where the shot is not allowed."""
        ok = (p.pk[:, cols] > 0) & (left > 0)[:, None] & ((n[:, cols] > 0) | (used < p.channels)[:, None])
        ok &= ((at[cols] < p.salvo[cols]) & ~p.engaged[cols])[None, :]
        if p.one_battery_per_threat:
            ok &= n[:, cols] == at[cols][None, :]
        return np.where(ok, surviving[cols] * p.pk[:, cols] - p.cost[:, None], -np.inf)

    best = np.zeros(n_t, np.int64)
    gain = np.full(n_t, -np.inf)

    def refresh(cols: np.ndarray) -> None:
        if n_b and cols.size:
            g = gains(cols)
            best[cols] = np.argmax(g, axis=0)
            gain[cols] = g[best[cols], np.arange(cols.size)]

    refresh(np.arange(n_t))
    while n_t:
        t = int(np.argmax(gain))
        if not gain[t] > 0.0:
            break
        b = int(best[t])
        n[b, t] += 1
        left[b] -= 1
        used[b] += n[b, t] == 1
        at[t] += 1
        surviving[t] *= 1.0 - p.pk[b, t]
        blocked = left[b] == 0 or (n[b, t] == 1 and used[b] == p.channels[b])
        refresh(np.flatnonzero(best == b) if blocked else np.array([t]))  # t's best is b
    return n


def assignment_rows(counts: np.ndarray) -> np.ndarray:
    """Rows (battery, threat, n_shots) of the non-zero cells of a shot matrix, sorted by battery then
    threat (int array (N, 3))."""
    cells = np.argwhere(counts > 0)
    return np.column_stack([cells, counts[cells[:, 0], cells[:, 1]]]).astype(np.int64).reshape(-1, 3)


def greedy_assignment(value: np.ndarray, pk: np.ndarray, inventory: np.ndarray, channels: np.ndarray,
                      salvo: int | np.ndarray = 1, engaged: np.ndarray | None = None, *,
                      one_battery_per_threat: bool = False) -> np.ndarray:
    """:func:`greedy` on the problem the arguments describe (see :class:`WtaProblem`), as
    :func:`assignment_rows`."""
    problem = WtaProblem(value, pk, inventory, channels, salvo, engaged,
                         one_battery_per_threat=one_battery_per_threat)
    return assignment_rows(greedy(problem))


def expected_surviving_value(value: np.ndarray, pk: np.ndarray, assignment: np.ndarray) -> float:
    """Expected total value of threats that survive ``assignment`` rows (battery, threat, n_shots)."""
    pk = np.asarray(pk, float)
    a = np.asarray(assignment, np.int64).reshape(-1, 3)
    counts = np.zeros(pk.shape)
    np.add.at(counts, (a[:, 0], a[:, 1]), a[:, 2])
    return float(np.sum(np.asarray(value, float) * np.prod((1.0 - pk) ** counts, axis=0)))
