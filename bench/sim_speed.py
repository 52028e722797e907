"""Simulation speed: simulated seconds per wall second on the medium example, and how the wall time of a
run grows with the number of threats (the medium scenario's raid scaled from 40 to 300 threats).

Prints one JSON object:
``{"medium_x_real_time", "raid300_x_real_time", "scaling": [{"threats", "wall_s", "x_real_time"}, ...], ...}``.
Wall times are medians over ``--repeats`` runs of :func:`shieldwall.run` (scenario build, trajectory
planning, the run itself and the metrics; not the report). ``--quick`` runs three sizes once each and
the medium example three times (the headline figure is a median even then).

    .venv/bin/python bench/sim_speed.py --quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

import shieldwall
from shieldwall.scenario.loader import parse_scenario

MEDIUM = Path(__file__).resolve().parents[1] / "examples" / "medium.yaml"


def scaled_raid(data: dict, threats: int) -> dict:
    """The scenario ``data`` with its raid scaled to ``threats`` threats over the same launch period.

    Every threat group keeps its launch point, aim and class; its count is scaled (largest remainders
    first, so the total is exact) and its spacing shrunk in proportion.
    """
    groups = data["threats"]
    counts = [g.get("count", 1) for g in groups]
    total = sum(counts)
    share = [c * threats / total for c in counts]
    new = [max(1, math.floor(s)) for s in share]
    order = sorted(range(len(groups)), key=lambda i: share[i] - math.floor(share[i]), reverse=True)
    for i in order[: threats - sum(new)]:
        new[i] += 1
    while sum(new) > threats:
        new[max(range(len(new)), key=lambda i: new[i])] -= 1
    out = dict(data, threats=[])
    for g, c, n in zip(groups, counts, new):
        spacing = g.get("spacing_s", 10.0 if c == 1 else 0.0) * c / n if n > 1 else 0.0
        out["threats"].append(dict(g, count=n, spacing_s=round(spacing, 3)))
    return out


def wall_s(scenario, seed: int, repeats: int) -> float:
    """Median wall time [s] of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        shieldwall.run(scenario, seed=seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes 40, 150 and 300 once each (the medium example still three times)")
    parser.add_argument("--repeats", type=int, default=None, help="runs per size (default 3, 1 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    sizes = (40, 150, 300) if args.quick else (40, 80, 150, 220, 300)

    data = yaml.safe_load(MEDIUM.read_text())
    medium = parse_scenario(data, str(MEDIUM))
    duration = medium.settings.duration_s
    medium_wall = wall_s(medium, args.seed, max(repeats, 3) if args.repeats is None else repeats)
    scaling = []
    for n in sizes:
        scenario = parse_scenario(scaled_raid(data, n), f"{MEDIUM} (raid scaled to {n} threats)")
        w = wall_s(scenario, args.seed, repeats)
        scaling.append({"threats": n, "wall_s": round(w, 3), "x_real_time": round(duration / w, 1)})
        print(f"  {n:4d} threats: {w:7.2f} s", file=sys.stderr)
    first, last = scaling[0], scaling[-1]
    growth = (last["wall_s"] / first["wall_s"]) / (last["threats"] / first["threats"])
    print(json.dumps({
        "medium_x_real_time": round(duration / medium_wall, 1),
        "raid300_x_real_time": next(s["x_real_time"] for s in scaling if s["threats"] == 300),
        "scaling": scaling,
        "medium_wall_s": round(medium_wall, 3),
        "simulated_s": duration,
        "wall_growth_vs_linear": round(growth, 3),
        "repeats": repeats,
        "seed": args.seed,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
