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


def _bad_option(option: str, message: str) -> typer.Exit:
    """One line on stderr, ``trajectory: --option: what is wrong (expected …)``, and exit status 2."""
    err.print(f"trajectory: {option}: {message}", markup=False, highlight=False, soft_wrap=True)
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


def main() -> None:
    app()
