"""Sensor node: forwards each scan's plot report to the C2 node it reports to (through the release
gate when that node belongs to another nation)."""

from __future__ import annotations

from shieldwall.c2.node import Output
from shieldwall.comms.messages import PlotReport
from shieldwall.policy.release import share
from shieldwall.policy.rules import PolicyBook


class SensorNode:
    def __init__(self, node_id: str, nation: str, reports_to: str, policy: PolicyBook | None = None):
        self.id = node_id
        self.nation = nation
        self.reports_to = reports_to
        self.policy = policy if policy is not None else PolicyBook((), {node_id: nation, reports_to: nation})

    def start(self, t_s: float) -> list[Output]:
        return []

    def on_message(self, t_s: float, msg: object) -> list[Output]:
        """A :class:`PlotReport` from the sensor's own signal processor goes up to its C2 node."""
        if isinstance(msg, PlotReport) and len(msg.z):
            return share(self.policy, self.nation, self.reports_to, msg)
        return []

    def on_timer(self, t_s: float, key: str) -> list[Output]:
        return []
