"""The Shieldwall exception tree: every error a user can cause says where, what, and what is expected."""

from __future__ import annotations

from dataclasses import dataclass


class ShieldwallError(Exception):
    """Base of every error Shieldwall raises on purpose; the CLI prints it on one line, no traceback."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about an input file: ``FILE: path: message``."""

    file: str
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}: {self.path}: {tag}{self.message}"


class ScenarioError(ShieldwallError):
    """A scenario file that cannot be run; ``problems`` lists every finding, one line each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PlanningError(ShieldwallError):
    """A physically impossible request (e.g. a range beyond a missile class's reach)."""
