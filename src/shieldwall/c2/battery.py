"""Battery node: accepts engagement orders, fires at the planned time while the window is open,
and reports engagement status for de-confliction."""

from __future__ import annotations

from shieldwall.c2.node import WORLD, Audit, Output, Record, Send, Timer
from shieldwall.c2.specs import BatterySpec
from shieldwall.comms.messages import EngagementOrder, EngagementStatus, LaunchCommand
from shieldwall.policy.release import share
from shieldwall.policy.rules import PolicyBook


class BatteryNode:
    """One fire unit; ``status_to`` lists the nodes told of every launch or refusal (another nation's
    node only as the nation's ``battery_status`` agreement allows)."""

    def __init__(self, spec: BatterySpec, status_to: tuple[str, ...], policy: PolicyBook | None = None):
        self.id = spec.id
        self.spec = spec
        self.inventory = spec.inventory
        self.status_to = status_to
        self.policy = policy if policy is not None else PolicyBook((), {})
        self._pending: dict[str, EngagementOrder] = {}
        self._busy_until: list[float] = []  # intercept times of engagements in progress

    def start(self, t_s: float) -> list[Output]:
        return []

    def _status(self, t_s: float, order: EngagementOrder, status: str, shots: int) -> list[Output]:
        msg = EngagementStatus(order.order_id, t_s, self.id, self.spec.nation, order.track, status,
                               order.aim_ecef, order.intercept_s, shots)
        out: list[Output] = []
        for dest in self.status_to:
            out += share(self.policy, self.spec.nation, dest, msg)
        out.append(Record(status if status != "launched" else "battery_launch_decision",
                          {"battery": self.id, "order": order.order_id, "track": order.track, "value": shots}))
        fields = {"order": order.order_id, "battery": self.id}
        if status == "launched":
            out.append(Audit("launch", f"authority:{self.id}", {**fields, "shots": shots}))
        else:
            out.append(Audit("refused", f"authority:{self.id}", {**fields, "reason": status}))
        return out

    def on_message(self, t_s: float, msg: object) -> list[Output]:
        if not isinstance(msg, EngagementOrder) or msg.battery != self.id:
            return []
        self._pending[msg.order_id] = msg
        return [Timer(max(t_s, msg.launch_s), msg.order_id)]

    def on_timer(self, t_s: float, key: str) -> list[Output]:
        order = self._pending.pop(key, None)
        if order is None:
            return []
        if t_s > order.latest_launch_s:
            return self._status(t_s, order, "expired", 0)
        self._busy_until = [x for x in self._busy_until if x > t_s]
        shots = min(order.shots, self.inventory)
        if shots == 0 or len(self._busy_until) >= self.spec.fire_channels:
            return self._status(t_s, order, "no_inventory" if shots == 0 else "no_channel", 0)
        self.inventory -= shots
        self._busy_until.append(order.intercept_s)
        launch = LaunchCommand(self.id, order.order_id, t_s, order.aim_ecef, order.intercept_s, shots)
        return [Send(WORLD, launch), *self._status(t_s, order, "launched", shots)]
