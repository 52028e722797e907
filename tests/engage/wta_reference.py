"""Independent references for the WTA solvers: exhaustive enumeration of every feasible shot matrix."""

from __future__ import annotations

import itertools

import numpy as np

from shieldwall.engage.problem import WtaProblem


def _battery_options(inventory: int, top: np.ndarray) -> np.ndarray:
    """Every shot vector (K, T) of one battery: cells within ``top`` (T,), total within inventory."""
    grid = np.array(list(itertools.product(*(range(int(k) + 1) for k in top))), np.int64).reshape(-1, top.size)
    return grid[grid.sum(axis=1) <= inventory]


def brute_force(problem: WtaProblem, max_plans: int = 3_000_000) -> tuple[float, np.ndarray]:
    """Optimal (objective, counts) of a small problem by enumerating every feasible shot matrix.

    Each battery's shot vectors are enumerated within its inventory (cells up to the salvo cap, zero
    where pk is 0 or the threat is engaged); their product is filtered by the channel, salvo and
    one-battery-per-threat constraints, written out here again independently of the solvers.
    """
    p = problem
    n_b, n_t = p.shape
    top = np.minimum(p.inventory[:, None], p.salvo[None, :]) * (p.pk > 0) * ~p.engaged[None, :]
    options = [_battery_options(int(p.inventory[b]), top[b]) for b in range(n_b)]
    size = int(np.prod([len(o) for o in options], dtype=float))
    assert size <= max_plans, f"{size} plans is too many to enumerate"
    idx = np.array(list(itertools.product(*(range(len(o)) for o in options))), np.int64).reshape(-1, n_b)
    grid = np.stack([options[b][idx[:, b]] for b in range(n_b)], axis=1).reshape(-1, n_b, n_t)
    ok = np.all((grid > 0).sum(axis=2) <= p.channels, axis=1)
    ok &= np.all(grid.sum(axis=1) <= p.salvo, axis=1)
    if p.one_battery_per_threat:
        ok &= np.all((grid > 0).sum(axis=1) <= 1, axis=1)
    grid = grid[ok]
    q = 1.0 - np.asarray(p.pk)
    f = np.sum(p.value * np.prod(q[None] ** grid, axis=1), axis=1) + grid.sum(axis=2) @ p.cost
    best = int(np.argmin(f))
    return float(f[best]), grid[best]
