"""One interface to the weapon-target assignment solvers: ``solve(problem, solver)``.

- ``fast``: linear-assignment and greedy starts, local search, then perturbation while the budget
  lasts (:mod:`shieldwall.engage.local_search`);
- ``exact``: column generation and reduced-cost enumeration over the target-plan MILP, solved by
  HiGHS, started from the fast solver's plan (:mod:`shieldwall.engage.exact`); it reports a proven
  bound and gap;
- ``greedy``: maximum marginal return alone (:mod:`shieldwall.engage.assignment`), the baseline;
- ``auto``: ``exact`` while the instance has at most :data:`AUTO_EXACT_PAIRS` engageable
  (battery, threat) pairs, ``fast`` above.

Without wall-clock limits (``budget_s``, ``time_limit_s``) every solver is deterministic: the
simulation never passes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from shieldwall.engage.assignment import assignment_rows, greedy
from shieldwall.engage.exact import exact_solve
from shieldwall.engage.local_search import fast_solve
from shieldwall.engage.problem import WtaProblem

SOLVERS = ("auto", "exact", "fast", "greedy")
#: ``auto`` solves exactly up to this many engageable (battery, threat) pairs, so that a decision
#: cycle stays within its budget: the exact solver needs ~0.2 s for a 100 x 100 literature instance
#: (10,000 pairs) and as much for a 60-battery, 300-threat cycle with salvo caps and channels (1,200
#: pairs), where the fast solver needs ~20 ms and finds the same orders.
AUTO_EXACT_PAIRS = 400


@dataclass(frozen=True, slots=True)
class WtaSolution:
    """A solver's plan: ``counts`` (B, T) shots, its ``objective`` (expected surviving value plus
    interceptor cost), a proven lower ``bound`` on the optimum (NaN when the solver proves none),
    the ``solver`` that ran and its wall-clock ``seconds``."""

    counts: np.ndarray
    objective: float
    bound: float
    solver: str
    seconds: float

    @property
    def gap(self) -> float:
        """Relative optimality gap (objective - bound) / objective; NaN without a bound."""
        if np.isnan(self.bound):
            return float("nan")
        return max(0.0, self.objective - self.bound) / self.objective if self.objective > 0 else 0.0

    @property
    def rows(self) -> np.ndarray:
        """The plan as rows (battery, threat, n_shots)."""
        return assignment_rows(self.counts)


def solve(problem: WtaProblem, solver: str = "auto", *, budget_s: float | None = None,
          time_limit_s: float | None = None, kicks: int | None = None, seed: int = 0) -> WtaSolution:
    """Solve ``problem`` with ``solver`` (one of :data:`SOLVERS`). ``budget_s`` [s] lets the fast
    solver perturb and descend until it runs out (``kicks`` bounds the perturbations
    deterministically instead; default a fixed amount of work); ``time_limit_s`` [s] stops the exact solver with its best plan and
    bound."""
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r} (expected one of: {', '.join(SOLVERS)})")
    start = time.perf_counter()
    engageable = problem.pk > 0
    if solver in ("auto", "exact") and engageable.sum(axis=0).max(initial=0) <= 1 \
            and engageable.sum(axis=1).max(initial=0) <= 1:
        # Every battery and threat in at most one engageable pair: independent one-pair problems,
        # each solved exactly by the greedy (its marginal gains fall with every shot).
        counts = greedy(problem)
        objective = problem.objective(counts)
        return WtaSolution(counts, objective, objective, "exact", time.perf_counter() - start)
    if solver == "auto":
        solver = "exact" if np.count_nonzero(problem.pk > 0) <= AUTO_EXACT_PAIRS else "fast"
    if solver == "greedy":
        counts, bound = greedy(problem), float("nan")
    else:
        counts = fast_solve(problem, budget_s=budget_s, kicks=kicks, seed=seed)
        bound = float("nan")
        if solver == "exact":
            result = exact_solve(problem, counts, time_limit_s=np.inf if time_limit_s is None else time_limit_s)
            counts, bound = result.counts, result.bound
    return WtaSolution(counts, problem.objective(counts), bound, solver, time.perf_counter() - start)
