"""National C2 node: tracks what the nation's sensors see, reports tracks to the alliance, approves
(or lets expire) alliance orders for its ``national_approval`` batteries, and runs its own
engagement planning for its ``national_only`` batteries."""

from __future__ import annotations

import math

import numpy as np

from shieldwall.c2.deconfliction import EngagementBook
from shieldwall.c2.node import Output, Record, Send, Timer
from shieldwall.c2.planner import CycleGate, PredictionMemo, PlanningContext, evaluate, plan_cycle
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.messages import (EngagementOrder, EngagementStatus, PlotReport, ThreatWarning,
                                       TrackReport)
from shieldwall.tracking.tracker import Tracker, TrackerParams


class NationalNode:
    """The C2 node of one nation."""

    def __init__(self, node_id: str, nation: str, alliance_id: str, *, batteries: list[BatterySpec],
                 assets: AssetTable, doctrine: DoctrineSpec, tracker_params: TrackerParams,
                 report_period_s: float, approval_mean_s: float, approval_sd_s: float,
                 rng: np.random.Generator):
        self.id = node_id
        self.nation = nation
        self.alliance_id = alliance_id
        self.tracker = Tracker(tracker_params)
        self.report_period_s = report_period_s
        self._rng = rng
        sd2 = (approval_sd_s / approval_mean_s) ** 2 if approval_mean_s > 0 else 0.0
        self._ln_sigma = math.sqrt(math.log1p(sd2))
        self._ln_mu = math.log(max(approval_mean_s, 1e-9)) - 0.5 * self._ln_sigma**2
        self._awaiting: dict[str, EngagementOrder] = {}
        own = [b for b in batteries if b.authority == "national_only"]
        # The nation plans for its own batteries and values only the assets they may defend.
        defended = None if any(b.defends is None for b in own) else {n for b in own for n in b.defends}
        self._planner = (PlanningContext(self.id, own, assets.of_nations(defended), doctrine,
                                         extra_delay_s=np.zeros(len(own))) if own else None)
        self._book = EngagementBook(doctrine.kill_assessment_delay_s)
        self._decision_period_s = doctrine.decision_period_s
        self._memo = PredictionMemo()
        self._gate = CycleGate()

    def start(self, t_s: float) -> list[Output]:
        out: list[Output] = [Timer(t_s + self.report_period_s, "report")]
        if self._planner is not None:
            out.append(Timer(t_s + self._decision_period_s, "decide"))
        return out

    def approval_delay_s(self) -> float:
        """A draw of the national decision time [s] (log-normal with the scenario's mean and sd)."""
        if self._ln_sigma == 0.0:
            return math.exp(self._ln_mu)
        return float(self._rng.lognormal(self._ln_mu, self._ln_sigma))

    def on_message(self, t_s: float, msg: object) -> list[Output]:
        if isinstance(msg, PlotReport):
            self.tracker.process(msg.t_s, msg.kind, msg.z, msg.R, msg.origin_ecef, msg.basis)
            return []
        if isinstance(msg, EngagementOrder):
            self._awaiting[msg.order_id] = msg
            delay = self.approval_delay_s()
            return [Timer(t_s + delay, "approve:" + msg.order_id),
                    Record("approval_requested", {"battery": msg.battery, "order": msg.order_id,
                                                  "track": msg.track, "value": delay})]
        if isinstance(msg, EngagementStatus):
            cancelled = self._book.observe(msg)
            if self._planner is not None:
                self._planner.refund(cancelled)
            return []
        if isinstance(msg, ThreatWarning):
            return [Record("warning_received", {"track": msg.track, "detail": ",".join(msg.assets),
                                                "lat_deg": msg.impact_lat_deg, "lon_deg": msg.impact_lon_deg})]
        return []

    def on_timer(self, t_s: float, key: str) -> list[Output]:
        if key == "report":
            out: list[Output] = [Timer(t_s + self.report_period_s, "report")]
            table = self.tracker.confirmed()
            if len(table.ids):
                out.append(Send(self.alliance_id, TrackReport(self.nation, t_s, table.ids, table.x, table.P,
                                                              table.t_update_s)))
            return out
        if key == "decide":
            return [Timer(t_s + self._decision_period_s, "decide"), *self._decide(t_s)]
        if key.startswith("approve:"):
            return self._approve(t_s, key.removeprefix("approve:"))
        return []

    def _approve(self, t_s: float, order_id: str) -> list[Output]:
        order = self._awaiting.pop(order_id)
        fields = {"battery": order.battery, "order": order_id, "track": order.track}
        if t_s > order.latest_launch_s:
            status = EngagementStatus(order_id, t_s, order.battery, self.nation, order.track, "expired",
                                      order.aim_ecef, order.intercept_s, 0)
            return [Record("expired", fields), Send(order.issuer, status)]
        return [Record("approved", fields), Send(order.battery, order)]

    def _decide(self, t_s: float) -> list[Output]:
        assert self._planner is not None
        tracks = self.tracker.confirmed()
        out: list[Output] = list(self._book.assess(t_s, tracks.ids, tracks.t_update_s))
        if len(tracks.ids) and self._gate.needed(t_s, tracks.ids, self._book, self._planner):
            ev = evaluate(t_s, tracks.ids, tracks.x, tracks.P, tracks.t_s, self._planner.assets, self._memo)
            out += plan_cycle(self._planner, ev, self._book, self._memo)
            self._gate.ran(t_s, tracks.ids, self._book, self._planner)
        return out
