"""The ``shieldwall`` command: a thin layer over :mod:`shieldwall.api` with progress and tables."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from shieldwall.errors import ScenarioError, ShieldwallError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, rich_markup_mode="rich",
    help="Shieldwall — coordinated ballistic-missile defence across an alliance, simulated.\n\n"
         "Start with [bold]shieldwall validate examples/small.yaml[/bold], then "
         "[bold]shieldwall run examples/small.yaml[/bold] and open the report it names.")
out = Console()
err = Console(stderr=True)


def _fail(exc: ShieldwallError) -> typer.Exit:
    for line in str(exc).splitlines() or ["error"]:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _load(file: Path):
    from shieldwall.scenario.loader import load_scenario

    try:
        return load_scenario(file)
    except ScenarioError as exc:
        raise _fail(exc) from None


@app.command()
def validate(file: Path = typer.Argument(..., help="Scenario YAML file.", show_default=False)) -> None:
    """Check a scenario file: schema, references, that every missile can reach its aim point, and whether
    it works as a system.

    Prints one line per problem as [bold]FILE: path.to.field: what is wrong (expected …)[/bold].
    Exit 0 when the scenario can run (warnings may still be printed), 2 when it cannot.
    """
    from shieldwall.sim.build import plan_threats
    from shieldwall.sim.preflight import preflight

    scenario = _load(file)
    try:
        plan_threats(scenario, str(file))   # every missile can fly to its aim point
    except ScenarioError as exc:
        raise _fail(exc) from None
    warnings = preflight(scenario, str(file))
    for w in warnings:
        err.print(str(w), markup=False, highlight=False, soft_wrap=True)
    n_threats = sum(t.count for t in scenario.threats)
    out.print(f"{file}: ok — {len(scenario.nations)} nations, {len(scenario.sensors)} sensors, "
              f"{len(scenario.batteries)} batteries, {n_threats} threats, "
              f"{len(warnings)} warning{'' if len(warnings) == 1 else 's'}",
              markup=False, highlight=False, soft_wrap=True)


@app.command()
def run(
    file: Path = typer.Argument(..., help="Scenario YAML file.", show_default=False),
    seed: int | None = typer.Option(None, min=0, help="Random seed, a non-negative integer (default: the scenario's settings.seed)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Run directory (default: runs/<scenario>-seed<N>)."),
) -> None:
    """Run a scenario end to end and write its record: scenario as run, events.parquet,
    tracks.parquet, metrics.json and a self-contained report.html.

    The same scenario and seed give byte-identical metrics.json.
    """
    import shieldwall

    scenario = _load(file)
    seed = scenario.settings.seed if seed is None else seed
    duration = scenario.settings.duration_s
    with Progress(TextColumn("[bold]simulating[/bold]"), BarColumn(), TextColumn("{task.fields[t]:>7.0f} s"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("sim", total=duration, t=0.0)
        try:
            result = shieldwall.run(scenario, seed=seed, source=str(file),
                                    progress=lambda t: bar.update(task, completed=t, t=t))
        except ShieldwallError as exc:
            raise _fail(exc) from None
    directory = out_dir or Path("runs") / f"{file.stem}-seed{seed}"
    report = result.write(directory)
    out.print(_summary(result.metrics, scenario.name, seed))
    out.print(f"Run record: {directory}/", markup=False, highlight=False, soft_wrap=True)
    out.print(f"Report:     {report}", markup=False, highlight=False, soft_wrap=True)


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.1f}" if isinstance(value, float) else str(value)


def _summary(m: dict, name: str, seed: int) -> Table:
    table = Table(title=f"{name} — seed {seed}", show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [("threats", m["threats"]), ("leakers", m["leakers"]), ("intercepts", m["intercepts"]),
            ("interceptors fired", m["interceptors_fired"]),
            ("defended value lost / total", f"{_fmt(m['defended_value_lost'])} / {_fmt(m['defended_value_total'])}"),
            ("first detection (s)", _fmt(m["first_detection_s"])),
            ("mean decision latency (s)", _fmt(m["mean_decision_latency_s"])),
            ("messages sent / lost", f"{m['messages_sent']:,} / {m['messages_lost']:,}")]
    for nation, k in m["interceptors_fired_by_nation"].items():
        rows.append((f"  fired by {nation}", k))
    for key, value in rows:
        table.add_row(key, value if isinstance(value, str) else _fmt(value))
    return table


def _bad_option(option: str, message: str, command: str = "trajectory") -> typer.Exit:
    """One line on stderr, ``COMMAND: --option: what is wrong (expected …)``, and exit status 2."""
    err.print(f"{command}: {option}: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _latlon(text: str, option: str) -> tuple[float, float]:
    try:
        lat, lon = (float(x) for x in text.split(","))
    except ValueError:
        raise _bad_option(option, f"{text!r} (expected LAT,LON in degrees, e.g. 52.5,13.4)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise _bad_option(option, f"{text!r} (expected latitude in [-90, 90] and longitude in [-180, 180])")
    return lat, lon


@app.command()
def trajectory(
    from_: str = typer.Option(..., "--from", help="Launch point LAT,LON in degrees.", show_default=False),
    to: str = typer.Option(..., "--to", help="Aim point LAT,LON in degrees.", show_default=False),
    missile_class: str = typer.Option(..., "--class", help="Missile class: srbm, mrbm, irbm, icbm, …", show_default=False),
    kind: str = typer.Option("minimum-energy", "--type", help="minimum-energy, lofted or depressed."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Fly one missile from launch to aim point and print its ballistics: ground range, flight time,
    apogee, burnout and re-entry speed, impact error, and the closed-form Keplerian range of the same
    burnout state (the physics check).

    Example: [bold]shieldwall trajectory --from 40.0,50.0 --to 50.0,20.0 --class irbm[/bold]
    """
    from shieldwall.scenario.loader import builtin_catalog
    from shieldwall.world.ballistic import trajectory_summary

    lat0, lon0 = _latlon(from_, "--from")
    lat1, lon1 = _latlon(to, "--to")
    catalog = builtin_catalog().missiles
    if missile_class not in catalog:
        raise _bad_option("--class", f"unknown class {missile_class!r} (expected one of: {', '.join(sorted(catalog))})")
    if kind not in ("minimum-energy", "lofted", "depressed"):
        raise _bad_option("--type", f"{kind!r} (expected minimum-energy, lofted or depressed)")
    c = catalog[missile_class]
    try:
        summary = trajectory_summary(lat0, lon0, lat1, lon1, c.burn_time_s, c.burnout_speed_max_kms * 1e3,
                                     c.ballistic_coefficient_kgm2, kind)
    except (ShieldwallError, ValueError) as exc:
        err.print(f"trajectory: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return
    table = Table(title=f"{missile_class} {kind}: ({lat0}, {lon0}) → ({lat1}, {lon1})")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:,.3f}" if isinstance(value, float) else str(value))
    out.print(table)



# -------------------------------------------------------------------------------------------------
# wta: the weapon-target assignment solvers on their own.

#: Largest ``--generate W,T``: each of W and T (the fast solver takes most of a minute at 5000 x 5000).
WTA_MAX_GENERATE = 5_000
WTA_PLAN_ROWS = 15  # plan rows the table shows; --json prints them all


def _wta_number(text: str, option: str, *, integer: bool = False, positive: bool = True) -> float | int:
    """``text`` as a finite number (an integer with ``integer``), > 0 with ``positive`` (else >= 0)."""
    kind = ("a positive" if positive else "a non-negative") + (" integer" if integer else " number")
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise _bad_option(option, f"{text!r} (expected {kind})", "wta") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise _bad_option(option, f"{text!r} (expected {kind})", "wta")
    return value


def _wta_generate(text: str) -> tuple[int, int]:
    try:
        w, t = (int(x) for x in text.split(","))
    except ValueError:
        raise _bad_option("--generate", f"{text!r} (expected W,T: two positive integers, e.g. 200,200)",
                          "wta") from None
    if w < 1 or t < 1:
        raise _bad_option("--generate", f"{text!r} (expected W,T: two positive integers, e.g. 200,200)", "wta")
    if w > WTA_MAX_GENERATE or t > WTA_MAX_GENERATE:
        raise _bad_option("--generate", f"{text!r} is too large (expected at most {WTA_MAX_GENERATE:,} "
                                        f"weapons and {WTA_MAX_GENERATE:,} targets)", "wta")
    return w, t


def _wta_finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _wta_record(problem, solution) -> dict:
    """One solution as JSON types: figures (NaN as None) and the plan rows."""
    import numpy as np

    counts = solution.counts
    surviving = float(problem.value @ np.exp(np.einsum("bt,bt->t", counts, problem.log_q)))
    return {"solver": solution.solver, "objective": solution.objective, "surviving_value": surviving,
            "cost": float(problem.cost @ counts.sum(axis=1)), "bound": _wta_finite(solution.bound),
            "gap": _wta_finite(solution.gap), "seconds": solution.seconds, "shots": int(counts.sum()),
            "plan": [{"battery": int(b), "threat": int(t), "shots": int(k)} for b, t, k in solution.rows]}


def _wta_figures(records: list[dict], requested: list[str]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for name in ("solver", "objective", "bound", "gap", "seconds"):
        table.add_column(name, justify="left" if name == "solver" else "right")
    for r, asked in zip(records, requested):
        solver = r["solver"] if asked == r["solver"] else f"{r['solver']} ({asked})"
        table.add_row(Text(solver), f"{r['objective']:,.3f}",
                      "—" if r["bound"] is None else f"{r['bound']:,.3f}",
                      "—" if r["gap"] is None else f"{r['gap']:.2%}", f"{r['seconds']:.3f}")
    return table


def _wta_plan(problem, r: dict) -> tuple[str, Table | None, str | None]:
    """The plan summary (two lines), a table of its first rows, and a line saying how many were left
    out."""
    plan = r["plan"]
    engaged = int(problem.engaged.sum())
    left_alone = f" ({engaged} engaged threat{'' if engaged == 1 else 's'} left alone)" if engaged else ""
    if not plan:
        line = (f"Plan ({r['solver']}): no shots, as no allowed shot lowers the objective{left_alone}.\n"
                f"Expected surviving value {r['surviving_value']:,.3f} = objective {r['objective']:,.3f}.")
        return line, None, None
    threats = len({row["threat"] for row in plan})
    batteries = len({row["battery"] for row in plan})
    line = (f"Plan ({r['solver']}): {r['shots']} shot{'' if r['shots'] == 1 else 's'} from {batteries} of "
            f"{problem.shape[0]} batteries at {threats} of {problem.shape[1]} threats{left_alone}.\n"
            f"Expected surviving value {r['surviving_value']:,.3f} + interceptor cost {r['cost']:,.3f} "
            f"= objective {r['objective']:,.3f}.")
    table = Table(show_header=True, header_style="bold")
    for name in ("battery", "threat", "shots", "pk", "threat value"):
        table.add_column(name, justify="right")
    for row in plan[:WTA_PLAN_ROWS]:
        b, t = row["battery"], row["threat"]
        table.add_row(str(b), str(t), str(row["shots"]), f"{problem.pk[b, t]:.3f}", f"{problem.value[t]:,.3f}")
    more = len(plan) - WTA_PLAN_ROWS
    return line, table, (f"… and {more} more rows (--json prints the whole plan)" if more > 0 else None)


_WTA_HELP = r"""Solve one weapon-target assignment (WTA) instance with the engagement planner's solvers: an
instance file (JSON) or a generated one. For analysts who want only the solver.

[bold]The model.[/bold] B batteries (weapons) face T threats (targets) of value v_t. One interceptor
from battery b kills threat t with probability pk\[b, t] (0: b cannot engage t). A plan fires
n\[b, t] interceptors; its objective, the expected surviving value plus the interceptors' cost, is
(lower is better)

  objective = sum_t v_t * prod_b (1 - pk\[b, t])^n\[b, t]  +  sum_b,t cost_b * n\[b, t]

Battery b fires at most inventory_b interceptors, at no more than channels_b distinct threats;
threat t receives at most salvo_t; engaged threats (already being engaged) receive none; with
one_battery_per_threat all shots at a threat come from one battery.

[bold]The instance file[/bold] is a JSON object with the keys value (T numbers >= 0), pk (B lists of
T probabilities) and inventory (B integers), and optionally channels (B integers), salvo (T
integers), engaged (T true/false), cost (B numbers >= 0, in units of value) and
one_battery_per_threat (true/false). A single number stands for every entry; a key left out means
no limit, nothing engaged, free, false. For example, two batteries and two threats:

  {"value": \[100, 40], "pk": \[\[0.8, 0.6], \[0.0, 0.7]], "inventory": \[2, 1], "salvo": 2}

[bold]--generate W,T[/bold] draws the literature's random instance (Ahuja et al., 2007) instead: W
weapons of one interceptor each, values uniform in \[25, 100], pk uniform in \[0.6, 0.9];
--save-instance keeps it as a file.

[bold]Solvers.[/bold] exact proves a lower bound on the optimum and reports the gap (it stops at
--time-limit with its best plan); fast is local search (with --budget-ms it keeps perturbing its
plan until the budget is spent); greedy is maximum marginal return, the baseline; auto is exact up
to 400 engageable (battery, threat) pairs and fast above. Without --budget-ms, and when exact
finishes within --time-limit, the result is deterministic. --compare runs greedy, fast and exact.

[bold]Examples[/bold]

  shieldwall wta examples/wta-small.json
  shieldwall wta --generate 200,200 --seed 3 --json
  shieldwall wta --generate 50,50 --compare

Bad input (a missing or malformed file, a wrong shape, an unknown key, a bad option value) prints
one line naming what is wrong and exits 2.
"""


def _reflow(text: str) -> str:
    """Help text with each paragraph on one line (Rich wraps it to the terminal), except indented
    paragraphs (formulas, examples), which keep their lines."""
    paragraphs = text.strip().split("\n\n")
    return "\n\n".join(p if p.startswith("  ") else " ".join(p.split()) for p in paragraphs)


@app.command(help=_reflow(_WTA_HELP))
def wta(
    file: Path | None = typer.Argument(None, metavar="FILE", show_default=False,
                                       help="Instance file (JSON, keys above); or give --generate."),
    generate: str | None = typer.Option(
        None, "--generate", metavar="W,T", show_default=False,
        help=f"Solve a generated instance of W weapons and T targets instead of a file (each at most "
             f"{WTA_MAX_GENERATE:,})."),
    seed: str | None = typer.Option(None, "--seed", metavar="S", show_default=False,
                                    help="Seed of the --generate instance, a non-negative integer (default 0)."),
    solver: str | None = typer.Option(None, "--solver", metavar="NAME", show_default=False,
                                      help="auto (default), exact, fast or greedy."),
    budget_ms: str | None = typer.Option(
        None, "--budget-ms", metavar="MS", show_default=False,
        help="Milliseconds of wall clock for the fast solver to keep perturbing its plan (exact starts "
             "from that plan). Default: none, deterministic."),
    time_limit: str = typer.Option("60", "--time-limit", metavar="S",
                                   help="Seconds of wall clock for the exact solver; it then reports its best "
                                        "plan with its bound and gap."),
    compare: bool = typer.Option(False, "--compare", help="Run greedy, fast and exact on the instance and "
                                                          "print their figures side by side."),
    save_instance: Path | None = typer.Option(
        None, "--save-instance", metavar="PATH", show_default=False,
        help="Also write the instance as JSON (creating its directory), to solve again with "
             "[bold]shieldwall wta PATH[/bold]."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Solve one WTA instance (the help text is :data:`_WTA_HELP`)."""
    from shieldwall.engage.problem import literature_instance, load_problem
    from shieldwall.engage.solvers import SOLVERS, solve

    if solver is not None and solver not in SOLVERS:
        raise _bad_option("--solver", f"unknown solver {solver!r} (expected one of: {', '.join(SOLVERS)})", "wta")
    if compare and solver is not None:
        raise _bad_option("--compare", "runs greedy, fast and exact (expected no --solver with it)", "wta")
    budget_s = None if budget_ms is None else _wta_number(budget_ms, "--budget-ms") / 1e3
    time_limit_s = _wta_number(time_limit, "--time-limit")
    if (file is None) == (generate is None):
        err.print("wta: give an instance FILE or --generate W,T (expected exactly one of the two)",
                  markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    if seed is not None and generate is None:
        raise _bad_option("--seed", "applies to --generate only (expected --generate W,T --seed S)", "wta")

    if file is not None:
        try:
            problem = load_problem(file)
        except ValueError as exc:
            err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        title = str(file)
    else:
        w, t = _wta_generate(generate)
        s = 0 if seed is None else int(_wta_number(seed, "--seed", integer=True, positive=False))
        problem = literature_instance(w, t, s)
        title = f"literature instance, seed {s}"
    title += f": {problem.shape[0]:,} batteries × {problem.shape[1]:,} threats"
    if save_instance is not None:
        try:
            save_instance.parent.mkdir(parents=True, exist_ok=True)
            save_instance.write_text(json.dumps(problem.to_json()) + "\n", encoding="utf-8")
        except OSError as exc:
            not_dir = isinstance(exc, (FileExistsError, NotADirectoryError))   # a file where a directory goes
            why = "Not a directory" if not_dir else exc.strerror or str(exc)
            if exc.filename is not None and Path(exc.filename) != save_instance:
                why += f": {exc.filename}"
            raise _bad_option("--save-instance", f"cannot write {str(save_instance)!r} ({why}; "
                                                 "expected a writable file path)", "wta") from None

    requested = ["greedy", "fast", "exact"] if compare else [solver or "auto"]
    records = []
    for name in requested:
        try:
            solution = solve(problem, name, budget_s=budget_s, time_limit_s=time_limit_s)
        except (ValueError, MemoryError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            err.print(f"wta: the {name} solver cannot take this instance: {message}",
                      markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        records.append(_wta_record(problem, solution))

    if as_json:
        data = {"compare": records} if compare else records[0]
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
        return
    out.print(title, markup=False, highlight=False, soft_wrap=True)
    out.print(_wta_figures(records, requested))
    if not compare:
        line, table, more = _wta_plan(problem, records[0])
        out.print(line, markup=False, highlight=False, soft_wrap=True)
        if table is not None:
            out.print(table)
        if more:
            out.print(more, markup=False, highlight=False, soft_wrap=True)
    if save_instance is not None:
        out.print(f"Instance saved to {save_instance}", markup=False, highlight=False, soft_wrap=True)


# -------------------------------------------------------------------------------------------------
# compare: the same raid and seeds under several coordination variants (shieldwall.analysis.compare).

_COMPARE_HELP = r"""What-if comparison: run the same raid with the same seeds under several coordination
variants and print the difference in defended value lost, leakers, interceptors expended, decision
latency and duplicate engagements, each with its 95 % confidence interval.

[bold]Variants[/bold] (--variant, repeated; the first is the base of the differences):

  scenario           the scenario as written
  integrated         every battery delegated; everything shared with the alliance
  national-only      each nation alone, on its own sensors; nothing shared
  no-sharing:NATION  as written, but NATION shares nothing
  delegated:NATION   as written, but NATION's batteries are all delegated

integrated keeps sovereignty as written (defends, overflight, engage_classes). In national-only every
battery is national_only and defends its own nation's assets. Forms join with +
(integrated+no-sharing:vestria). Default: integrated and national-only.

[bold]Runs[/bold]: run k of every variant uses seed settings.seed + k (a paired design: differences
are taken seed by seed, later variant minus the first). Figures are means with Student-t 95 %
intervals; decision latency counts the runs in which something was ordered. Runs go to --jobs worker
processes; the output is the same for any --jobs.

[bold]--burden[/bold] adds per nation: intercepts and interceptors spent on threats to other
nations' assets, tracks contributed to the alliance picture, and the marginal value of its sharing
(the change in defended value lost when its data is withheld from the base variant). It runs one
extra variant per nation: the base with that nation's data withheld.

[bold]Examples[/bold]

  shieldwall compare examples/medium.yaml --runs 50
  shieldwall compare examples/small.yaml --variant scenario --variant integrated
  shieldwall compare examples/small.yaml --variant no-sharing:osterland --json
  shieldwall compare examples/small.yaml --runs 20 --burden --out runs/cmp

--json prints only {"variants": {NAME: {METRIC: {"mean", "ci95": \[lo, hi], "sd", "n"}}},
"differences": {NAME: {"vs": FIRST, METRIC: {...}}}, "runs", "seeds", "scenario"} (and "burden").
--out DIR writes compare.json and a self-contained compare.html. A missing or broken scenario, an
unknown variant or nation, or fewer than 2 runs prints one line and exits 2.
"""


@app.command(name="compare", help=_reflow(_COMPARE_HELP))
def compare_cmd(
    file: Path = typer.Argument(..., help="Scenario YAML file.", show_default=False),
    variant: list[str] | None = typer.Option(
        None, "--variant", metavar="VARIANT", show_default=False,
        help="scenario, integrated, national-only, no-sharing:NATION or delegated:NATION; repeat it. "
             "The first is the base of the differences. Default: integrated, national-only."),
    runs: str = typer.Option("10", "--runs", metavar="N", help="Runs (seeds) per variant, an integer >= 2."),
    jobs: str | None = typer.Option(None, "--jobs", metavar="J", show_default=False,
                                    help="Worker processes (default: the number of CPUs; 1 runs in-process)."),
    with_burden: bool = typer.Option(False, "--burden", help="Add burden-sharing figures per nation "
                                                             "(one extra variant per nation)."),
    as_json: bool = typer.Option(False, "--json", help="Print only the JSON result."),
    out_dir: Path | None = typer.Option(None, "--out", metavar="DIR", show_default=False,
                                        help="Write compare.json and compare.html to DIR."),
) -> None:
    """What-if comparison of coordination variants (the help text is :data:`_COMPARE_HELP`)."""
    import os

    from rich.progress import MofNCompleteColumn

    from shieldwall.analysis import compare as cmp
    from shieldwall.sim.build import plan_threats

    scenario = _load(file)
    try:
        n_runs = int(runs)
    except ValueError:
        raise _bad_option("--runs", f"{runs!r} (expected an integer >= 2: a confidence interval needs "
                                    "two runs)", "compare") from None
    if n_runs < 2:
        raise _bad_option("--runs", f"{runs!r} (expected an integer >= 2: a confidence interval needs two runs)",
                          "compare")
    try:
        n_jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    except ValueError:
        n_jobs = 0
    if n_jobs < 1:
        raise _bad_option("--jobs", f"{jobs!r} (expected a positive integer)", "compare")
    try:
        plan = cmp.plan(scenario, variant or cmp.DEFAULT_VARIANTS, n_runs, with_burden)
        plan_threats(scenario, str(file))   # every missile can fly (variants do not change the raid)
    except cmp.VariantError as exc:
        raise _bad_option("--variant", str(exc), "compare") from None
    except ShieldwallError as exc:
        raise _fail(exc) from None
    with Progress(TextColumn("[bold]comparing[/bold]"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                  TimeElapsedColumn(), console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("runs", total=plan.total_runs)
        try:
            result = cmp.compare(scenario, plan.variants, n_runs, jobs=n_jobs, with_burden=with_burden,
                                 progress=lambda done, total: bar.update(task, completed=done))
        except ShieldwallError as exc:
            raise _fail(exc) from None
    text = json.dumps(result, indent=2, allow_nan=False) + "\n"
    report = None
    if out_dir is not None:
        from shieldwall.analysis.compare_report import render_compare_report

        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "compare.json").write_text(text, encoding="utf-8")
        report = out_dir / "compare.html"
        report.write_text(render_compare_report(result), encoding="utf-8")
    if as_json:
        sys.stdout.write(text)
        if report is not None:
            err.print(f"Report: {report}", markup=False, highlight=False, soft_wrap=True)
        return
    for renderable in cmp.tables(result):
        out.print(renderable)
    if report is not None:
        out.print(f"Report: {report}", markup=False, highlight=False, soft_wrap=True)


# -------------------------------------------------------------------------------------------------
# audit: verify a run's hash-chained audit log and explain its decisions (shieldwall.policy.audit_cli).

from shieldwall.policy import audit_cli  # noqa: E402  (next to the command it registers)

app.command(name="audit", help=_reflow(audit_cli.AUDIT_HELP))(audit_cli.audit)


def main() -> None:
    app()
