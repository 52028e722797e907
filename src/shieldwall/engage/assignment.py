"""Weapon-target assignment for one decision cycle: maximum-marginal-return greedy on expected value.

The static target-based WTA: threat t carries value v_t (its value at risk); each interceptor fired by
battery b at t kills it independently with probability pk[b, t]; the expected surviving value is
sum_t v_t * prod over shots at t of (1 - pk). The greedy (den Broeder et al., 1959) fires one
interceptor at a time where it removes the most expected surviving value, subject to each battery's
inventory, its fire channels (distinct threats it may engage this cycle) and a per-threat salvo cap.

The objective is monotone submodular in the set of shots, and inventory and salvo caps are partition
matroids, so without binding channel limits (or ``one_battery_per_threat``) the greedy removes at
least 1/3 of the optimal expected value (Fisher, Nemhauser & Wolsey, 1978). It is optimal when kill
probabilities depend only on the threat, or when each threat can be engaged by a single battery, and
a heuristic otherwise: two single-round batteries with pk = [[0.9, 0.8], [0.8, 0.1]] against two
equal threats remove 1.0 by the greedy where 1.6 is possible.
"""

from __future__ import annotations

import numpy as np


def greedy_assignment(value: np.ndarray, pk: np.ndarray, inventory: np.ndarray, channels: np.ndarray,
                      salvo: int | np.ndarray = 1, engaged: np.ndarray | None = None, *,
                      one_battery_per_threat: bool = False) -> np.ndarray:
    """Maximum-marginal-return assignment of interceptors to threats for one decision cycle.

    ``value`` (T,) non-negative value of each threat, ``pk`` (B, T) single-shot kill probability (0
    where the battery cannot engage), ``inventory`` (B,) interceptors ready, ``channels`` (B,) how many
    distinct threats each battery may engage, ``salvo`` (T,) or scalar the most interceptors fired at
    a threat this cycle, ``engaged`` (T,) threats to leave alone (e.g. already engaged); with
    ``one_battery_per_threat`` all shots at a threat come from one battery (no duplicate engagements).
    Shots are added one at a time while some allowed shot removes positive expected value; ties go to
    the lowest battery, then threat index. Returns an int array (N, 3) of rows (battery, threat,
    n_shots), sorted by battery then threat.
    """
    pk = np.asarray(pk, float)
    n_b, n_t = pk.shape
    surviving = np.array(np.broadcast_to(np.asarray(value, float), (n_t,)))
    left = np.array(np.broadcast_to(np.asarray(inventory, np.int64), (n_b,)))
    channels = np.broadcast_to(np.asarray(channels, np.int64), (n_b,))
    cap = np.broadcast_to(np.asarray(salvo, np.int64), (n_t,))
    open_t = np.ones(n_t, bool) if engaged is None else ~np.broadcast_to(np.asarray(engaged, bool), (n_t,))
    shots = np.zeros((n_b, n_t), np.int64)
    shots_at = np.zeros(n_t, np.int64)
    used = np.zeros(n_b, np.int64)

    def gain(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Expected value removed by one more shot for each allowed (row, col) pair, else 0."""
        row_ok = left[rows] > 0
        new_channel_ok = used[rows] < channels[rows]
        col_ok = (shots_at[cols] < cap[cols]) & open_t[cols]
        mine = shots[np.ix_(rows, cols)]
        allowed = row_ok[:, None] & col_ok[None, :] & (new_channel_ok[:, None] | (mine > 0))
        if one_battery_per_threat:
            allowed &= shots_at[cols][None, :] == mine
        return np.where(allowed, surviving[cols][None, :] * pk[np.ix_(rows, cols)], 0.0)

    all_b, all_t = np.arange(n_b), np.arange(n_t)
    g = gain(all_b, all_t)
    while g.size:
        b, t = divmod(int(np.argmax(g)), n_t)
        if not g[b, t] > 0.0:
            break
        used[b] += shots[b, t] == 0
        shots[b, t] += 1
        shots_at[t] += 1
        left[b] -= 1
        surviving[t] *= 1.0 - pk[b, t]
        g[:, t] = gain(all_b, np.array([t]))[:, 0]
        g[b, :] = gain(np.array([b]), all_t)[0]
    rows = np.argwhere(shots > 0)
    return np.column_stack([rows, shots[rows[:, 0], rows[:, 1]]]).astype(np.int64)


def expected_surviving_value(value: np.ndarray, pk: np.ndarray, assignment: np.ndarray) -> float:
    """Expected total value of threats that survive ``assignment`` rows (battery, threat, n_shots)."""
    pk = np.asarray(pk, float)
    a = np.asarray(assignment, np.int64).reshape(-1, 3)
    counts = np.zeros(pk.shape)
    np.add.at(counts, (a[:, 0], a[:, 1]), a[:, 2])
    return float(np.sum(np.asarray(value, float) * np.prod((1.0 - pk) ** counts, axis=0)))
