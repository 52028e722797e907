"""Loading a scenario file: YAML parsing, schema validation, the built-in catalog merge, and
one-line problem reports of the form ``FILE: path.to.field: what is wrong (expected ...)``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shieldwall.errors import Problem, ScenarioError
from shieldwall.scenario.references import check_references
from shieldwall.scenario.schema import Catalog, Scenario


def builtin_catalog() -> Catalog:
    """The generic missile, sensor and interceptor classes shipped in ``scenario/data``."""
    data = resources.files("shieldwall.scenario") / "data"
    parts: dict[str, Any] = {}
    for kind in ("missiles", "sensors", "interceptors"):
        parts[kind] = yaml.safe_load((data / f"{kind}.yaml").read_text(encoding="utf-8"))
    return Catalog.model_validate(parts)


def format_location(loc: tuple[Any, ...]) -> str:
    """Pydantic error location → ``threats[2].launch.lat_deg``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _describe(err: dict[str, Any]) -> str:
    msg: str = err["msg"]
    kind: str = err["type"]
    given = err.get("input")
    if kind == "missing":
        return "missing (expected a value)"
    if kind == "extra_forbidden":
        return "unknown field (expected one of the documented keys; units go in key names, e.g. latency_ms)"
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return f"got {given!r} (expected {msg.removeprefix('Input should be ')})"
    return f"{msg} (got {given!r})"


def _validation_problems(file: str, exc: ValidationError) -> list[Problem]:
    return [Problem(file, format_location(e["loc"]), _describe(e)) for e in exc.errors()]


def parse_scenario(data: Any, file: str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML data; merge the built-in catalog; check cross-references.

    Raises :class:`ScenarioError` listing every problem.
    """
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "(top level)", f"got {type(data).__name__} (expected a mapping of scenario sections)")])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_validation_problems(file, exc)) from None
    builtin = builtin_catalog()
    merged = Catalog(
        missiles={**builtin.missiles, **scenario.catalog.missiles},
        sensors={**builtin.sensors, **scenario.catalog.sensors},
        interceptors={**builtin.interceptors, **scenario.catalog.interceptors},
    )
    scenario = scenario.model_copy(update={"catalog": merged})
    problems = [p for p in check_references(scenario, file) if p.severity == "error"]
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read, validate and resolve a scenario YAML file.

    Raises :class:`ScenarioError` whose ``problems`` each name the file, the path inside it and what
    was expected; never another exception for bad input.
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(file, "(file)", "not found (expected a readable YAML scenario file)")]) from None
    except (OSError, ValueError) as exc:  # ValueError: UnicodeDecodeError, or a NUL in the path
        raise ScenarioError([Problem(file, "(file)", f"cannot be read: {exc} (expected a UTF-8 YAML file)")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([Problem(file, where, f"YAML syntax error: {what} (expected valid YAML)")]) from None
    except Exception as exc:  # noqa: BLE001
        # PyYAML's constructors raise plain built-in exceptions for ill-formed values (``2020-13-45``,
        # ``!!int abc``, an empty ``!!float``, ``!!timestamp x``) and recurse on very deep nesting.
        raise ScenarioError([Problem(file, "(file)", f"YAML value cannot be built ({type(exc).__name__}: {exc}) "
                                     "(expected valid YAML values, e.g. dates as YYYY-MM-DD, and moderate nesting)")]) from None
    if isinstance(data, dict) and data.get("policy_files"):
        data = _with_policy_files(data, Path(path).parent, file)
    return parse_scenario(data, file)


def _with_policy_files(data: dict, base: Path, file: str) -> dict:
    """The scenario data with the policies of its ``policy_files`` (paths relative to ``base``) added to
    its ``policies`` and the file list cleared. A file holds one policy mapping or a list of them."""
    files = data["policy_files"]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ScenarioError([Problem(file, "policy_files", f"got {files!r} (expected a list of file paths)")])
    policies = list(data.get("policies") or [])
    for k, name in enumerate(files):
        where = f"policy_files[{k}]"
        try:
            loaded = yaml.safe_load((base / name).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ScenarioError([Problem(file, where, f"{name!r} not found (expected a policy YAML file relative "
                                         "to the scenario)")]) from None
        except (OSError, ValueError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ScenarioError([Problem(file, where, f"{name!r} cannot be read: {first} (expected a YAML "
                                         "policy file)")]) from None
        entries = loaded if isinstance(loaded, list) else [loaded]
        if not all(isinstance(e, dict) for e in entries):
            raise ScenarioError([Problem(file, where, f"{name!r} holds {type(loaded).__name__} (expected a policy "
                                         "mapping or a list of them)")])
        policies += entries
    return {**data, "policies": policies, "policy_files": []}
