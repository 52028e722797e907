"""Static weapon-target assignment: Shieldwall's fast and exact solvers against OR-Tools CP-SAT on the
literature's random instances, in the same run.

Instances: :func:`shieldwall.engage.problem.literature_instance` (Ahuja et al., 2007, and the papers
after it: target values uniform in [25, 100], kill probabilities uniform in [0.6, 0.9], one
interceptor per weapon) at W x T = 10 x 10, 50 x 50, 100 x 100, 200 x 200 and 1000 x 1000, seeds 0 to 4
(``--seeds``; at most three at 1000 x 1000). The objective is the expected surviving target value (lower is better).

Solvers, each on every instance:

- ``fast``: ``solve(p, "fast")``, deterministic (no budget). It proves nothing (bound and gap null);
  ``gap_to_best_known`` compares it with the best objective any solver found on the same seed.
- ``exact``: ``solve(p, "exact", time_limit_s=...)``; its seconds include the fast solve it starts
  from. Bound and gap are the proven ones it reports.
- ``cpsat``: OR-Tools CP-SAT on the same target-plan MILP: the columns the exact solver ends with
  (``exact_solve(p, fast plan).model``), one Boolean per column, exactly one plan per threat, the
  interceptors per weapon within its inventory, minimise the sum of plan costs, hinted with the same
  fast plan the exact solver starts from. Default ``num_workers`` (one per core). Seconds are
  CP-SAT's own ``wall_time`` (solve only). This is generous to the peer: it gets the exact solver's
  reduced column set for free and is not charged for building the model (``model_build_seconds``).
  The column set holds an optimal plan set whenever the exact solver proves optimality, so CP-SAT's
  optimum on it is the instance's optimum. Its objective is the true WTA objective of its decoded plan.

Timing: ``time.perf_counter`` around each call after a warm-up solve; a call that takes under
:data:`REPEAT_BELOW_S` runs three times and its median counts. Each row gives the medians over seeds
(``seconds``, ``objective``, ``bound``, ``gap``) and the per-seed values. BLAS/OpenMP threads are pinned
to one; the exact solver runs HiGHS on one thread.

Prints one JSON object: ``{"results": [{"w", "t", "solver", "objective", "seconds", "bound", "gap",
...}, ...], "summary": {...}, ...}``; progress goes to stderr. ``--quick`` stops at 200 x 200 with three
seeds per size.

    .venv/bin/python bench/wta.py --quick
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from ortools.sat.python import cp_model  # noqa: E402

from shieldwall.engage.exact import PlanColumns, exact_solve  # noqa: E402
from shieldwall.engage.problem import WtaProblem, literature_instance  # noqa: E402
from shieldwall.engage.solvers import solve  # noqa: E402

SIZES = (10, 50, 100, 200, 1000)
QUICK_SIZES = (10, 50, 100, 200)
#: Seeds at 1000 x 1000 at most (CP-SAT needs tens of seconds there).
SEEDS_AT_1000 = 3
#: Wall-clock limit of the exact solver and of CP-SAT [s], by size.
TIME_LIMIT_S = {1000: 120.0}
DEFAULT_TIME_LIMIT_S = 60.0
#: Calls faster than this [s] run three times; the median counts.
REPEAT_BELOW_S = 1.0
#: A relative gap at most this counts as the exact solver's proof of optimality (CP-SAT: status OPTIMAL).
OPTIMAL_GAP = 1e-9
NOTES = ("cpsat solves the exact solver's final target-plan column set (given to it for free), hinted "
         "with the fast plan; its seconds are CP-SAT wall_time only, without model building; "
         "exact's seconds include its fast start, column generation and enumeration.")


def timed(call, seconds_of=None) -> tuple[object, float]:
    """(last result, median seconds) of ``call()``, run three times when it takes under
    :data:`REPEAT_BELOW_S`, once otherwise. Seconds by ``time.perf_counter``, or ``seconds_of(result)``
    where the callee clocks itself."""
    result, seconds = None, []
    while len(seconds) < 3 and (not seconds or seconds[0] < REPEAT_BELOW_S):
        start = time.perf_counter()
        result = call()
        elapsed = time.perf_counter() - start
        seconds.append(elapsed if seconds_of is None else seconds_of(result))
    return result, statistics.median(seconds)


def cpsat_model(p: WtaProblem, columns: PlanColumns, hint: np.ndarray) -> tuple[cp_model.CpModel, list]:
    """The target-plan MILP over ``columns`` as a CP-SAT model, hinted with the shot matrix ``hint``."""
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{j}") for j in range(len(columns.cost))]
    n_b, n_t = p.shape
    by_threat = [[] for _ in range(n_t)]
    by_battery = [([], []) for _ in range(n_b)]
    by_channel = [[] for _ in range(n_b)]
    for j, (t, (bats, shots)) in enumerate(zip(columns.threat, columns.plans)):
        by_threat[t].append(x[j])
        for b, s in zip(bats.tolist(), shots.tolist()):
            by_battery[b][0].append(x[j])
            by_battery[b][1].append(s)
            by_channel[b].append(x[j])
        hinted = np.flatnonzero(hint[:, t])
        model.add_hint(x[j], bool(np.array_equal(bats, hinted) and np.array_equal(shots, hint[hinted, t])))
    for xs in by_threat:
        model.add_exactly_one(xs)
    for b, (xs, shots) in enumerate(by_battery):
        if xs:
            model.add(cp_model.LinearExpr.weighted_sum(xs, shots) <= int(p.inventory[b]))
        if columns.channel_row[b] >= 0:
            model.add(sum(by_channel[b]) <= int(p.channels[b]))
    model.minimize(cp_model.LinearExpr.weighted_sum(x, columns.cost))
    return model, x


def run_cpsat(p: WtaProblem, columns: PlanColumns, hint: np.ndarray, limit_s: float) -> dict:
    """CP-SAT on the target-plan MILP: objective of its decoded plan, bound, status, wall time."""
    start = time.perf_counter()
    model, x = cpsat_model(p, columns, hint)
    build_s = time.perf_counter() - start

    def call():
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = limit_s
        return solver, solver.solve(model)

    (solver, status), seconds = timed(call, seconds_of=lambda out: out[0].wall_time)
    objective, bound = math.nan, solver.best_objective_bound
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        counts = np.zeros(p.shape, np.int64)
        for j in np.flatnonzero([solver.boolean_value(v) for v in x]):
            bats, shots = columns.plans[j]
            counts[bats, columns.threat[j]] += shots
        objective = p.objective(counts)
    return {"objective": objective, "seconds": seconds, "bound": bound, "gap": relative_gap(objective, bound),
            "optimal": status == cp_model.OPTIMAL, "status": solver.status_name(status),
            "model_build_seconds": build_s, "columns": len(columns.cost)}


def relative_gap(objective: float, bound: float) -> float:
    """(objective - bound) / objective, at least 0 (0 for a zero objective, NaN without a plan)."""
    if math.isnan(objective):
        return math.nan
    return max(0.0, objective - bound) / objective if objective > 0 else 0.0


def run_seed(w: int, t: int, seed: int) -> dict[str, dict]:
    """Every solver on one instance: per solver its objective, seconds, bound, gap and extras."""
    p = literature_instance(w, t, seed)
    limit_s = TIME_LIMIT_S.get(max(w, t), DEFAULT_TIME_LIMIT_S)
    fast, fast_s = timed(lambda: solve(p, "fast"))
    exact, exact_s = timed(lambda: solve(p, "exact", time_limit_s=limit_s))
    columns = exact_solve(p, fast.counts, time_limit_s=limit_s).model
    out = {"fast": {"objective": fast.objective, "seconds": fast_s, "bound": math.nan, "gap": math.nan,
                    "optimal": False},
           "exact": {"objective": exact.objective, "seconds": exact_s, "bound": exact.bound, "gap": exact.gap,
                     "optimal": exact.gap <= OPTIMAL_GAP},
           "cpsat": run_cpsat(p, columns, fast.counts, limit_s)}
    best = min(r["objective"] for r in out.values() if not math.isnan(r["objective"]))
    for r in out.values():
        r["best_known"] = best
        r["gap_to_best_known"] = (r["objective"] - best) / best
    print(f"  {w:4d}x{t:<4d} seed {seed}: " + ", ".join(
        f"{name} {r['objective']:.4f} in {r['seconds'] * 1e3:.1f} ms" for name, r in out.items()), file=sys.stderr)
    return out


def num(x: float, digits: int = 6) -> float | None:
    """JSON-ready: NaN as null, otherwise rounded."""
    return None if math.isnan(x) else round(float(x), digits)


def median(values: list[float]) -> float:
    """Median ignoring NaN (NaN when nothing is left)."""
    kept = [v for v in values if not math.isnan(v)]
    return statistics.median(kept) if kept else math.nan


def largest(values: list[float]) -> float:
    """Maximum ignoring NaN (NaN when nothing is left)."""
    return max((v for v in values if not math.isnan(v)), default=math.nan)


def row(w: int, t: int, solver: str, seeds: list[int], per_seed: list[dict]) -> dict:
    """One result row: medians over seeds, then the per-seed values."""
    col = {k: [r[k] for r in per_seed] for k in per_seed[0]}
    out = {"w": w, "t": t, "solver": solver, "objective": num(median(col["objective"])),
           "seconds": num(median(col["seconds"])), "bound": num(median(col["bound"])),
           "gap": num(median(col["gap"]), 9), "seeds": seeds,
           "objectives": [num(v) for v in col["objective"]], "seconds_all": [num(v) for v in col["seconds"]],
           "bounds": [num(v) for v in col["bound"]], "gaps": [num(v, 9) for v in col["gap"]],
           "optimal": sum(col["optimal"]),
           "best_known": num(median(col["best_known"])),
           "gap_to_best_known": num(median(col["gap_to_best_known"]), 9),
           "gap_to_best_known_max": num(largest(col["gap_to_best_known"]), 9),
           "time_limit_s": TIME_LIMIT_S.get(max(w, t), DEFAULT_TIME_LIMIT_S)}
    if solver == "cpsat":
        out["status"] = col["status"]
        out["model_build_seconds"] = num(median(col["model_build_seconds"]), 3)
        out["columns"] = col["columns"]
    return out


def summary(results: list[dict]) -> dict:
    """The figures the targets name and whether each is met (null where the size did not run)."""
    def get(n: int, solver: str) -> dict | None:
        return next((r for r in results if r["w"] == n and r["solver"] == solver), None)

    def fast_target(n: int, within: float, under_s: float) -> bool | None:
        fast = get(n, "fast")
        return None if fast is None else fast["gap_to_best_known_max"] <= within and fast["seconds"] < under_s

    exact, cpsat = get(100, "exact"), get(100, "cpsat")
    exact_wins = [e < c for e, c in zip(exact["seconds_all"], cpsat["seconds_all"])]
    fast_200, fast_1000 = get(200, "fast"), get(1000, "fast")
    return {
        "exact_over_cpsat_seconds_100": num(exact["seconds"] / cpsat["seconds"], 3),
        "exact_faster_seeds_100": f"{sum(exact_wins)}/{len(exact_wins)}",
        "fast_gap_to_best_known_max_200": fast_200["gap_to_best_known_max"],
        "fast_seconds_200": fast_200["seconds"],
        "fast_gap_to_best_known_max_1000": fast_1000 and fast_1000["gap_to_best_known_max"],
        "fast_seconds_1000": fast_1000 and fast_1000["seconds"],
        "targets_met": {
            "fast_200_within_0.5pct_under_50ms": fast_target(200, 0.005, 0.05),
            "fast_1000_within_1pct_under_1s": fast_target(1000, 0.01, 1.0),
            "exact_proves_100_faster_than_cpsat": exact["optimal"] == len(exact["seeds"])
            and exact["seconds"] < cpsat["seconds"],
        },
        "how": "fast targets: worst seed's gap to the best known objective and the median seconds; "
               "exact target: every seed proven optimal and median seconds below CP-SAT's",
    }


def commit() -> str | None:
    """The checkout's commit (``+dirty`` when the solvers have changes), so figures name the solver version."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src/shieldwall/engage"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="stop at 200 x 200, three seeds per size")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per size (default 5, 3 with --quick)")
    args = parser.parse_args(argv)
    n_seeds = args.seeds or (3 if args.quick else 5)
    solver_commit = commit()  # before the run: the code the figures come from
    run_seed(10, 10, seed=10_000)  # warm-up: imports, HiGHS and CP-SAT start-up
    results = []
    for n in QUICK_SIZES if args.quick else SIZES:
        seeds = list(range(min(n_seeds, SEEDS_AT_1000) if n >= 1000 else n_seeds))
        per_seed = [run_seed(n, n, seed) for seed in seeds]
        results += [row(n, n, solver, seeds, [s[solver] for s in per_seed]) for solver in ("fast", "exact", "cpsat")]
    print(json.dumps({
        "results": results,
        "summary": summary(results),
        "notes": NOTES,
        "cpsat_num_workers": "default (0: one per core)",
        "exact_threads": 1,
        "repeat_below_s": REPEAT_BELOW_S,
        "commit": solver_commit,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
                    "ortools": version("ortools"), "highspy": version("highspy"), "numpy": np.__version__},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
