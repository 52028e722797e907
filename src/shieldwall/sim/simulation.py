"""The simulation shell: virtual time, the world, sensors, modelled links and the pure C2 nodes.

It owns everything a node may not see (truth, the RNG streams, the network) and carries out what
nodes return: messages through the network, timers, interceptor launches into the world, and
records into the event log (annotated with truth for the after-action metrics only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from shieldwall import __version__
from shieldwall.c2.alliance import AllianceNode
from shieldwall.c2.battery import BatteryNode
from shieldwall.c2.national import ApprovalModel, NationalNode
from shieldwall.c2.node import WORLD, Audit, Record, Send, Timer
from shieldwall.c2.planner import PlanningContext
from shieldwall.c2.sensor import SensorNode
from shieldwall.comms.messages import LaunchCommand, PlotReport
from shieldwall.comms.network import Network
from shieldwall.policy.audit import AuditChain
from shieldwall.policy.caveats import Caveats
from shieldwall.policy.rules import PolicyBook, policy_book
from shieldwall.policy.territory import TerritoryMap
from shieldwall.scenario.schema import Scenario
from shieldwall.sensors.infrared import ir_scan
from shieldwall.sensors.radar import radar_scan
from shieldwall.sim.build import (alliance_node_id, asset_table, battery_specs, doctrine_spec, link_models,
                                  plan_threats, scenario_digest, sensor_models)
from shieldwall.sim.engine import Engine
from shieldwall.sim.recorder import PICTURE_CUTOFF_M, Recorder
from shieldwall.tracking.fusion import FusionCentre
from shieldwall.tracking.metrics import gospa, ospa
from shieldwall.tracking.tracker import TrackerParams
from shieldwall.world.truth import Interceptor, Truth

#: A track or order is attributed to the nearest true threat within this distance [m] (metrics only).
TRUTH_GATE_M = 50_000.0
#: Margin [s] added to the mean national approval time when the alliance plans an approval battery's shot.
APPROVAL_SIGMAS = 2.0
#: A national track scores a miss for each (longest revisit of the nation's sensors + this [s]) unseen.
MISS_WINDOW_MARGIN_S = 0.5


class Simulation:
    """One seeded run of a scenario. Build, then :meth:`run`; read ``recorder`` and counters after."""

    def __init__(self, scenario: Scenario, seed: int, source: str = "<scenario>"):
        s = scenario
        self.scenario = s
        self.seed = seed
        self.engine = Engine()
        self.recorder = Recorder()
        streams = np.random.SeedSequence(seed).spawn(3 + len(s.sensors) + len(s.c2_nodes))
        rngs = [np.random.default_rng(x) for x in streams]
        self._rng_net, rng_world, rng_phase = rngs[:3]
        self._rng_sensor = rngs[3:3 + len(s.sensors)]
        rng_c2 = rngs[3 + len(s.sensors):]

        self.threats, ephemeris = plan_threats(s, source)
        t = self.threats
        self.truth = Truth(ephemeris, t.rcs_m2, rng_world)
        self.assets = asset_table(s)
        self.asset_lost = np.zeros(len(self.assets.ids), bool)
        self.network = Network(link_models(s))
        self.messages_sent = 0
        self.messages_lost = 0
        self._last_delivery: dict[tuple[str, str], float] = {}
        self.first_detection_s = np.full(len(t.ids), np.nan)

        doctrine = doctrine_spec(s)
        batteries = battery_specs(s)
        self.battery_specs = {b.id: b for b in batteries}
        alliance_id = alliance_node_id(s)
        self.alliance_id = alliance_id
        self.policy = policy = policy_book(s, alliance_id)
        self.audit = AuditChain({"scenario": s.name, "scenario_sha256": scenario_digest(s), "seed": int(seed),
                                 "shieldwall": __version__})
        caveats = _caveat_builder(s, policy)
        national_c2 = [c for c in s.c2_nodes if c.kind == "national"]
        national_of = {c.nation: c.id for c in national_c2}
        approval = {c.id: c for c in national_c2}
        margin = {b.id: self._approval_margin_s(alliance_id, b, approval) for b in batteries}
        # Nations that plan for batteries of their own: those with national_only batteries, now or later.
        planning = {c.id for c in national_c2 if any(
            b.reports_to == c.id and b.authority == "national_only" for b in batteries) or any(
            d.nation == c.nation and d.authority == "national_only" for d in policy.delegations)}
        models = sensor_models(s)
        self.nodes: dict[str, Any] = {}
        self._nation_of: dict[str, str] = {}
        for c, rng in zip(s.c2_nodes, rng_c2):
            if c.kind != "national":
                continue
            own = [b for b in batteries if b.reports_to == c.id]
            revisit = [m.revisit_s for x, m in zip(s.sensors, models) if x.reports_to == c.id]
            params = TrackerParams(miss_window_s=max(revisit, default=1.0) + MISS_WINDOW_MARGIN_S,
                                   motion=s.settings.tracker_motion, initiation=s.settings.track_initiation)
            peers = tuple(sorted(planning - {c.id})) + (alliance_id,)
            planner = None
            if c.id in planning:
                # The nation values only the assets that the batteries it plans for (national_only, now
                # or after an authority change) may defend.
                later = {x for d in policy.delegations if d.nation == c.nation and d.authority == "national_only"
                         for x in d.batteries}
                mine = [b for b in own if b.authority == "national_only" or b.id in later]
                defended = None if any(b.defends is None for b in mine) else {n for b in mine for n in b.defends}
                planner = PlanningContext(c.id, own, self.assets.of_nations(defended), doctrine, np.zeros(len(own)),
                                          role="national", policy=policy, peers=peers,
                                          caveats=caveats(own, self.assets.of_nations(defended)))
            self.nodes[c.id] = NationalNode(
                c.id, c.nation, alliance_id, planner=planner, tracker_params=params,
                report_period_s=s.settings.track_report_period_s,
                approval=ApprovalModel(c.approval_time_mean_s, c.approval_time_sd_s, c.approval_deadline_s,
                                       c.approval_denial_rate),
                policy=policy, rng=rng, partners=tuple(sorted(planning - {c.id})),
                authority={b.id: b.authority for b in own})
            self._nation_of[c.id] = c.nation or ""
        extra = np.array([margin[b.id] for b in batteries])
        planner = PlanningContext(alliance_id, batteries, self.assets, doctrine, extra, role="alliance", policy=policy,
                                  peers=tuple(sorted(planning)), caveats=caveats(batteries, self.assets))
        self.nodes[alliance_id] = AllianceNode(alliance_id, planner, FusionCentre(), national_of,
                                               s.settings.decision_period_s, policy)
        self._nation_of[alliance_id] = ""
        for b in batteries:
            status_to = tuple(dict.fromkeys((b.reports_to, alliance_id)))
            self.nodes[b.id] = BatteryNode(b, status_to, policy)
            self._nation_of[b.id] = b.nation
        self.sensor_models = models
        self.sensor_nodes = []
        for x in s.sensors:
            node = SensorNode(x.id, x.nation, x.reports_to, policy)
            self.nodes[x.id] = node
            self.sensor_nodes.append(node)
            self._nation_of[x.id] = x.nation
        self._phase_s = rng_phase.uniform(0.0, 1.0, len(self.sensor_models)) * [m.revisit_s for m in self.sensor_models]
        self._in_reach = [_seconds_in_reach(self.truth.ephemeris, m, s.settings.duration_s)
                          if m.kind == "radar" else None for m in self.sensor_models]
        self._nowhere = np.zeros((len(t.ids), 3))

    def _approval_margin_s(self, alliance_id: str, b, approval) -> float:
        """Time [s] the alliance budgets for a battery's order to come back approved while the battery
        is under ``national_approval`` (0 for a battery with no national node to approve)."""
        c = approval.get(b.reports_to)
        if c is None:
            return 0.0
        links = (self.network.route(alliance_id, b.reports_to) or ()) + (self.network.route(b.reports_to, b.id) or ())
        return c.approval_time_mean_s + APPROVAL_SIGMAS * c.approval_time_sd_s + sum(k.latency_s for k in links)

    # ---------------------------------------------------------------------------------------- running

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Run to the scenario's duration; ``progress(t_s)`` is called as virtual time advances."""
        e = self.engine
        t = self.threats
        eph = self.truth.ephemeris
        for i in range(len(t.ids)):
            e.at(float(eph.launch_time_s[i]), self._threat_launch, i)
            e.at(float(eph.impact_time_s[i]), self._threat_impact, i)
        for k in range(len(self.sensor_models)):
            e.at(float(self._phase_s[k]), self._scan, k)
        for node in self.nodes.values():
            self._apply(node, node.start(0.0))
        e.run(self.scenario.settings.duration_s, progress)
        self.audit.seal(self.scenario.settings.duration_s)

    def _apply(self, node: Any, outputs: list) -> None:
        now = self.engine.now
        for o in outputs:
            if isinstance(o, Send):
                if o.dest == WORLD:
                    self._launch(o.msg)
                else:
                    self._send(node.id, o.dest, o.msg)
            elif isinstance(o, Timer):
                self.engine.at(o.t_s, self._timer, node, o.key)
            elif isinstance(o, Record):
                self._record(now, node, o)
            elif isinstance(o, Audit):
                self._audit(now, node, o)

    def _send(self, src: str, dst: str, msg: object) -> None:
        self.messages_sent += 1
        delay = self.network.transit(src, dst, self._rng_net)
        if delay is None:
            self.messages_lost += 1
            self.recorder.event(self.engine.now, "message_lost", node=src, detail=f"{type(msg).__name__} to {dst}")
            return
        key = (src, dst)
        t_s = max(self.engine.now + delay, self._last_delivery.get(key, 0.0))  # links deliver in order
        self._last_delivery[key] = t_s
        self.engine.at(t_s, self._deliver, dst, msg)

    def _deliver(self, dst: str, msg: object) -> None:
        node = self.nodes[dst]
        self._apply(node, node.on_message(self.engine.now, msg))

    def _timer(self, node: Any, key: str) -> None:
        self._apply(node, node.on_timer(self.engine.now, key))

    def _scan(self, k: int) -> None:
        now = self.engine.now
        model = self.sensor_models[k]
        reach = self._in_reach[k]
        if reach is not None and not reach[min(int(now), len(reach) - 1)]:
            # No threat within range this second: the same scan (and random draws) as with the truth.
            scan = radar_scan(model, now, self._nowhere, self.truth.rcs_m2, False, self._rng_sensor[k])
        else:
            r, _, in_flight, boosting = self.truth.threats(now)
            if model.kind == "ir":
                scan = ir_scan(model, now, r, boosting, self._rng_sensor[k])
            else:
                scan = radar_scan(model, now, r, self.truth.rcs_m2, in_flight, self._rng_sensor[k])
        if len(scan):
            seen = scan.truth_index[scan.truth_index >= 0]
            for i in seen[np.isnan(self.first_detection_s[seen])]:
                self.first_detection_s[i] = now
                self.recorder.event_at(now, "first_detection", r[i], threat=self.threats.ids[i], node=model.name,
                                       nation=self._nation_of[model.name])
        node = self.sensor_nodes[k]
        plots = PlotReport(node.id, node.nation, now, scan.kind, scan.z, scan.R, scan.origin_ecef, scan.basis)
        self._apply(node, node.on_message(now, plots))  # truth labels stay in the shell
        self.engine.at(now + model.revisit_s, self._scan, k)

    # ------------------------------------------------------------------------------------------ truth

    def _threat_launch(self, i: int) -> None:
        eph = self.truth.ephemeris
        self.recorder.event_at(self.engine.now, "threat_launch", eph.launch_ecef[i], threat=self.threats.ids[i],
                               detail=self.threats.classes[i])

    def _threat_impact(self, i: int) -> None:
        if not self.truth.alive[i]:
            return
        self.truth.alive[i] = False
        point = self.truth.ephemeris.impact_ecef[i]
        d = np.linalg.norm(self.assets.ecef - point, axis=-1)
        hit = np.flatnonzero(d <= self.assets.radius_m)
        value = float(self.assets.value[hit][~self.asset_lost[hit]].sum())
        self.asset_lost[hit] = True
        self.recorder.event_at(self.engine.now, "impact", point, threat=self.threats.ids[i], leaker=bool(len(hit)),
                               value=value, detail=",".join(self.assets.ids[a] for a in hit),
                               nation=",".join(sorted({self.assets.nations[a] for a in hit})))

    def _launch(self, cmd: LaunchCommand) -> None:
        spec = self.battery_specs[cmd.battery]
        target, _ = self.truth.nearest_threat(cmd.intercept_s, cmd.aim_ecef, TRUTH_GATE_M)
        salvo = []
        for k in range(cmd.shots):
            icpt = Interceptor(f"{cmd.order_id}/{k + 1}", spec.id, spec.nation, cmd.t_s, spec.ecef, cmd.aim_ecef,
                               cmd.intercept_s, spec.pk, spec.divert_m, spec.burnout_speed_ms, spec.burn_time_s, target)
            salvo.append(icpt)
            self.recorder.event_at(cmd.t_s, "interceptor_launch", spec.ecef, battery=spec.id, nation=spec.nation,
                                   interceptor=icpt.id, threat=self._threat_name(target), value=cmd.intercept_s,
                                   detail=spec.tier)
        self.engine.at(cmd.intercept_s, self._resolve, salvo)

    def _resolve(self, salvo: list[Interceptor]) -> None:
        now = self.engine.now
        for res in self.truth.resolve(salvo, now):
            icpt = res.interceptor
            self.recorder.event_at(now, "intercept" if res.killed else "miss", res.position_ecef,
                                   battery=icpt.battery, nation=icpt.nation, interceptor=icpt.id,
                                   threat=self._threat_name(res.threat), value=res.miss_m, detail=res.note)

    def _threat_name(self, i: int) -> str:
        return self.threats.ids[i] if i >= 0 else ""

    # ------------------------------------------------------------------------------------------ records

    def _record(self, t_s: float, node: Any, rec: Record) -> None:
        f = dict(rec.fields)
        if rec.kind == "picture":
            self._record_picture(t_s, f)
            return
        pos = f.pop("pos_ecef", None)
        if pos is not None:
            f["threat"] = self._threat_name(self.truth.nearest_threat(t_s, pos, TRUTH_GATE_M)[0])
        if "track" in f:
            f["track"] = str(f["track"])
        f.setdefault("nation", self._nation_of.get(node.id, ""))
        self.recorder.event(t_s, rec.kind, node=node.id, **f)

    def _audit(self, t_s: float, node: Any, entry: Audit) -> None:
        f = dict(entry.fields)
        pos = f.pop("pos_ecef", None)
        if pos is not None:  # after-action label of the threat, as for the event log
            f["threat"] = self._threat_name(self.truth.nearest_threat(t_s, pos, TRUTH_GATE_M)[0])
        self.audit.append(t_s, node.id, entry.kind, entry.rule, **f)

    def tracks_contributed(self) -> dict[str, int]:
        """Per nation, the national tracks it released (whole or reduced) to the alliance C2 node."""
        seen: dict[str, set[int]] = {n.id: set() for n in self.scenario.nations}
        for e in self.audit.entries:
            if e["kind"] in ("release", "reduced") and e.get("to") == self.alliance_id and e.get("message") == "TrackReport":
                seen.setdefault(self._nation_of.get(e["node"], ""), set()).update(e.get("tracks", ()))
        return {n: len(v) for n, v in seen.items() if n}

    def _record_picture(self, t_s: float, f: dict) -> None:
        x = f["x"]
        r, _, in_flight, _ = self.truth.threats(t_s)
        flying = np.flatnonzero(in_flight)
        err = np.full(len(x), np.nan)
        truth = np.full(len(x), "", dtype=object)
        if flying.size and len(x):
            diff = x[:, None, :3] - r[flying]
            d = np.sqrt(np.add.reduce(diff * diff, axis=-1))  # [m] track to each threat in flight
            j = np.argmin(d, axis=1)
            err = d[np.arange(len(x)), j]
            near = err <= TRUTH_GATE_M
            truth[near] = np.array(self.threats.ids, dtype=object)[flying[j[near]]]
            err[~np.isfinite(err)] = np.nan
        self.recorder.tracks(t_s, f["ids"], x, f["P_pos_m"], truth.astype(str), err)
        self._score_picture(t_s, r[flying], x[:, :3], err, j if flying.size and len(x) else np.zeros(len(x), int))

    def _score_picture(self, t_s: float, truth_ecef: np.ndarray, track_ecef: np.ndarray, err: np.ndarray,
                       nearest: np.ndarray) -> None:
        """OSPA, GOSPA and the SIAP counts of one picture (:data:`~shieldwall.sim.recorder.PICTURE_COLUMNS`)
        against the threats in flight, with cut-off :data:`PICTURE_CUTOFF_M`."""
        g = gospa(truth_ecef, track_ecef, PICTURE_CUTOFF_M)
        assigned = np.nan_to_num(err, nan=np.inf) <= PICTURE_CUTOFF_M
        self.recorder.picture(t_s, len(truth_ecef), len(track_ecef), ospa(truth_ecef, track_ecef, PICTURE_CUTOFF_M),
                              g.distance, g.localisation, g.missed, g.false, len(np.unique(nearest[assigned])),
                              int(assigned.sum()), int((~assigned).sum()), float(np.sum(err[assigned] ** 2)))


def _caveat_builder(s: Scenario, policy: PolicyBook):
    """A function from a planning node's batteries and assets to its :class:`Caveats` (None while no
    rule of the scenario can forbid an intercept: nothing to check)."""
    if not (policy.restricts_overflight() or any(v is not None for v in policy.engage_classes.values())):
        return lambda batteries, assets: None
    territory = TerritoryMap.from_scenario(s)
    classes = tuple(s.catalog.missiles)
    ranges = np.array([s.catalog.missiles[c].nominal_range_km for c in classes], float)
    return lambda batteries, assets: Caveats(policy, batteries, assets, territory, classes, ranges)


#: Slack [m] on a radar's reach when marking the seconds a threat may be within it: more than a
#: second of flight at any ballistic speed.
REACH_SLACK_M = 20_000.0


def _seconds_in_reach(ephemeris, model, duration_s: float) -> np.ndarray:
    """(ceil(duration) + 1,) whether some threat may be within ``model``'s range at any time in each
    whole second of the run, from the ephemeris's 1 s samples (each marks its own second and the one
    before, which it ends)."""
    n = int(np.ceil(duration_s)) + 1
    out = np.zeros(n, bool)
    r = ephemeris.samples_r_ecef                          # (N, M, 3), sample j at launch + j seconds
    d = r - model.origin_ecef
    near = np.add.reduce(d * d, axis=-1) <= (model.max_range_m + REACH_SLACK_M) ** 2
    threat, j = np.nonzero(near)
    t = np.floor(ephemeris.launch_time_s[threat] + j).astype(int)
    for second in (t - 1, t, t + 1):
        out[second[(second >= 0) & (second < n)]] = True
    return out

