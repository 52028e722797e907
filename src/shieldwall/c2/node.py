"""What a node may return: messages to send, timers to set, and records for the run log.

Nodes are pure: they consume ``(time, message)`` or ``(time, timer key)`` and return a list of these
outputs (and :class:`Audit` entries for decisions a policy rule touched). They never read truth, the wall clock or a socket; a shell (the simulation engine or the
exercise runtime) carries the outputs out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Send:
    """Deliver ``msg`` to node ``dest`` over the network (``dest == WORLD`` acts on truth)."""

    dest: str
    msg: Any


@dataclass(frozen=True, slots=True)
class Timer:
    """Call the node's ``on_timer(t_s, key)`` at ``t_s``."""

    t_s: float
    key: str


@dataclass(frozen=True, slots=True)
class Record:
    """An entry for the run's event log (``kind`` plus named fields)."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Audit:
    """An entry for the run's tamper-evident audit log: a decision that the policy rule ``rule`` touched
    (:mod:`shieldwall.policy.audit`), with its named, JSON-safe fields."""

    kind: str
    rule: str
    fields: dict[str, Any] = field(default_factory=dict)


#: Destination name of effector commands (interceptor launches) that act on the world.
WORLD = "world"

Output = Send | Timer | Record | Audit
