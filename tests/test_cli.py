"""The ``shieldwall`` command: help, ``validate`` and ``trajectory`` (``run`` is tested in test_cli_run.py).

Most cases go through Typer's CliRunner (in process, fast); the installed console script is run once
as a subprocess to check the entry point itself. Errors must be one line each, exit status 2, never a
traceback; ``trajectory --json`` must print what :func:`trajectory_summary` computes.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shieldwall.cli import app
from shieldwall.geo import destination
from shieldwall.scenario.loader import builtin_catalog
from shieldwall.world.ballistic import trajectory_summary

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small.yaml"
SHIELDWALL = Path(sys.executable).with_name("shieldwall")
SUBCOMMANDS = ("validate", "run", "trajectory", "wta", "audit", "compare")


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def _no_traceback(result) -> None:
    text = result.output + (result.stderr or "")
    assert "Traceback" not in text
    # A crash inside the command is caught by CliRunner as an exception, not an exit.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_console_script_help():
    res = subprocess.run([str(SHIELDWALL), "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for sub in SUBCOMMANDS:
        assert sub in res.stdout


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_each_subcommand_has_help(sub):
    res = invoke(sub, "--help")
    assert res.exit_code == 0, res.output
    assert "Usage:" in res.output and sub in res.output
    _no_traceback(res)


def test_no_arguments_shows_help():
    res = invoke()
    # Typer/Click show the help and exit with a usage status when no subcommand is given.
    assert res.exit_code in (0, 2)
    assert "Usage:" in res.output and all(sub in res.output for sub in SUBCOMMANDS)


@pytest.mark.parametrize("name", ["small.yaml", "medium.yaml"])
def test_validate_examples(name):
    res = invoke("validate", str(ROOT / "examples" / name))
    assert res.exit_code == 0, res.output
    assert f"{ROOT / 'examples' / name}: ok" in res.stdout
    _no_traceback(res)


def _broken(tmp_path: Path) -> tuple[Path, int]:
    """A copy of the small example with three schema problems in different places."""
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    data["assets"][0]["lat_deg"] = 123.0                 # latitude out of range
    del data["settings"]["duration_s"]                    # missing field
    data["sensors"][0]["range_m"] = 5                     # unknown field
    path = tmp_path / "bad scenario.yaml"                 # a space in the name, for good measure
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, 3


def test_validate_malformed_file_one_line_per_problem(tmp_path):
    path, n_problems = _broken(tmp_path)
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) >= n_problems, res.stderr
    for line in lines:
        assert line.startswith(f"{path}: "), line
        _, where, what = line.split(": ", 2)   # FILE: path.to.field: message
        assert where and what
    text = res.stderr
    assert "assets[0].lat_deg" in text and "settings.duration_s" in text and "sensors[0].range_m" in text
    assert res.stdout == ""


def test_validate_unknown_reference(tmp_path):
    # References are checked once the file fits the schema: an unknown class is named with its path.
    data = yaml.safe_load(SMALL.read_text(encoding="utf-8"))
    data["threats"][0]["class"] = "no-such-class"
    path = tmp_path / "ref.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{path}: threats[0].class: "), res.stderr
    assert "no-such-class" in lines[0] and "expected" in lines[0]


def test_validate_problem_lines_do_not_wrap(tmp_path):
    """One line per problem even when the line is longer than the terminal (no soft wrapping)."""
    path, _ = _broken(tmp_path)
    long_dir = tmp_path / ("d" * 100)
    long_dir.mkdir()
    long_path = long_dir / path.name
    long_path.write_text(path.read_text())
    res = subprocess.run([str(SHIELDWALL), "validate", str(long_path)], capture_output=True, text=True,
                         timeout=120, env={"COLUMNS": "60", "PATH": "/usr/bin:/bin"})
    assert res.returncode == 2
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith(f"{long_path}: ") for line in lines), res.stderr


@pytest.mark.parametrize("text", ["nations: [}\n", "- just\n- a list\n", "", "name: 3\n"])
def test_validate_unparseable_or_wrong_shape(tmp_path, text):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines and all(line.startswith(f"{path}: ") for line in lines), res.stderr


def test_validate_missing_file(tmp_path):
    path = tmp_path / "absent.yaml"
    res = invoke("validate", str(path))
    assert res.exit_code == 2
    _no_traceback(res)
    assert res.stderr.startswith(f"{path}: ") and len(res.stderr.strip().splitlines()) == 1


# -------------------------------------------------------------------------------------------------
# trajectory

KEYS = {"range_km", "flight_time_s", "apogee_km", "burnout_speed_kms", "reentry_speed_kms", "impact_error_m"}


def _aim(lat_deg, lon_deg, heading_deg, range_km):
    lat, lon = destination(math.radians(lat_deg), math.radians(lon_deg), math.radians(heading_deg), range_km * 1e3)
    return round(math.degrees(float(lat)), 6), round(math.degrees(float(lon)), 6)


@pytest.mark.parametrize(("cls", "kind", "heading", "range_km"), [
    ("srbm", "minimum-energy", 30.0, 800.0),
    ("mrbm", "lofted", 200.0, 1_500.0),
])
def test_trajectory_json_matches_the_library(cls, kind, heading, range_km):
    lat1, lon1 = _aim(40.0, 20.0, heading, range_km)
    res = invoke("trajectory", "--from", "40,20", "--to", f"{lat1},{lon1}", "--class", cls, "--type", kind, "--json")
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert KEYS <= set(got)
    c = builtin_catalog().missiles[cls]
    ref = trajectory_summary(40.0, 20.0, lat1, lon1, c.burn_time_s, c.burnout_speed_max_kms * 1e3,
                             c.ballistic_coefficient_kgm2, kind)
    assert set(got) == set(ref)
    for key in ref:
        assert got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-9), key
    assert got["range_km"] == pytest.approx(range_km, rel=1e-6)
    assert got["impact_error_m"] < 1_000.0


def test_trajectory_table():
    lat1, lon1 = _aim(40.0, 20.0, 90.0, 600.0)
    res = invoke("trajectory", "--from", "40,20", "--to", f"{lat1},{lon1}", "--class", "srbm")
    assert res.exit_code == 0, res.output
    for key in KEYS:
        assert key in res.stdout


@pytest.mark.parametrize(("args", "needle"), [
    (["--from", "40;20", "--to", "41,21", "--class", "srbm"], "--from"),
    (["--from", "forty,20", "--to", "41,21", "--class", "srbm"], "--from"),
    (["--from", "40,20", "--to", "95,21", "--class", "srbm"], "--to"),
    (["--from", "40,20", "--to", "41,200", "--class", "srbm"], "--to"),
    (["--from", "40,20", "--to", "41,21", "--class", "cruise"], "cruise"),
    (["--from", "40,20", "--to", "41,21", "--class", "srbm", "--type", "sideways"], "sideways"),
    (["--from", "40,20", "--to", "60,60", "--class", "srbm"], "3,534 km"),             # out of reach
    (["--from", "40,20", "--to", "40,20", "--class", "srbm"], "expected more than 1 km"),
])
def test_trajectory_bad_input_one_line_exit_2(args, needle):
    res = invoke("trajectory", *args)
    assert res.exit_code == 2, res.output
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("trajectory: ") and needle in lines[0], lines[0]
    assert "expected" in lines[0] or "needs" in lines[0], lines[0]
    assert res.stdout == ""
