"""``shieldwall wta``: the weapon-target assignment solvers as a standalone command.

The references are independent of the solvers and of :class:`WtaProblem`: the optimum of small
instances by exhaustive enumeration over the raw JSON (scalars broadcast here again), and the
objective recomputed from the printed plan rows. Errors must be one line on stderr, exit status 2,
never a traceback. Nothing here asserts on timings.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shieldwall.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "wta-small.json"
GUIDE = ROOT / "docs" / "guide.md"
SHIELDWALL = Path(sys.executable).with_name("shieldwall")
INSTANCE_KEYS = {"value", "pk", "inventory", "channels", "salvo", "engaged", "cost", "one_battery_per_threat"}
RECORD_KEYS = {"solver", "objective", "surviving_value", "cost", "bound", "gap", "seconds", "shots", "plan"}

# Two batteries of two rounds, two threats, all shots at a threat from one battery: the optimum is
# each battery's two rounds at its own threat (0.25 + 0.5); one shot at each threat from battery 0
# and nothing from battery 1 (1.5) is the trap of a shot-by-shot plan.
ONE_BATTERY = {"value": [1.0, 2.0], "pk": [[0.5, 0.5], [0.5, 0.5]], "inventory": [2, 2],
               "one_battery_per_threat": True}
# Costs that make some shots not worth firing, a channel limit that binds, pk = 0 cells.
COSTED = {"value": [10.0, 50.0, 20.0], "pk": [[0.9, 0.3, 0.0], [0.2, 0.6, 0.7], [0.0, 0.95, 0.4]],
          "inventory": [2, 3, 1], "channels": 1, "salvo": [1, 2, 2], "cost": [1.0, 4.0, 12.0]}


def invoke(*args: str):
    return CliRunner().invoke(app, ["wta", *args])


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output + (result.stderr or "")
    # A crash inside the command is caught by CliRunner as an exception, not an exit.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def solve_json(*args: str) -> dict:
    res = invoke(*args, "--json")
    assert res.exit_code == 0, res.output
    _no_traceback(res)
    assert res.stderr == ""
    return json.loads(res.stdout)


# -------------------------------------------------------------------------------------------------
# Independent references on the raw instance data.


def _instance(data: dict) -> dict:
    """The instance's fields as plain lists, scalars broadcast and left-out keys filled in."""
    n_b, n_t = len(data["pk"]), len(data["value"])
    total = sum(data["inventory"]) if isinstance(data["inventory"], list) else data["inventory"] * n_b

    def per(key, n, default):
        v = data.get(key)
        v = default if v is None else v
        return list(v) if isinstance(v, list) else [v] * n

    return {"value": per("value", n_t, 0), "pk": data["pk"], "inventory": per("inventory", n_b, 0),
            "channels": per("channels", n_b, n_t), "salvo": per("salvo", n_t, total),
            "engaged": per("engaged", n_t, False), "cost": per("cost", n_b, 0.0),
            "one": bool(data.get("one_battery_per_threat", False)), "B": n_b, "T": n_t}


def objective(inst: dict, counts: list[list[int]]) -> float:
    """Expected surviving value plus interceptor cost, written out from the definition."""
    surviving = sum(inst["value"][t] * math.prod((1.0 - inst["pk"][b][t]) ** counts[b][t]
                                                 for b in range(inst["B"])) for t in range(inst["T"]))
    return surviving + sum(inst["cost"][b] * sum(counts[b]) for b in range(inst["B"]))


def violations(inst: dict, counts: list[list[int]]) -> list[str]:
    bad = []
    for b in range(inst["B"]):
        if sum(counts[b]) > inst["inventory"][b]:
            bad.append(f"battery {b}: inventory")
        if sum(1 for k in counts[b] if k) > inst["channels"][b]:
            bad.append(f"battery {b}: channels")
    for t in range(inst["T"]):
        column = [counts[b][t] for b in range(inst["B"])]
        if sum(column) > inst["salvo"][t]:
            bad.append(f"threat {t}: salvo")
        if inst["engaged"][t] and sum(column):
            bad.append(f"threat {t}: engaged")
        if inst["one"] and sum(1 for k in column if k) > 1:
            bad.append(f"threat {t}: one battery")
        bad += [f"battery {b} threat {t}: pk 0" for b in range(inst["B"]) if column[b] and inst["pk"][b][t] <= 0]
    return bad


def brute_force(data: dict) -> float:
    """The optimal objective, by enumerating every battery's shot vectors and every combination."""
    inst = _instance(data)
    options = []
    for b in range(inst["B"]):
        top = [0 if inst["pk"][b][t] <= 0 or inst["engaged"][t] else min(inst["inventory"][b], inst["salvo"][t])
               for t in range(inst["T"])]
        rows = [r for r in itertools.product(*(range(k + 1) for k in top))
                if sum(r) <= inst["inventory"][b] and sum(1 for k in r if k) <= inst["channels"][b]]
        options.append(rows)
    best = math.inf
    for plan in itertools.product(*options):
        counts = [list(r) for r in plan]
        if not violations(inst, counts):
            best = min(best, objective(inst, counts))
    return best


def counts_from(record: dict, inst: dict) -> list[list[int]]:
    counts = [[0] * inst["T"] for _ in range(inst["B"])]
    for row in record["plan"]:
        assert set(row) == {"battery", "threat", "shots"}
        assert row["shots"] >= 1
        assert counts[row["battery"]][row["threat"]] == 0, "a (battery, threat) pair listed twice"
        counts[row["battery"]][row["threat"]] = row["shots"]
    return counts


def check_record(record: dict, data: dict) -> None:
    """The record's plan is feasible and its figures are those of its plan."""
    inst = _instance(data)
    assert set(record) == RECORD_KEYS
    counts = counts_from(record, inst)
    assert violations(inst, counts) == []
    assert record["shots"] == sum(map(sum, counts))
    assert record["objective"] == pytest.approx(objective(inst, counts), rel=1e-9, abs=1e-9)
    cost = sum(inst["cost"][b] * sum(counts[b]) for b in range(inst["B"]))
    assert record["cost"] == pytest.approx(cost, abs=1e-9)
    assert record["surviving_value"] + record["cost"] == pytest.approx(record["objective"], rel=1e-12, abs=1e-12)
    pairs = [(r["battery"], r["threat"]) for r in record["plan"]]
    assert pairs == sorted(pairs)                       # by battery, then threat
    if record["solver"] == "exact":
        assert record["bound"] is not None and record["gap"] is not None
        assert record["bound"] <= record["objective"] + 1e-9 * max(1.0, record["objective"])
    else:
        assert record["bound"] is None and record["gap"] is None
    assert record["seconds"] >= 0


def write(tmp_path: Path, data: dict, name: str = "instance.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# -------------------------------------------------------------------------------------------------
# Solving.


def test_help_teaches_the_model_and_the_file_format():
    res = invoke("--help")
    assert res.exit_code == 0, res.output
    _no_traceback(res)
    text = " ".join(res.stdout.split())
    for word in (*INSTANCE_KEYS, "objective", "expected surviving value", "--generate", "--seed", "--solver",
                 "--budget-ms", "--time-limit", "--json", "--save-instance", "--compare", "exits 2",
                 '"pk": [[0.8, 0.6], [0.0, 0.7]]', "pk[b, t]", "[25, 100]"):
        assert word in text, word
    top = CliRunner().invoke(app, ["--help"])
    assert "wta" in top.stdout


@pytest.mark.parametrize("solver", ["exact", "auto"])
def test_exact_on_the_example_is_the_brute_force_optimum(solver):
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == INSTANCE_KEYS                   # the example shows every key
    record = solve_json(str(EXAMPLE), "--solver", solver)
    assert record["solver"] == "exact"                  # auto: a small instance is solved exactly
    check_record(record, data)
    assert record["objective"] == pytest.approx(brute_force(data), rel=1e-9)
    assert record["gap"] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("data", [ONE_BATTERY, COSTED], ids=["one-battery-per-threat", "costs-channels"])
def test_exact_on_hand_made_instances(tmp_path, data):
    path = write(tmp_path, data)
    record = solve_json(str(path), "--solver", "exact")
    check_record(record, data)
    assert record["objective"] == pytest.approx(brute_force(data), rel=1e-9)


def test_one_battery_per_threat_optimum_by_hand(tmp_path):
    """The brute force itself, checked against the optimum worked out in ONE_BATTERY's comment."""
    assert brute_force(ONE_BATTERY) == pytest.approx(0.75)
    record = solve_json(str(write(tmp_path, ONE_BATTERY)), "--solver", "exact")
    assert sorted((r["battery"], r["threat"], r["shots"]) for r in record["plan"]) in ([(0, 0, 2), (1, 1, 2)],
                                                                                      [(0, 1, 2), (1, 0, 2)])


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_generated_3x3_exact_is_the_brute_force_optimum(tmp_path, seed):
    saved = tmp_path / "g.json"
    record = solve_json("--generate", "3,3", "--seed", str(seed), "--solver", "exact",
                        "--save-instance", str(saved))
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert set(data) <= INSTANCE_KEYS and len(data["pk"]) == 3 and len(data["value"]) == 3
    assert data["inventory"] == [1, 1, 1]
    assert all(25 <= v <= 100 for v in data["value"]) and all(0.6 <= p <= 0.9 for row in data["pk"] for p in row)
    check_record(record, data)
    assert record["objective"] == pytest.approx(brute_force(data), rel=1e-9)


@pytest.mark.parametrize("solver", ["fast", "greedy"])
def test_heuristics_give_feasible_plans_no_better_than_the_optimum(solver):
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    record = solve_json(str(EXAMPLE), "--solver", solver)
    assert record["solver"] == solver
    check_record(record, data)
    assert record["objective"] >= brute_force(data) - 1e-9


def test_generate_200x200_fast_plan_is_feasible_and_deterministic(tmp_path):
    saved = tmp_path / "g.json"
    record = solve_json("--generate", "200,200", "--seed", "3", "--save-instance", str(saved))
    assert record["solver"] == "fast"                   # 40,000 pairs: auto takes the fast solver
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert len(data["pk"]) == 200 and len(data["value"]) == 200
    check_record(record, data)
    assert record["shots"] == 200                       # one round per weapon, every shot worth firing
    again = solve_json("--generate", "200,200", "--seed", "3")
    assert (again["objective"], again["plan"]) == (record["objective"], record["plan"])
    other = solve_json("--generate", "200,200", "--seed", "4")
    assert other["objective"] != record["objective"]


def test_saved_instance_round_trips(tmp_path):
    saved = tmp_path / "sub" / "dir" / "inst.json"     # the directory is created
    first = solve_json("--generate", "6,5", "--seed", "7", "--solver", "exact", "--save-instance", str(saved))
    again = solve_json(str(saved), "--solver", "exact")
    assert again["objective"] == first["objective"] and again["plan"] == first["plan"]
    # A file instance saved again is the same instance.
    copy = tmp_path / "copy.json"
    third = solve_json(str(EXAMPLE), "--solver", "exact", "--save-instance", str(copy))
    fourth = solve_json(str(copy), "--solver", "exact")
    assert fourth["objective"] == third["objective"] and fourth["plan"] == third["plan"]


def test_budget_and_time_limit_options_are_accepted():
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    fast = solve_json(str(EXAMPLE), "--solver", "fast", "--budget-ms", "20")
    check_record(fast, data)
    exact = solve_json(str(EXAMPLE), "--solver", "exact", "--time-limit", "30", "--budget-ms", "5")
    check_record(exact, data)
    assert exact["objective"] == pytest.approx(brute_force(data), rel=1e-9)


def test_compare_json_and_table(tmp_path):
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    got = solve_json(str(EXAMPLE), "--compare")
    assert set(got) == {"compare"}
    records = got["compare"]
    assert [r["solver"] for r in records] == ["greedy", "fast", "exact"]
    for r in records:
        check_record(r, data)
    greedy, fast, exact = (r["objective"] for r in records)
    assert exact == pytest.approx(brute_force(data), rel=1e-9)
    assert exact <= fast + 1e-9 and exact <= greedy + 1e-9
    res = invoke(str(EXAMPLE), "--compare")
    assert res.exit_code == 0, res.output
    rows = [line for line in res.stdout.splitlines() if re.match(r"│ (greedy|fast|exact) ", line)]
    assert len(rows) == 3
    assert f"{exact:,.3f}" in rows[2] and f"{greedy:,.3f}" in rows[0]


def test_table_output_names_solver_objective_and_plan():
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    res = invoke(str(EXAMPLE))
    assert res.exit_code == 0, res.output
    _no_traceback(res)
    out = res.stdout
    best = brute_force(data)
    assert f"{EXAMPLE}: 3 batteries × 5 threats" in out
    assert "exact (auto)" in out and f"{best:,.3f}" in out and "0.00%" in out
    record = solve_json(str(EXAMPLE))
    assert f"Plan (exact): {record['shots']} shots" in out and "1 engaged threat left alone" in out
    assert f"interceptor cost {record['cost']:,.3f} = objective {best:,.3f}." in out
    for row in record["plan"]:
        assert re.search(rf"│\s+{row['battery']} │\s+{row['threat']} │\s+{row['shots']} │", out), row
    assert res.stderr == ""


def test_long_plans_are_cut_in_the_table_not_in_json(tmp_path):
    res = invoke("--generate", "40,30", "--seed", "1", "--solver", "greedy")
    assert res.exit_code == 0, res.output
    assert "… and 25 more rows (--json prints the whole plan)" in res.stdout     # 40 single-round weapons
    assert len(solve_json("--generate", "40,30", "--seed", "1", "--solver", "greedy")["plan"]) == 40


def test_no_shot_worth_firing(tmp_path):
    data = {"value": [1.0, 2.0], "pk": [[0.5, 0.5]], "inventory": 3, "cost": 5.0}
    record = solve_json(str(write(tmp_path, data)))
    assert record["plan"] == [] and record["shots"] == 0 and record["objective"] == pytest.approx(3.0)
    res = invoke(str(write(tmp_path, data)))
    assert res.exit_code == 0 and "no shots" in res.stdout


def test_console_script(tmp_path):
    res = subprocess.run([str(SHIELDWALL), "wta", str(EXAMPLE), "--json"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["objective"] == pytest.approx(brute_force(json.loads(EXAMPLE.read_text())))
    bad = subprocess.run([str(SHIELDWALL), "wta", str(tmp_path / "absent.json")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and bad.stdout == ""


# -------------------------------------------------------------------------------------------------
# Bad input: one line on stderr naming what is wrong, exit status 2.

GOOD = {"value": [1.0, 2.0], "pk": [[0.5, 0.4], [0.0, 0.9]], "inventory": [1, 2]}
BAD_FILES = [
    ("not JSON", "{value: [1]", "not JSON"),
    ("a list", "[1, 2]", "expected a JSON object"),
    ("unknown key", json.dumps({**GOOD, "colour": "red"}), "unknown key 'colour'"),
    ("missing key", json.dumps({"value": [1.0], "pk": [[0.5]]}), "missing key 'inventory'"),
    ("pk 1-D", json.dumps({**GOOD, "pk": [0.5, 0.4]}), "pk must have 2 dimensions"),
    ("pk columns", json.dumps({**GOOD, "pk": [[0.5], [0.9]]}), "expected one column per threat"),
    ("inventory length", json.dumps({**GOOD, "inventory": [1, 2, 3]}), ""),    # numpy's words, not the key
    ("ragged pk", json.dumps({**GOOD, "pk": [[0.5, 0.4], [0.9]]}), ""),
    ("pk above 1", json.dumps({**GOOD, "pk": [[0.5, 1.5], [0.0, 0.9]]}), "[0, 1]"),
    ("negative value", json.dumps({**GOOD, "value": [1.0, -2.0]}), "value must be finite"),
    ("fractional inventory", json.dumps({**GOOD, "inventory": [1.5, 2]}), "inventory must be integers in [0, 1,000,000]"),
    ("text in pk", json.dumps({**GOOD, "pk": [[0.5, "high"], [0.0, 0.9]]}), "pk must hold numbers"),
    ("inventory out of range", json.dumps({**GOOD, "inventory": [1e19, 2]}), "inventory must be integers in [0, 1,000,000]"),
]


@pytest.mark.parametrize(("text", "needle"), [(t, n) for _, t, n in BAD_FILES], ids=[i for i, _, _ in BAD_FILES])
def test_bad_instance_file(tmp_path, text, needle):
    path = tmp_path / "bad instance.json"
    path.write_text(text, encoding="utf-8")
    res = invoke(str(path))
    assert res.exit_code == 2, res.output
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"{path}: ") and needle in lines[0], lines[0]
    assert res.stdout == ""


def test_missing_file_and_directory(tmp_path):
    for path in (tmp_path / "absent.json", tmp_path):
        res = invoke(str(path))
        assert res.exit_code == 2
        _no_traceback(res)
        assert res.stderr.startswith(f"{path}: cannot read") and len(res.stderr.strip().splitlines()) == 1
        assert res.stdout == ""


@pytest.mark.parametrize(("args", "needle"), [
    ([], "exactly one"),
    ([str(EXAMPLE), "--generate", "3,3"], "exactly one"),
    (["--generate", "200x200"], "--generate: '200x200' (expected W,T"),
    (["--generate", "0,5"], "--generate"),
    (["--generate", "3,3,3"], "--generate"),
    (["--generate", "a,b"], "--generate"),
    (["--generate", "6000,10"], "at most 5,000"),
    (["--generate", "3,3", "--seed", "-1"], "--seed: '-1' (expected a non-negative integer)"),
    (["--generate", "3,3", "--seed", "x"], "--seed"),
    ([str(EXAMPLE), "--seed", "3"], "--seed: applies to --generate only"),
    ([str(EXAMPLE), "--solver", "best"], "unknown solver 'best' (expected one of: auto, exact, fast, greedy)"),
    ([str(EXAMPLE), "--compare", "--solver", "exact"], "--compare"),
    ([str(EXAMPLE), "--budget-ms", "0"], "--budget-ms: '0' (expected a positive number)"),
    ([str(EXAMPLE), "--budget-ms", "soon"], "--budget-ms"),
    ([str(EXAMPLE), "--time-limit", "-1"], "--time-limit"),
    ([str(EXAMPLE), "--time-limit", "inf"], "--time-limit"),
])
def test_bad_options(args, needle):
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    _no_traceback(res)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("wta: ") and needle in lines[0] and "expected" in lines[0], lines[0]
    assert res.stdout == ""


def test_save_instance_to_an_unwritable_place(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for target in (blocker / "x.json", tmp_path):
        res = invoke("--generate", "3,3", "--save-instance", str(target))
        assert res.exit_code == 2, res.output
        _no_traceback(res)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, lines
        assert lines[0].startswith("wta: --save-instance: ") and str(target) in lines[0], lines


# -------------------------------------------------------------------------------------------------
# The guide's section on the command (test_docs runs its commands and checks their exit codes).


def _wta_section() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index("### `shieldwall wta`")
    return text[start:text.index("\n#", start + 1)]


def _documented_runs() -> list[tuple[str, list[str]]]:
    """(command, shown output lines) of every ``$ shieldwall wta`` line of the section."""
    runs, current = [], None
    for block in re.findall(r"```console\n(.*?)```", _wta_section(), flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                current = (line[2:], [])
                runs.append(current)
            elif line.strip() and current is not None:
                current[1].append(line)
        current = None
    return runs


def _masked(line: str) -> str:
    """A line without whitespace, the seconds cell of a solver row masked (it is wall-clock time)."""
    squashed = re.sub(r"\s+", "", line)
    return re.sub(r"^(│(?:exact|fast|greedy)(?:\(auto\))?(?:│[^│]*){3}│)[0-9.,]+│$", r"\1#│", squashed)


def test_guide_shows_what_the_command_prints():
    runs = [(c, shown) for c, shown in _documented_runs() if shown and "--generate 200x200" not in c]
    assert len(runs) >= 2, runs
    for command, shown in runs:
        args = shlex.split(command)
        assert args[:2] == ["shieldwall", "wta"]
        res = CliRunner().invoke(app, args[1:])
        assert res.exit_code == 0, (command, res.output)
        printed = [_masked(line) for line in res.stdout.splitlines()]
        for line in shown:
            assert _masked(line) in printed, f"{command}: documented line not printed: {line!r}\n{res.stdout}"
        assert len(shown) == len([p for p in printed if p]), f"{command}: the guide shows only part of the output"


def test_guide_documents_the_keys():
    section = _wta_section()
    tables = {}
    for table in re.findall(r"((?:^\|.*\n)+)", section, flags=re.M):
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.splitlines()]
        tables[rows[0][0]] = {re.findall(r"`([^`]*)`", r[0])[0] for r in rows[2:]}
    assert tables["instance key"] == INSTANCE_KEYS
    assert tables["key"] == RECORD_KEYS
    assert RECORD_KEYS == set(solve_json(str(EXAMPLE)))
    # The instance keys are those the loader accepts.
    from dataclasses import fields

    from shieldwall.engage.problem import WtaProblem

    assert INSTANCE_KEYS == {f.name for f in fields(WtaProblem) if f.init}
