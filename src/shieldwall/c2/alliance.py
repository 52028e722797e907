"""Alliance BMD operations node: fuses national track reports into system tracks, evaluates threats,
warns the nations (as the agreements of the nations whose tracks a warning rests on allow), and tasks
the batteries placed under alliance control (``delegated`` directly, ``national_approval`` through
their nation), following each nation's changes of authority."""

from __future__ import annotations

import numpy as np

from shieldwall.assess.launch import estimate_launch_point
from shieldwall.c2.deconfliction import EngagementBook
from shieldwall.c2.node import Output, Record, Send, Timer
from shieldwall.c2.planner import CycleGate, Evaluation, PredictionMemo, PlanningContext, evaluate, plan_cycle
from shieldwall.comms.messages import AuthorityChange, EngagementStatus, ThreatWarning, TrackReport
from shieldwall.policy.release import share
from shieldwall.policy.rules import PolicyBook
from shieldwall.tracking.fusion import FusionCentre


class AllianceNode:
    """The alliance node; ``national_nodes`` maps nation id → its C2 node id."""

    def __init__(self, node_id: str, planner: PlanningContext, fusion: FusionCentre,
                 national_nodes: dict[str, str], decision_period_s: float, policy: PolicyBook | None = None):
        self.id = node_id
        self.planner = planner
        self.fusion = fusion
        self.national_nodes = national_nodes
        self.decision_period_s = decision_period_s
        self.book = EngagementBook(planner.doctrine.kill_assessment_delay_s)
        self._warned: set[int] = set()
        self._memo = PredictionMemo()
        self._gate = CycleGate()
        self.policy = policy if policy is not None else PolicyBook((), {})
        self._sensors: dict[tuple[str, int], list[str]] = {}  # (nation, national track) -> its sensors
        self._contributors: dict[int, tuple[str, ...]] = {}  # system track -> nations behind it

    def start(self, t_s: float) -> list[Output]:
        return [Timer(t_s + self.decision_period_s, "decide")]

    def on_message(self, t_s: float, msg: object) -> list[Output]:
        if isinstance(msg, TrackReport):
            self.fusion.ingest(msg.nation, msg.ids, msg.x, msg.P, msg.t_update_s)
            for k, track in enumerate(msg.ids.tolist()):
                named = msg.track_sensors[k] if msg.track_sensors.shape[1] else []
                self._sensors[(msg.nation, track)] = [s for s, on in zip(msg.sensor_ids, named) if on]
        elif isinstance(msg, EngagementStatus):
            self.planner.observe_launch(msg, own=msg.order_id.startswith(self.id + "-"))
            self.planner.refund(self.book.observe(msg))
            if msg.status == "launched":  # share with the other nations for de-confliction
                out: list[Output] = []
                for nation, node in self.national_nodes.items():
                    if nation != msg.nation:
                        out += share(self.policy, msg.nation, node, msg)
                return out
        elif isinstance(msg, AuthorityChange):
            for battery in msg.batteries:
                self.planner.set_authority(battery, msg.authority)
        return []

    def on_timer(self, t_s: float, key: str) -> list[Output]:
        out: list[Output] = [Timer(t_s + self.decision_period_s, "decide")]
        ids, t_update_s = self.fusion.updates(t_s)
        out += self.book.assess(t_s, ids, t_update_s)
        if not len(ids) or not self._gate.needed(t_s, ids, self.book, self.planner):
            return out
        tracks = self.fusion.system_tracks(t_s)
        ev = evaluate(t_s, tracks.ids, tracks.x, tracks.P, tracks.t_s, self.planner.assets, self._memo)
        out.append(Record("picture", {"ids": ev.track_ids, "x": ev.x, "P_pos_m": np.sqrt(
            np.trace(tracks.P[:, :3, :3], axis1=1, axis2=2))}))
        self._contributors = {int(i): tracks.nations_of(k) for k, i in enumerate(tracks.ids.tolist())}
        out += self._warn(ev)
        out += plan_cycle(self.planner, ev, self.book, self._memo, self._track_sources)
        self._gate.ran(t_s, ids, self.book, self.planner)
        return out

    def _warn(self, ev: Evaluation) -> list[Output]:
        """Early warning of each newly threatening track to every nation (once per track): its impact
        point and time, the assets it endangers and its estimated launch point."""
        new = [i for i in np.flatnonzero(ev.value_at_risk > 0) if int(ev.track_ids[i]) not in self._warned]
        if not new:
            return []
        launch = estimate_launch_point(ev.x[new], ev.P[new], ev.t_s)
        launch_lat, launch_lon = np.degrees(launch.launch_lat_rad), np.degrees(launch.launch_lon_rad)
        sigma = launch.sigma_major_m
        out: list[Output] = []
        assets = self.planner.assets
        imp = ev.impact
        for k, i in enumerate(new):
            track = int(ev.track_ids[i])
            self._warned.add(track)
            names = tuple(assets.ids[a] for a in np.flatnonzero(ev.p_hit[i] >= 0.01))
            estimate = ((float(launch_lat[k]), float(launch_lon[k]), float(sigma[k])) if np.isfinite(sigma[k])
                        else (None, None, None))
            warning = ThreatWarning(ev.t_s, track, float(np.degrees(imp.impact_lat_rad[i])),
                                    float(np.degrees(imp.impact_lon_rad[i])), float(imp.t_impact_s[i]), names,
                                    *estimate)
            out.append(Record("threat_evaluated", {"track": track, "value": float(ev.value_at_risk[i]),
                                                   "detail": ",".join(names),
                                                   "lat_deg": warning.impact_lat_deg, "lon_deg": warning.impact_lon_deg,
                                                   "pos_ecef": ev.x[i, :3]}))
            for node in self.national_nodes.values():
                out += share(self.policy, "", node, warning, self._contributors.get(track) or ("",))
        return out

    def _track_sources(self, track: int) -> list[dict]:
        """The national tracks and sensors behind system track ``track``."""
        return [{"nation": nation, "track": local, "sensors": self._sensors.get((nation, local), [])}
                for nation, local in self.fusion.sources(track)]
