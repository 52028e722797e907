"""The user documentation is executable and checked against the code it describes.

- Every ``$ shieldwall …`` line in a ``console`` block of ``docs/*.md`` is run (the venv's
  ``shieldwall``, cwd = repository root, ``runs/…`` paths redirected to a temporary directory) and
  must exit 0, or the code given by a ``<!-- doctest: exit=N -->`` comment just before the block. With
  ``<!-- doctest: output -->`` every output line shown under a command must appear in its output
  (whitespace-insensitive, so terminal line wrapping does not matter).
- Every ``python`` block of the guide is executed, in order, in one namespace.
- The metric keys the guide documents are exactly those of a real run's ``metrics.json``; the
  ``trajectory --json`` keys likewise.
- ``scenario-reference.md`` documents exactly the keys of the pydantic schema, with the right
  required/default status, unit and choices; the guide's catalog tables match the built-in catalog; its
  walkthrough table matches ``examples/small.yaml``; a ``yaml`` block marked ``file=PATH`` is that file.

Run commands share one module-scoped execution (the small example is simulated once for all checks).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shlex
import subprocess
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from shieldwall.scenario.loader import builtin_catalog
from shieldwall.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = DOCS / "guide.md"
REFERENCE = DOCS / "scenario-reference.md"
DOC_FILES = sorted(DOCS.glob("*.md"))
COMMAND_TIMEOUT_S = 300

# ------------------------------------------------------------------------------------------------
# Markdown parsing (just what these documents use: headings, fenced blocks, pipe tables).


@dataclass
class Block:
    doc: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    heading: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    doc: Path
    line: int
    heading: str
    header: list[str]
    rows: list[list[str]]


OPTION_RE = re.compile(r"<!--\s*doctest:\s*(.*?)\s*-->")


def _options(text: str) -> dict[str, str]:
    out = {}
    for token in text.split():
        key, _, value = token.partition("=")
        out[key] = value
    return out


def parse_markdown(doc: Path) -> tuple[list[Block], list[Table]]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    tables: list[Table] = []
    heading = ""
    pending: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            lang = line[3:].strip()
            start = i
            i += 1
            body = []
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append(Block(doc, start + 1, lang, "\n".join(body) + "\n", heading, pending))
            pending = {}
        elif line.startswith("#"):
            heading = line.lstrip("#").strip()
            pending = {}
        elif m := OPTION_RE.fullmatch(line.strip()):
            pending = _options(m.group(1))
        elif line.startswith("|"):
            start = i
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            tables.append(Table(doc, start + 1, heading, rows[0], body))
            pending = {}
            continue
        elif line.strip():
            pending = {}
        i += 1
    return blocks, tables


def ticks(cell: str) -> list[str]:
    """The `backticked` tokens of a table cell."""
    return re.findall(r"`([^`]*)`", cell)


# ------------------------------------------------------------------------------------------------
# Console commands.


@dataclass
class Command:
    block: Block
    text: str  # the command line, without "$ "
    expected_output: list[str]

    @property
    def id(self) -> str:
        return f"{self.block.doc.name}:{self.block.line}: {self.text}"


def console_commands() -> list[Command]:
    out = []
    for doc in DOC_FILES:
        for block in parse_markdown(doc)[0]:
            if block.lang != "console" or "skip" in block.options:
                continue
            current: Command | None = None
            lines = block.text.splitlines()
            k = 0
            while k < len(lines):
                line = lines[k]
                if line.startswith("$ "):
                    text = line[2:]
                    while text.endswith("\\") and k + 1 < len(lines):
                        k += 1
                        text = text[:-1] + " " + lines[k].strip()
                    current = Command(block, text.strip(), [])
                    out.append(current)
                elif current is not None and line.strip():
                    current.expected_output.append(line)
                k += 1
    return [c for c in out if shlex.split(c.text, comments=True)[:1] == ["shieldwall"]]


def shieldwall_argv() -> list[str]:
    script = Path(sys.executable).with_name("shieldwall")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from shieldwall.cli import main; main()"]


RUNS_RE = re.compile(r"(?<![\w/.\-])runs/")


def redirect(text: str, tmp: Path) -> str:
    """Send every relative ``runs/…`` path in a command, an output line or Python code to ``tmp``."""
    return RUNS_RE.sub(f"{tmp.as_posix()}/runs/", text)


@dataclass
class Outcome:
    command: Command
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    tmp: Path  # where its ``runs/`` paths were redirected


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> list[Outcome]:
    """Every documented ``shieldwall`` command, run once per test session, in document order.

    Under pytest-xdist the workers share one execution: the first to take the lock runs the commands
    and leaves the outcomes for the others.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    tmp = root / "docs-cli"
    record = tmp / "outcomes.json"
    commands = console_commands()
    with open(root / "docs-cli.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not record.exists():
            tmp.mkdir(parents=True, exist_ok=True)
            env = {**os.environ, "NO_COLOR": "1", "PYTHONUTF8": "1"}
            results = []
            for cmd in commands:
                args = shlex.split(redirect(cmd.text, tmp), comments=True)
                if args[1:2] == ["run"]:
                    assert "--out" in args, f"{cmd.id}: give --out runs/… so the test keeps its output out of the repository"
                argv = shieldwall_argv() + args[1:]
                proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                      timeout=COMMAND_TIMEOUT_S)
                results.append({"text": cmd.text, "argv": argv, "returncode": proc.returncode,
                                "stdout": proc.stdout, "stderr": proc.stderr})
            record.write_text(json.dumps(results), encoding="utf-8")
        results = json.loads(record.read_text(encoding="utf-8"))
    assert [r["text"] for r in results] == [c.text for c in commands]
    return [Outcome(c, r["argv"], r["returncode"], r["stdout"], r["stderr"], tmp) for c, r in zip(commands, results)]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_docs_hold_commands_and_code():
    commands = console_commands()
    sub = {shlex.split(c.text, comments=True)[1] for c in commands}
    assert {"validate", "run", "trajectory"} <= sub, sub
    assert any(b.lang == "python" for b in parse_markdown(GUIDE)[0])


def test_console_commands_run_as_documented(executed):
    failures = []
    for o in executed:
        expected_rc = int(o.command.block.options.get("exit") or 0)
        if o.returncode != expected_rc:
            failures.append(f"{o.command.id}\n  exit {o.returncode}, documented {expected_rc}\n"
                            f"  stdout: {o.stdout[-2000:]}\n  stderr: {o.stderr[-2000:]}")
            continue
        if "output" in o.command.block.options:
            seen = _squash(o.stdout + o.stderr)
            for line in o.command.expected_output:
                want = _squash(redirect(line, o.tmp))
                if want not in seen:
                    failures.append(f"{o.command.id}\n  documented output line not printed: {line!r}\n"
                                    f"  stdout: {o.stdout[-2000:]}\n  stderr: {o.stderr[-2000:]}")
    assert not failures, "\n".join(failures)


def _run_dir(executed: list[Outcome], scenario: str) -> Path:
    for o in executed:
        args = o.argv[len(shieldwall_argv()):]
        if args[:2] == ["run", scenario] and o.returncode == 0:
            return Path(args[args.index("--out") + 1])
    pytest.fail(f"the guide runs no `shieldwall run {scenario} --out …` command")


# ------------------------------------------------------------------------------------------------
# What the guide says about run outputs matches real outputs.


def flatten(value, prefix: str = "", ids: frozenset[str] = frozenset()) -> set[str]:
    """Key paths of JSON data: maps keyed by scenario ``ids`` (or whose values are all dicts) as
    ``key.<id>.sub``, other dicts as ``key.sub``, lists of dicts as ``key[].sub``."""
    out = set()
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            out.add(path)
            if isinstance(v, dict) and v and (set(v) <= ids or all(isinstance(x, dict) for x in v.values())):
                for sub in v.values():
                    out |= flatten(sub, f"{path}.<id>", ids)
            elif isinstance(v, dict):
                out |= flatten(v, path, ids)
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for sub in v:
                    out |= flatten(sub, f"{path}[]", ids)
    return out


def documented_keys(heading_part: str) -> set[str]:
    tables = [t for t in parse_markdown(GUIDE)[1] if heading_part in t.heading and t.header[0] == "key"]
    assert tables, f"no key table under a heading containing {heading_part!r} in {GUIDE.name}"
    return {ticks(row[0])[0] for t in tables for row in t.rows}


def test_guide_metric_keys_match_a_real_run(executed):
    run_dir = _run_dir(executed, "examples/small.yaml")
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    scenario = yaml.safe_load((run_dir / "scenario.yaml").read_text(encoding="utf-8"))
    ids = frozenset(x["id"] for key in ("nations", "assets", "sensors", "batteries") for x in scenario[key])
    actual = flatten(metrics, ids=ids)
    documented = documented_keys("metrics.json")
    assert not documented - actual, f"documented but not in metrics.json: {sorted(documented - actual)}"
    assert not actual - documented, f"in metrics.json but not documented: {sorted(actual - documented)}"


def test_guide_trajectory_keys_match_the_command(executed):
    outs = [o for o in executed if "trajectory" in o.argv and "--json" in o.argv and o.returncode == 0]
    assert outs, "the guide shows no `shieldwall trajectory … --json` command"
    actual = set(json.loads(outs[0].stdout))
    documented = documented_keys("shieldwall trajectory")
    assert documented == actual, (sorted(documented - actual), sorted(actual - documented))


def test_guide_documents_the_event_kinds_and_columns_of_a_real_run(executed):
    import pandas as pd

    events = pd.read_parquet(_run_dir(executed, "examples/small.yaml") / "events.parquet")
    tables = [t for t in parse_markdown(GUIDE)[1] if t.header[0] == "kind"]
    assert tables, "no event-kind table in the guide"
    documented = {k for t in tables for row in t.rows for k in ticks(row[0])}
    assert set(events["kind"]) <= documented, sorted(set(events["kind"]) - documented)
    for name in ("events.parquet", "tracks.parquet"):
        frame = pd.read_parquet(_run_dir(executed, "examples/small.yaml") / name)
        columns = {w for tok in ticks(_section(GUIDE, f"`{name}`")) for w in tok.split()}
        assert set(frame.columns) <= columns, f"{name}: undocumented columns {sorted(set(frame.columns) - columns)}"


def _section(doc: Path, heading_part: str) -> str:
    """The text of the first section whose heading contains ``heading_part``."""
    text = doc.read_text(encoding="utf-8")
    parts = re.split(r"^(#+ .*)$", text, flags=re.M)
    for k in range(1, len(parts), 2):
        if heading_part in parts[k]:
            return parts[k + 1]
    raise AssertionError(f"no section {heading_part!r} in {doc.name}")


def test_run_directory_holds_the_documented_files(executed):
    run_dir = _run_dir(executed, "examples/small.yaml")
    tables = [t for t in parse_markdown(GUIDE)[1] if t.header[0] == "file"]
    documented = {ticks(row[0])[0] for t in tables for row in t.rows}
    assert documented == {p.name for p in run_dir.iterdir()}


# ------------------------------------------------------------------------------------------------
# The guide's Python code.


def test_guide_python_blocks_run_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    namespace: dict = {"__name__": "__guide__"}
    blocks = [b for b in parse_markdown(GUIDE)[0] if b.lang == "python"]
    assert blocks
    for b in blocks:
        code = compile(redirect(b.text, tmp_path), f"{b.doc}:{b.line}", "exec")
        try:
            exec(code, namespace)  # noqa: S102 - the documentation's own examples
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"{b.doc.name}, python block at line {b.line} raised {type(exc).__name__}: {exc}")
    assert any(tmp_path.rglob("metrics.json")), "the guide's Python example should write a run directory"


# ------------------------------------------------------------------------------------------------
# Tables and files that mirror data.


def test_yaml_blocks_are_the_files_they_name():
    marked = [b for doc in DOC_FILES for b in parse_markdown(doc)[0] if "file" in b.options]
    assert marked
    for b in marked:
        path = ROOT / b.options["file"]
        assert path.read_text(encoding="utf-8") == b.text, f"{b.doc.name}:{b.line} differs from {path}"


def test_guide_walkthrough_batteries_match_the_small_example():
    data = yaml.safe_load((ROOT / "examples" / "small.yaml").read_text(encoding="utf-8"))
    batteries = {b["id"]: b for b in data["batteries"]}
    tables = [t for t in parse_markdown(GUIDE)[1] if t.header[0] == "battery"]
    assert tables
    for row in (r for t in tables for r in t.rows):
        cells = dict(zip(tables[0].header, row))
        ident = ticks(cells["battery"])[0]
        assert ident in batteries, f"{ident} is not a battery of examples/small.yaml"
        b = batteries[ident]
        assert ticks(cells["nation"]) == [b["nation"]], ident
        assert ticks(cells["class"]) == [b["class"]], ident
        assert ticks(cells["authority"]) == [b.get("authority", "delegated")], ident
        assert ticks(cells["defends"]) == (b.get("defends") or []), ident


def _same(cell: str, value) -> bool:
    text = cell.replace(",", "").strip()
    if text == "—":
        return True
    if ticks(text):
        return ticks(text)[0] == value
    if "–" in text:
        return list(map(float, text.split("–"))) == [float(v) for v in value]
    return math.isclose(float(text), float(value), rel_tol=1e-9)


def test_guide_catalog_tables_match_the_builtin_catalog():
    catalog = builtin_catalog()
    sections = {"missile class": catalog.missiles, "sensor class": catalog.sensors,
                "interceptor class": catalog.interceptors}
    tables = [t for t in parse_markdown(GUIDE)[1] if t.header[0] in sections]
    assert {t.header[0] for t in tables} == set(sections)
    for t in tables:
        entries = sections[t.header[0]]
        assert {ticks(r[0])[0] for r in t.rows} == set(entries), t.header[0]
        for row in t.rows:
            entry = entries[ticks(row[0])[0]]
            for key, cell in zip(t.header[1:], row[1:]):
                assert _same(cell, getattr(entry, key)), f"{t.header[0]} {row[0]}: {key} is {getattr(entry, key)}"


def test_local_links_in_docs_exist():
    for doc in DOC_FILES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text(encoding="utf-8")):
            assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


# ------------------------------------------------------------------------------------------------
# scenario-reference.md against the schema.

UNITS = (("_kgm2", "kg/m²"), ("_kms", "km/s"), ("_mrad", "mrad"), ("_ms", "ms"), ("_m2", "m²"), ("_km", "km"),
         ("_deg", "deg"), ("_db", "dB"), ("_s", "s"), ("_m", "m"))


def _submodel(annotation) -> tuple[type[BaseModel] | None, str]:
    """The model inside a field's annotation and the path step to reach it (``""``, ``[]``, ``.<name>``)."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is list:
        model, step = _submodel(typing.get_args(annotation)[0])
        return model, "[]" + step
    if origin is dict:
        model, step = _submodel(typing.get_args(annotation)[1])
        return model, ".<name>" + step
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, step = _submodel(arg)
            if model is not None:
                return model, step
    return None, ""


def _literals(annotation) -> tuple:
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    for arg in typing.get_args(annotation):
        if found := _literals(arg):
            return found
    return ()


def schema_fields(model: type[BaseModel] = Scenario, prefix: str = "") -> dict:
    out = {}
    for name, f in model.model_fields.items():
        path = f"{prefix}.{f.alias or name}" if prefix else (f.alias or name)
        out[path] = f
        sub, step = _submodel(f.annotation)
        if sub is not None:
            out |= schema_fields(sub, path + step)
    return out


def reference_rows() -> dict[str, tuple[dict[str, str], Table]]:
    rows = {}
    for t in parse_markdown(REFERENCE)[1]:
        if t.header[:2] != ["key", "type"]:
            continue
        prefix = (ticks(t.heading) or [""])[0]
        for row in t.rows:
            key = ticks(row[0])[0]
            path = f"{prefix}.{key}" if prefix else key
            assert path not in rows, f"{path} documented twice"
            rows[path] = (dict(zip(t.header, row)), t)
    return rows


def _default_text(cell: str):
    inner = ticks(cell)
    if not inner:
        return ...  # prose, not compared
    text = inner[0]
    if text == "none":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    if text == '""':
        return ""
    return yaml.safe_load(text)


def test_reference_documents_exactly_the_schema():
    schema = schema_fields()
    rows = reference_rows()
    assert not set(rows) - set(schema), f"documented but not in the schema: {sorted(set(rows) - set(schema))}"
    assert not set(schema) - set(rows), f"in the schema but not documented: {sorted(set(schema) - set(rows))}"


def test_reference_defaults_units_and_choices_match_the_schema():
    schema = schema_fields()
    for path, (cells, _) in reference_rows().items():
        f = schema.get(path)
        if f is None:
            continue  # reported by test_reference_documents_exactly_the_schema
        default = cells["default"]
        assert (default == "required") == f.is_required(), f"{path}: default column {default!r}"
        if not f.is_required():
            doc_value = _default_text(default)
            value = f.default
            if doc_value is not ... and isinstance(value, (int, float, str, bool, type(None), list, dict)):
                assert doc_value == value, f"{path}: documented default {default}, schema {value!r}"
        leaf = path.rsplit(".", 1)[-1]
        unit = next((u for suffix, u in UNITS if leaf.endswith(suffix)), None)
        if unit is not None:
            assert cells["unit"] == unit, f"{path}: unit {cells['unit']!r}, key says {unit!r}"
        for choice in _literals(f.annotation):
            assert f"`{choice}`" in cells["type"], f"{path}: choice {choice!r} not listed"
