"""National C2 node: tracks what the nation's sensors see, shares its tracks as the nation's
agreements allow, decides on alliance orders for its ``national_approval`` batteries, changes its
batteries' authority when its policy says so, and plans for its own ``national_only`` batteries on
its own tracks fused with the tracks partner nations share with it (only tracks that may come down
near the assets it defends: :mod:`shieldwall.assess.screen`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from shieldwall.assess.screen import near_assets
from shieldwall.c2.deconfliction import EngagementBook
from shieldwall.c2.node import Audit, Output, Record, Send, Timer
from shieldwall.c2.planner import CycleGate, PredictionMemo, PlanningContext, evaluate, plan_cycle
from shieldwall.comms.messages import (AuthorityChange, EngagementOrder, EngagementStatus, PlotReport,
                                       ThreatWarning, TrackReport)
from shieldwall.policy.release import share
from shieldwall.policy.rules import Delegation, PolicyBook
from shieldwall.tracking.fusion import FusionCentre
from shieldwall.tracking.tracker import Tracker, TrackerParams


@dataclass(frozen=True, slots=True)
class ApprovalModel:
    """A nation's engagement approval: decision time log-normal with ``mean_s``, ``sd_s`` [s]; a
    decision not made within ``deadline_s`` (None: none) is a denial; ``denial_rate`` of the
    decisions made in time are denials."""

    mean_s: float
    sd_s: float
    deadline_s: float | None = None
    denial_rate: float = 0.0


class NationalNode:
    """The C2 node of one nation. ``planner`` (None: the nation plans for no battery) covers its
    batteries that are or may become ``national_only``; ``partners`` are the other nations' nodes
    that plan for batteries of their own (sent this nation's tracks, as its agreements allow);
    ``authority`` is the command authority of each of the nation's batteries at the start."""

    def __init__(self, node_id: str, nation: str, alliance_id: str, *, planner: PlanningContext | None,
                 tracker_params: TrackerParams, report_period_s: float, approval: ApprovalModel,
                 policy: PolicyBook, rng: np.random.Generator, partners: tuple[str, ...] = (),
                 authority: dict[str, str] | None = None):
        self.id = node_id
        self.nation = nation
        self.alliance_id = alliance_id
        self.tracker = Tracker(tracker_params)
        self.report_period_s = report_period_s
        self.approval = approval
        self.policy = policy
        self.partners = partners
        self._rng = rng
        sd2 = (approval.sd_s / approval.mean_s) ** 2 if approval.mean_s > 0 else 0.0
        self._ln_sigma = math.sqrt(math.log1p(sd2))
        self._ln_mu = math.log(max(approval.mean_s, 1e-9)) - 0.5 * self._ln_sigma**2
        self._awaiting: dict[str, tuple[EngagementOrder, str]] = {}
        self._planner = planner
        self._book = EngagementBook(planner.doctrine.kill_assessment_delay_s) if planner is not None else None
        self._decision_period_s = planner.doctrine.decision_period_s if planner is not None else 0.0
        self._memo = PredictionMemo()
        self._gate = CycleGate()
        self._fusion = FusionCentre()
        self._sources: dict[int, set[str]] = {}  # own track → sensors that updated it
        self._sites: dict[str, np.ndarray] = {}  # sensor → site ECEF [m]
        self._partner_sensors: dict[tuple[str, int], list[str]] = {}  # (nation, track) → sensors
        self._partner_reports: dict[str, TrackReport] = {}  # nation → its latest report not yet fused
        self._evaluated: set[int] = set()  # tracks already recorded as threatening
        self._delegations = [d for d in policy.delegations if d.nation == nation]
        self._launch_seen = False
        self._authority = dict(authority or {})  # own battery -> its command authority now

    def start(self, t_s: float) -> list[Output]:
        out: list[Output] = [Timer(t_s + self.report_period_s, "report")]
        if self._planner is not None:
            out.append(Timer(t_s + self._decision_period_s, "decide"))
        out += [Timer(max(d.at_s, t_s), f"delegate:{k}") for k, d in enumerate(self._delegations) if d.at_s is not None]
        return out

    def approval_delay_s(self) -> float:
        """A draw of the national decision time [s] (log-normal with the scenario's mean and sd)."""
        if self._ln_sigma == 0.0:
            return math.exp(self._ln_mu)
        return float(self._rng.lognormal(self._ln_mu, self._ln_sigma))

    # ------------------------------------------------------------------------------------ messages

    def on_message(self, t_s: float, msg: object) -> list[Output]:
        if isinstance(msg, PlotReport):
            self.tracker.process(msg.t_s, msg.kind, msg.z, msg.R, msg.origin_ecef, msg.basis)
            if msg.sensor:
                self._sites[msg.sensor] = msg.origin_ecef
                for track in self.tracker.updated_ids(msg.t_s).tolist():
                    self._sources.setdefault(track, set()).add(msg.sensor)
            return []
        if isinstance(msg, EngagementOrder):
            return self._request(t_s, msg)
        if isinstance(msg, EngagementStatus):
            if self._planner is not None:
                self._planner.observe_launch(msg, own=msg.order_id.startswith(self.id + "-"))
                self._planner.refund(self._book.observe(msg))
            return []
        if isinstance(msg, TrackReport):
            if self._planner is not None:  # fused at the next decision (a newer report supersedes it)
                self._partner_reports[msg.nation] = msg
            return []
        if isinstance(msg, ThreatWarning):
            out: list[Output] = [Record("warning_received", {"track": msg.track, "detail": ",".join(msg.assets),
                                                             "lat_deg": msg.impact_lat_deg, "lon_deg": msg.impact_lon_deg})]
            return out + self._launch_detected(t_s)
        return []

    def _request(self, t_s: float, order: EngagementOrder) -> list[Output]:
        """An alliance order for one of our ``national_approval`` batteries: decide after the national
        decision time (or at the deadline, which is a denial)."""
        a = self.approval
        delay = self.approval_delay_s()
        rule = f"approval:{self.id}:decision"
        if a.deadline_s is not None and delay > a.deadline_s:
            delay, rule = a.deadline_s, f"approval:{self.id}:deadline"
        elif a.denial_rate > 0.0 and self._rng.uniform() < a.denial_rate:
            rule = f"approval:{self.id}:denial"
        self._awaiting[order.order_id] = (order, rule)
        return [Timer(t_s + delay, "approve:" + order.order_id),
                Record("approval_requested", {"battery": order.battery, "order": order.order_id,
                                              "track": order.track, "value": delay}),
                Audit("approval_requested", f"authority:{order.battery}",
                      {"order": order.order_id, "battery": order.battery, "decision_s": t_s + delay})]

    # -------------------------------------------------------------------------------------- timers

    def on_timer(self, t_s: float, key: str) -> list[Output]:
        if key == "report":
            return [Timer(t_s + self.report_period_s, "report"), *self._report(t_s)]
        if key == "decide":
            return [Timer(t_s + self._decision_period_s, "decide"), *self._decide(t_s)]
        if key.startswith("approve:"):
            return self._decided(t_s, key.removeprefix("approve:"))
        if key.startswith("delegate:"):
            return self._delegate(t_s, self._delegations[int(key.removeprefix("delegate:"))])
        return []

    def _report(self, t_s: float) -> list[Output]:
        """Share the confirmed tracks, with the sensors behind each, with the alliance and the partners."""
        table = self.tracker.confirmed()
        if not len(table.ids):
            return []
        sensors = tuple(sorted({s for i in table.ids.tolist() for s in self._sources.get(i, ())}))
        column = {s: k for k, s in enumerate(sensors)}
        fed = np.zeros((len(table.ids), len(sensors)), bool)
        for k, i in enumerate(table.ids.tolist()):
            fed[k, [column[s] for s in self._sources.get(i, ())]] = True
        report = TrackReport(self.nation, t_s, table.ids, table.x, table.P, table.t_update_s, sensors,
                             np.array([self._sites[s] for s in sensors]).reshape(-1, 3), fed)
        out: list[Output] = []
        for dest in (self.alliance_id, *self.partners):
            out += share(self.policy, self.nation, dest, report)
        return out + self._launch_detected(t_s)

    def _decided(self, t_s: float, order_id: str) -> list[Output]:
        order, rule = self._awaiting.pop(order_id)
        fields = {"battery": order.battery, "order": order_id, "track": order.track}
        audit = {"order": order_id, "battery": order.battery}
        verdict = "approved" if rule.endswith(":decision") else "denied"
        if verdict == "approved" and t_s > order.latest_launch_s:
            verdict = "expired"
        if verdict == "approved":
            return [Record("approved", fields), Audit("approved", rule, audit), Send(order.battery, order)]
        status = EngagementStatus(order_id, t_s, order.battery, self.nation, order.track, verdict,
                                  order.aim_ecef, order.intercept_s, 0)
        return [Record(verdict, fields), Audit(verdict, rule, audit), Send(order.issuer, status)]

    def _launch_detected(self, t_s: float) -> list[Output]:
        """The first sign of a launch (a warning, or a confirmed track of our own) triggers the
        authority changes waiting for it."""
        if self._launch_seen or not self._delegations:
            return []
        self._launch_seen = True
        out: list[Output] = []
        for d in self._delegations:
            if d.when == "first_launch_detected":
                out += self._delegate(t_s, d)
        return out

    def _delegate(self, t_s: float, d: Delegation) -> list[Output]:
        """Put batteries under a new authority (those not already under it): our own planner and the
        alliance follow."""
        changed = tuple(b for b in d.batteries if self._authority.get(b) != d.authority)
        if not changed:
            return []
        out: list[Output] = [Send(self.alliance_id, AuthorityChange(t_s, self.nation, changed, d.authority, d.rule))]
        for battery in changed:
            before, self._authority[battery] = self._authority.get(battery), d.authority
            if self._planner is not None:
                self._planner.set_authority(battery, d.authority)
            out.append(Record("authority_change", {"battery": battery, "detail": f"{before} -> {d.authority}"}))
            out.append(Audit("authority_change", d.rule, {"battery": battery, "from": before, "to": d.authority}))
        return out

    def _decide(self, t_s: float) -> list[Output]:
        assert self._planner is not None and self._book is not None
        if not self._planner.tasked.any():  # nothing of ours to plan for (all delegated, for now)
            self._partner_reports.clear()
            return []
        own = self.tracker.confirmed()
        self._fuse_relevant(own)
        ids, t_update_s = self._fusion.updates(t_s)
        out: list[Output] = list(self._book.assess(t_s, ids, t_update_s))
        if len(ids) and self._gate.needed(t_s, ids, self._book, self._planner):
            tracks = self._fusion.system_tracks(t_s)
            ev = evaluate(t_s, tracks.ids, tracks.x, tracks.P, tracks.t_s, self._planner.assets, self._memo)
            out += self._newly_threatening(ev)
            out += plan_cycle(self._planner, ev, self._book, self._memo, self._track_sources)
            self._gate.ran(t_s, ids, self._book, self._planner)
        return out

    def _newly_threatening(self, ev) -> list[Output]:
        """A record of each track first judged to endanger the assets this nation defends."""
        out: list[Output] = []
        assets = self._planner.assets
        for i in np.flatnonzero(ev.value_at_risk > 0):
            track = int(ev.track_ids[i])
            if track not in self._evaluated:
                self._evaluated.add(track)
                names = [assets.ids[a] for a in np.flatnonzero(ev.p_hit[i] >= 0.01)]
                out.append(Record("threat_evaluated", {"track": track, "value": float(ev.value_at_risk[i]),
                                                       "detail": ",".join(names), "pos_ecef": ev.x[i, :3]}))
        return out

    def _fuse_relevant(self, own) -> None:
        """Fuse the partners' latest reports and our own confirmed tracks (``own``), keeping only tracks
        that may come down near the assets we defend (the others cannot matter to our batteries:
        :func:`~shieldwall.assess.screen.near_assets`, one call for all of them)."""
        reports = [self._partner_reports[n] for n in sorted(self._partner_reports)]
        self._partner_reports.clear()
        parts = [(m.nation, m.ids, m.x, m.P, m.t_update_s) for m in reports]
        parts.append((self.nation, own.ids, own.x, own.P, own.t_update_s))
        keep = near_assets(np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]),
                           self._planner.assets.ecef)
        start = 0
        for k, (nation, ids, x, P, t_update) in enumerate(parts):
            mine = keep[start:start + len(ids)]
            start += len(ids)
            if mine.any():
                self._fusion.ingest(nation, ids[mine], x[mine], P[mine], t_update[mine])
            if k < len(reports):
                self._partner_sources(reports[k], mine)

    def _partner_sources(self, msg: TrackReport, keep: np.ndarray) -> None:
        for k in np.flatnonzero(keep).tolist():
            named = msg.track_sensors[k] if msg.track_sensors.shape[1] else []
            self._partner_sensors[(msg.nation, int(msg.ids[k]))] = [s for s, on in zip(msg.sensor_ids, named) if on]

    def _track_sources(self, track: int) -> list[dict]:
        """The national tracks and sensors behind one of our system tracks."""
        out = []
        for nation, local in self._fusion.sources(track):
            sensors = (sorted(self._sources.get(local, ())) if nation == self.nation
                       else self._partner_sensors.get((nation, local), []))
            out.append({"nation": nation, "track": local, "sensors": sensors})
        return out
