"""One decision cycle of a planning node (the alliance, or a nation for its ``national_only``
batteries): threat evaluation → engagement windows → value-based assignment → engagement orders.

Everything here works on the node's own picture (tracks it received), never on truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from shieldwall import geo
from shieldwall.assess.prediction import (ImpactPrediction, SigmaFlightStore, carried_positions, carried_trajectories,
                                          carry_prediction, predict_impact, predict_impact_and_flights,
                                          predict_trajectories)
from shieldwall.assess.threat import endangered_assets
from shieldwall.c2.deconfliction import Engagement, EngagementBook
from shieldwall.c2.node import Audit, Output, Record, Send
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.messages import EngagementOrder, EngagementStatus
from shieldwall.engage.problem import WtaProblem
from shieldwall.engage.solvers import solve
from shieldwall.engage.windows import InterceptorParams, engagement_windows
from shieldwall.policy.caveats import Caveats
from shieldwall.policy.release import share
from shieldwall.policy.rules import PolicyBook
from shieldwall.tracking.ekf import predict

#: Trajectory prediction grid step [s] used for windows and de-confliction, and the RK4 step [s] of
#: predictions (drag-free flight: 60 s steps stay within 2.5 m of 2 s ones over a 10-minute flight,
#: far below any track's uncertainty).
PREDICTION_STEP_S = 2.0
INTEGRATION_STEP_S = 60.0
#: Longest flight [s] an impact prediction follows (a track not down by then has no impact point).
MAX_FLIGHT_S = 3600.0
#: Process noise used when coasting received tracks to the decision time [m/s^2/sqrt(s)].
COAST_Q = 1.0
#: A launch later than planned by more than this [s] would miss the planned intercept point.
LAUNCH_SLACK_S = 1.0
#: Minimum probability of hitting an asset for that asset to count as threatened.
THREAT_P_MIN = 0.01
#: Two tracks whose predicted paths stay this close [m] over this many prediction samples are one object.
SAME_OBJECT_M, SAME_OBJECT_SAMPLES = 3_000.0, 30
#: Decision cycles that cannot order anything are skipped (:class:`CycleGate`): a node evaluates and
#: plans at least every ``REFRESH_S`` [s], every cycle within ``DUE_MARGIN_S`` [s] of the earliest
#: time a battery could be ready to launch on its current picture, and whenever its tracks, engagement
#: book or inventory change.
REFRESH_S = 10.0
DUE_MARGIN_S = 10.0
#: Most interceptors one battery fires at one threat in one cycle (the schema's largest salvo).
MAX_SALVO = 4
#: Engagement-quality track: a battery fires only if the track's predicted position uncertainty at the
#: intercept time, this many standard deviations (RSS over axes), fits inside its kill vehicle's divert.
ENGAGEMENT_QUALITY_SIGMAS = 2.0


@dataclass(slots=True)
class PlanningContext:
    """What a planning node knows of the batteries it may task and the rules it plans under.

    ``role`` says which batteries it tasks: ``"alliance"`` those not under ``national_only``
    authority, ``"national"`` its nation's ``national_only`` ones; authority can change during a run
    (:meth:`set_authority`). ``extra_delay_s`` (B,) is each battery's expected national approval time
    [s], added to its reaction time while it is under ``national_approval`` (orders then go through
    its national node). ``policy`` (default: no rules) supplies the caveats checked on every pair;
    ``peers`` are the other planning nodes told of each order (a target reservation)."""

    node_id: str
    batteries: list[BatterySpec]
    assets: AssetTable
    doctrine: DoctrineSpec
    extra_delay_s: np.ndarray
    role: str = "alliance"
    policy: PolicyBook | None = None
    peers: tuple[str, ...] = ()
    caveats: Caveats | None = None
    authority: list[str] = field(init=False)
    tasked: np.ndarray = field(init=False)  # (B,) bool: batteries this node may task now
    route_via: dict[str, str] = field(init=False)  # battery id → node that must see the order first
    inventory: np.ndarray = field(init=False)  # rounds not yet promised to an order, per battery
    params: InterceptorParams = field(init=False)
    battery_ecef: np.ndarray = field(init=False)
    defends: np.ndarray = field(init=False)  # (B, A) may battery b defend asset a
    orders_issued: int = 0
    next_due_s: float = -np.inf  # earliest time a battery could be ready on the last plan's picture
    _index: dict[str, int] = field(init=False)
    params_divert_m: np.ndarray = field(init=False)
    cost: np.ndarray = field(init=False)  # (B,) cost of one interceptor, in units of asset value
    expected_asset: np.ndarray = field(init=False)  # (E,) later-wave threats planned for (multi-stage)
    expected_value: np.ndarray = field(init=False)  # (E,)
    expected_pk: np.ndarray = field(init=False)  # (B, E)
    _seen: dict[int, set[int]] = field(init=False, default_factory=dict)  # asset -> tracks seen at it
    _base_reaction_s: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        b = self.batteries
        self.inventory = np.array([x.inventory for x in b], int)
        self.battery_ecef = np.array([x.ecef for x in b]).reshape(-1, 3)
        self._base_reaction_s = np.array([x.reaction_time_s for x in b], float)
        self.params = InterceptorParams(
            burnout_speed_ms=np.array([x.burnout_speed_ms for x in b]),
            burn_time_s=np.array([x.burn_time_s for x in b]),
            min_alt_m=np.array([x.min_alt_m for x in b]),
            max_alt_m=np.array([x.max_alt_m for x in b]),
            max_range_m=np.array([x.max_range_m for x in b]),
            reaction_time_s=self._base_reaction_s.copy(),
            pk=np.array([x.pk for x in b]),
        )
        self._index = {x.id: i for i, x in enumerate(b)}
        self.authority = [x.authority for x in b]
        self.tasked = np.zeros(len(b), bool)
        self.route_via = {}
        for x in b:
            self.set_authority(x.id, x.authority)
        self.params_divert_m = np.array([x.divert_m for x in b])
        nations = np.array(self.assets.nations)
        self.defends = np.array([[x.defends is None or n in x.defends for n in nations] for x in b],
                                bool).reshape(len(b), len(nations))
        self.cost = np.array([self.doctrine.cost_of(x.tier) for x in b], float)
        self._expected_threats()

    @property
    def nation(self) -> str:
        """The planning node's nation (``alliance`` for the alliance node)."""
        return self.batteries[0].nation if self.role == "national" and self.batteries else "alliance"

    def set_authority(self, battery: str, authority: str) -> str | None:
        """Put ``battery`` under ``authority``; returns the authority it had (None: not one of ours)."""
        i = self._index.get(battery)
        if i is None:
            return None
        before, self.authority[i] = self.authority[i], authority
        spec = self.batteries[i]
        self.tasked[i] = (authority == "national_only") == (self.role == "national")
        approval = authority == "national_approval"
        self.params.reaction_time_s[i] = self._base_reaction_s[i] + (self.extra_delay_s[i] if approval else 0.0)
        if approval and spec.reports_to != self.node_id:
            self.route_via[spec.id] = spec.reports_to
        else:
            self.route_via.pop(spec.id, None)
        return before

    def observe_launch(self, status: EngagementStatus, own: bool) -> None:
        """Keep the rounds-on-hand view of a battery another node fired (its launch status)."""
        i = self._index.get(status.battery)
        if i is not None and not own and status.status == "launched":
            self.inventory[i] = max(self.inventory[i] - status.shots, 0)

    def _expected_threats(self) -> None:
        """Later waves the multi-stage planner holds inventory for: one column per expected threat,
        its asset (``expected_asset``), value (the asset's value times the probability it comes) and
        each battery's kill probability against it: its single-shot pk where it may defend the asset
        and the asset lies within its ground range (a footprint proxy: the trajectory is not known)."""
        index = {a: k for k, a in enumerate(self.assets.ids)}
        waves = [(index[a], n, prob) for a, n, prob in self.doctrine.expected_threats if a in index]
        if self.doctrine.planning != "multi-stage":
            waves = []
        counts = [n for _, n, _ in waves]
        self.expected_asset = np.repeat(np.array([k for k, _, _ in waves], int), counts)
        self.expected_value = self.assets.value[self.expected_asset] * np.repeat([p for _, _, p in waves], counts)
        lat, lon, _ = geo.ecef_to_geodetic(self.assets.ecef[self.expected_asset].reshape(-1, 3))
        b_lat, b_lon, _ = geo.ecef_to_geodetic(self.battery_ecef)
        ground_m = geo.great_circle_m(b_lat[:, None], b_lon[:, None], np.atleast_1d(lat)[None, :],
                                      np.atleast_1d(lon)[None, :])
        reach = (ground_m <= self.params.max_range_m[:, None]) & self.defends[:, self.expected_asset]
        self.expected_pk = np.where(reach, self.params.pk[:, None], 0.0).reshape(len(self.batteries),
                                                                               len(self.expected_asset))

    def expected_still_to_come(self, ev: Evaluation) -> np.ndarray:
        """Columns (indices) of the expected threats not yet seen: every track that has threatened an
        asset (its most endangered one) counts, once, against that asset's expected threats."""
        if not self.expected_asset.size:
            return np.zeros(0, int)
        worst = np.argmax(ev.p_hit, axis=1) if ev.p_hit.size else np.zeros(0, int)
        for track, a, risk in zip(ev.track_ids.tolist(), worst.tolist(), ev.value_at_risk.tolist()):
            if risk > 0:
                self._seen.setdefault(a, set()).add(track)
        rank = np.zeros(self.expected_asset.size, int)
        for a in np.unique(self.expected_asset):
            cols = np.flatnonzero(self.expected_asset == a)
            rank[cols] = np.arange(cols.size)
        seen = np.array([len(self._seen.get(int(a), ())) for a in self.expected_asset], int)
        return np.flatnonzero(rank >= seen)

    def refund(self, cancelled: Engagement | None) -> None:
        """Take back the rounds of an own order that was never fired (denied, expired, refused)."""
        if cancelled is not None and cancelled.battery in self._index:
            self.inventory[self._index[cancelled.battery]] += cancelled.shots


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Threat evaluation of a node's tracks at ``t_s`` (states coasted to ``t_s``)."""

    t_s: float
    track_ids: np.ndarray  # (T,)
    x: np.ndarray  # (T, 6)
    P: np.ndarray  # (T, 6, 6)
    impact: ImpactPrediction
    p_hit: np.ndarray  # (T, A)
    value_at_risk: np.ndarray  # (T,)


class PredictionMemo:
    """A node's predictions of its tracks (impact, assets endangered, trajectory), re-linearised only when
    a track has changed beyond what a linear carry covers.

    Each track keeps the sigma-point flights of its latest full unscented prediction
    (:func:`~shieldwall.assess.prediction.predict_impact_and_flights`). Every cycle they are carried to
    the track's current state and covariance by statistical linearisation
    (:func:`~shieldwall.assess.prediction.carry_prediction`): exact for a coasted track, second order
    in the update otherwise. A track is predicted afresh when the carry's estimated second-order error
    exceeds ``CARRY_TOLERANCE`` of the impact point's own uncertainty (RSS of its east/north sigmas),
    when its state lies more than ``CARRY_OFFSET`` sigma-point spreads from the old mean, when its
    position uncertainty has shrunk or grown by more than a factor ``CARRY_SIGMA_RATIO`` (the
    linearisation was made over the wrong spread), or when the carry does not hold.
    """

    CARRY_TOLERANCE = 0.1
    CARRY_OFFSET = 10.0
    CARRY_SIGMA_RATIO = 10.0

    def __init__(self) -> None:
        self._rows: dict[int, tuple[int, float]] = {}   # id -> (slot of its flights, position sigma then)
        self._store = SigmaFlightStore(INTEGRATION_STEP_S, int(np.ceil(MAX_FLIGHT_S / INTEGRATION_STEP_S)))
        self._latest: tuple[np.ndarray, np.ndarray] = (np.zeros(0, int), np.zeros((0, 6)))   # slots, offsets c

    def impacts(self, ids: np.ndarray, x: np.ndarray, P: np.ndarray, t_s: float,
                assets: AssetTable) -> tuple[ImpactPrediction, np.ndarray]:
        """Impact prediction of tracks ``ids`` with states ``x``, ``P`` at ``t_s`` and the probability
        (T, A) it hits each of ``assets``; forgets other tracks."""
        ids = [int(i) for i in ids]
        n = len(ids)
        sigma = np.sqrt(np.trace(P[:, :3, :3], axis1=1, axis2=2))
        current = set(ids)
        self._store.release(slot for i, (slot, _) in self._rows.items() if i not in current)
        self._rows = {i: self._rows[i] for i in ids if i in self._rows}
        fresh = np.array([i not in self._rows for i in ids], bool)
        slots = np.array([self._rows[i][0] if i in self._rows else -1 for i in ids], int)
        impact = ImpactPrediction(np.empty(n), np.empty((n, 3)), np.empty(n), np.empty(n), np.empty((n, 2, 2)))
        c = np.zeros((n, 6))
        if not fresh.all():
            known = np.flatnonzero(~fresh)
            carried = carry_prediction(self._store.window(slots[known], t_s), x[known], P[known], t_s)
            old, now = np.array([self._rows[ids[k]][1] for k in known]), sigma[known]
            spread_m = np.sqrt(np.trace(carried.impact.cov_en_m2, axis1=1, axis2=2))
            fresh[known] = ~(carried.valid & (carried.offset <= self.CARRY_OFFSET)
                             & (carried.curvature_m <= self.CARRY_TOLERANCE * spread_m)
                             & (now * self.CARRY_SIGMA_RATIO >= old) & (now <= self.CARRY_SIGMA_RATIO * old))
            _fill(impact, known, carried.impact)
            c[known] = carried.c
        if fresh.any():
            k = np.flatnonzero(fresh)
            ut, flights = predict_impact_and_flights(x[k], P[k], t_s, step_s=INTEGRATION_STEP_S,
                                                     max_flight_s=MAX_FLIGHT_S)
            self._store.release(slots[k][slots[k] >= 0])
            slots[k] = self._store.put(flights)
            for row in k:
                self._rows[ids[row]] = (int(slots[row]), float(sigma[row]))
            _fill(impact, k, ut)
            c[k] = 0.0
        self._latest = (slots, c)
        p_hit, _ = endangered_assets(impact, assets.ecef, assets.radius_m, assets.value)
        return impact, p_hit

    def trajectories(self, rows: np.ndarray, t_s: float,
                     max_samples: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`predict_trajectories` (every ``PREDICTION_STEP_S`` from ``t_s``, to the ground or for
        ``max_samples`` samples) of the carried mean flights of rows ``rows`` of the latest
        :meth:`impacts` (made at ``t_s``)."""
        slots, c = self._latest
        return carried_trajectories(self._store.gather(slots[rows], t_s), c[rows], t_s, PREDICTION_STEP_S,
                                    max_samples)

    def positions(self, rows: np.ndarray, t_s: float, times_s: np.ndarray) -> np.ndarray:
        """Positions (T, E, 3) at times ``times_s`` (E,) on the carried mean flights of rows ``rows`` of
        the latest :meth:`impacts` (made at ``t_s``)."""
        slots, c = self._latest
        return carried_positions(self._store.gather(slots[rows], t_s), c[rows], times_s)


def _fill(into: ImpactPrediction, rows: np.ndarray, part: ImpactPrediction) -> None:
    """Write the predictions ``part`` into rows ``rows`` of ``into``."""
    for name in ImpactPrediction.__slots__:
        getattr(into, name)[rows] = getattr(part, name)


class CycleGate:
    """Whether a planning node's decision cycle can change anything (:data:`REFRESH_S`,
    :data:`DUE_MARGIN_S`): a cycle is needed when its track numbers, engagement book or inventory have
    changed since the last one that ran, when a battery may come ready (or a fire channel free) within
    the margin, or when the last one ran ``REFRESH_S`` ago. Skipped cycles cost nothing."""

    def __init__(self) -> None:
        self._last_s = -np.inf
        self._seen: tuple[bytes, int, bytes] | None = None

    def needed(self, t_s: float, ids: np.ndarray, book: EngagementBook, ctx: PlanningContext) -> bool:
        due_s = min(ctx.next_due_s, book.next_change_s(self._last_s))
        return (t_s >= self._last_s + REFRESH_S or t_s >= due_s - DUE_MARGIN_S
                or self._seen != (np.asarray(ids).tobytes(), book.version, ctx.inventory.tobytes()))

    def ran(self, t_s: float, ids: np.ndarray, book: EngagementBook, ctx: PlanningContext) -> None:
        """Note the cycle that ran at ``t_s`` (after its orders went into ``book`` and ``ctx``)."""
        self._last_s = t_s
        self._seen = (np.asarray(ids).tobytes(), book.version, ctx.inventory.tobytes())


def evaluate(t_s: float, ids: np.ndarray, x: np.ndarray, P: np.ndarray, t_state_s: np.ndarray,
             assets: AssetTable, memo: PredictionMemo | None = None) -> Evaluation:
    """Coast tracks (states valid at ``t_state_s``) to ``t_s``; predict impact points, threatened assets
    and value at risk. With a ``memo``, tracks that have not materially changed reuse their prediction."""
    xc, Pc = predict(x, P, t_s - t_state_s, COAST_Q)
    if memo is None:
        impact = predict_impact(xc, Pc, t_s, step_s=INTEGRATION_STEP_S)
        p_hit, _ = endangered_assets(impact, assets.ecef, assets.radius_m, assets.value)
    else:
        impact, p_hit = memo.impacts(ids, xc, Pc, t_s, assets)
    return Evaluation(t_s, ids, xc, Pc, impact, p_hit, p_hit @ assets.value)


def plan_cycle(ctx: PlanningContext, ev: Evaluation, book: EngagementBook,
               memo: PredictionMemo | None = None, sources: Callable[[int], list[dict]] | None = None) -> list[Output]:
    """Assign ready batteries to unengaged threatening tracks and emit the orders (``memo``: the one
    the evaluation used, to reuse trajectories; ``sources(track)``: the national tracks and sensors
    behind a track, for the audit log)."""
    t_s = ev.t_s
    ctx.next_due_s = np.inf  # until a feasible pair says otherwise
    later = ctx.expected_still_to_come(ev)  # every evaluation counts the threats seen
    if not len(ev.track_ids) or not len(ctx.batteries):
        return []
    threatening = ev.p_hit >= THREAT_P_MIN  # (T, A)
    sel = np.flatnonzero((ev.value_at_risk > 0) & threatening.any(axis=1))  # only these can be engaged
    if not sel.size:
        return []
    if memo is None:
        horizon_s = float(np.nanmax(ev.impact.t_impact_s[sel]) - t_s) + PREDICTION_STEP_S
        times_s, r_ecef, alive = predict_trajectories(ev.x[sel], t_s, max(horizon_s, PREDICTION_STEP_S),
                                                      PREDICTION_STEP_S, integration_step_s=INTEGRATION_STEP_S)
        engaged = book.engaged_mask(ev.track_ids[sel], times_s, r_ecef, ev.P[sel], t_s)
        duplicate = _duplicates(r_ecef, alive)
    else:  # the full trajectories only of the tracks that could be ordered
        when = book.intercept_grid_s(t_s, PREDICTION_STEP_S)
        engaged = book.engaged_mask(ev.track_ids[sel], when, memo.positions(sel, t_s, when), ev.P[sel], t_s)
        duplicate = _duplicates(*memo.trajectories(sel, t_s, SAME_OBJECT_SAMPLES)[1:])
    candidates = ~engaged & ~duplicate
    allowed = (ctx.defends.astype(float) @ threatening[sel].T.astype(float)) > 0  # (B, S)
    channels = np.array([b.fire_channels for b in ctx.batteries])
    channels = np.maximum(channels - book.busy_channels([b.id for b in ctx.batteries], t_s), 0)
    # Windows only where an order could come of them: batteries with rounds and a free channel, and
    # the unengaged tracks one of them may defend against.
    bat = np.flatnonzero(ctx.tasked & (ctx.inventory > 0) & (channels > 0) & (allowed & candidates[None, :]).any(axis=1))
    cols = np.flatnonzero(candidates & allowed[bat].any(axis=0))
    if not cols.size:
        return []
    if memo is None:
        r_ecef, alive = r_ecef[cols], alive[cols]
    else:
        times_s, r_ecef, alive = memo.trajectories(sel[cols], t_s)
    sel = sel[cols]
    value = ev.value_at_risk[sel]
    params = InterceptorParams(*(getattr(ctx.params, f)[bat] for f in InterceptorParams.__dataclass_fields__))
    footprint, allowed_bits = (ctx.caveats.overflight(bat, threatening[sel], r_ecef, alive)
                               if ctx.caveats is not None else (None, None))
    win = engagement_windows(ctx.battery_ecef[bat], params, times_s, r_ecef, alive, t_s,
                             ctx.doctrine.kill_assessment_delay_s, footprint, allowed_bits)
    # Fire when ready: only batteries whose launch for the earliest intercept falls in this cycle.
    due_s = win.launch_s - params.reaction_time_s[:, None] - ctx.doctrine.decision_period_s
    ready = due_s <= t_s
    feasible = allowed[np.ix_(bat, cols)] & np.isfinite(win.earliest_s)
    out: list[Output] = []
    if ctx.caveats is not None:
        feasible, audits = ctx.caveats.check(t_s, ev.track_ids[sel], ev.x[sel], ev.P[sel], ev.impact.impact_ecef[sel],
                                             bat, win.blocked & allowed[np.ix_(bat, cols)], win.earliest_s, times_s,
                                             footprint, feasible)
        out += audits
    ctx.next_due_s = float(np.min(due_s[feasible], initial=np.inf))
    quality = feasible & _engagement_quality(ev.P[sel], win.earliest_s - t_s, ctx.params_divert_m[bat])
    usable = ready & quality
    if not usable.any():
        return out
    # One-shot: only what can be fired now. Multi-stage: also every battery that can engage a threat
    # later (judged by its window alone: the track will be better by then), and the expected later
    # waves; only the shots due now become orders.
    multi = ctx.doctrine.planning == "multi-stage"
    pk = np.where(usable | (feasible & ~ready & multi), params.pk[:, None], 0.0)
    salvo = _salvo(ctx.doctrine, value, np.where(usable, params.pk[:, None], 0.0), win.shoot_look_shoot & usable)
    problem = WtaProblem(np.r_[value, ctx.expected_value[later]], np.c_[pk, ctx.expected_pk[np.ix_(bat, later)]],
                         ctx.inventory[bat], channels[bat], np.r_[salvo, np.full(later.size, ctx.doctrine.salvo_size)],
                         cost=ctx.cost[bat], one_battery_per_threat=not ctx.doctrine.allow_duplicate_engagements)
    solution = solve(problem, ctx.doctrine.solver)
    plan = solution.rows
    plan = plan[(plan[:, 1] < cols.size)]
    plan = plan[usable[plan[:, 0], plan[:, 1]]]
    for i, j, n in plan:
        b, t = bat[i], sel[j]
        spec = ctx.batteries[b]
        intercept_s = float(win.earliest_s[i, j])
        ctx.orders_issued += 1
        order = EngagementOrder(
            order_id=f"{ctx.node_id}-{ctx.orders_issued}", issued_s=t_s, issuer=ctx.node_id, battery=spec.id,
            track=int(ev.track_ids[t]), track_state=ev.x[t], aim_ecef=_position_at(times_s, r_ecef[j], intercept_s),
            intercept_s=intercept_s, launch_s=float(win.launch_s[i, j]),
            latest_launch_s=float(win.launch_s[i, j]) + LAUNCH_SLACK_S, shots=int(n))
        ctx.inventory[b] -= n
        book.add_order(order, ev.track_ids)
        lat, lon, alt = geo.ecef_to_geodetic(order.aim_ecef)
        out.append(Record("order", {"battery": spec.id, "order": order.order_id, "track": order.track,
                                    "nation": spec.nation, "value": float(ev.value_at_risk[t]),
                                    "lat_deg": float(np.degrees(lat)), "lon_deg": float(np.degrees(lon)),
                                    "alt_km": float(alt) / 1e3, "detail": spec.authority,
                                    "pos_ecef": ev.x[t, :3]}))
        out.append(Send(ctx.route_via.get(spec.id, spec.id), order))
        rules = [f"defends:{spec.id}"] + (
            ctx.caveats.rules(int(b), int(j)) if ctx.caveats is not None else [])
        out.append(Audit("order", f"authority:{spec.id}", {
            "order": order.order_id, "battery": spec.id, "battery_nation": spec.nation, "track": order.track,
            "solver": solution.solver, "shots": int(n), "pk": float(params.pk[i]), "value": float(value[j]),
            "intercept_s": intercept_s, "launch_s": order.launch_s, "authority": ctx.authority[b],
            "via": ctx.route_via.get(spec.id, ""), "rules": rules, "planner_nation": ctx.nation,
            "sources": sources(order.track) if sources is not None else [], "pos_ecef": ev.x[t, :3]}))
        out += _reserve(ctx, order, spec)
    return out


def _reserve(ctx: PlanningContext, order: EngagementOrder, spec: BatterySpec) -> list[Output]:
    """Tell the other planning nodes of an order (a target reservation), as the battery's nation's
    ``battery_status`` agreement allows."""
    if not ctx.peers:
        return []
    status = EngagementStatus(order.order_id, order.issued_s, spec.id, spec.nation, order.track, "reserved",
                              order.aim_ecef, order.intercept_s, order.shots)
    out: list[Output] = []
    for peer in ctx.peers:
        out += share(ctx.policy, spec.nation, peer, status) if ctx.policy is not None else [Send(peer, status)]
    return out


def _salvo(d: DoctrineSpec, value: np.ndarray, pk_now: np.ndarray, second_shot: np.ndarray) -> np.ndarray:
    """(S,) most interceptors at each threat this cycle. The doctrine's salvo, or its high-value salvo
    where the value at risk reaches the threshold, where no battery could look and shoot again
    (``second_shot`` (B, S)), or always under shoot-shoot-look (``shoot_look_shoot: false``); raised
    to the shots the best battery ready now (``pk_now`` (B, S)) needs for the raid-negation doctrine:
    every threat killed with probability ``min_raid_negation ** (1 / S)``, so that the whole raid is
    with ``min_raid_negation`` (at most :data:`MAX_SALVO`)."""
    salvo = np.where((value >= d.high_value_threshold) | ~second_shot.any(axis=0) | (not d.shoot_look_shoot),
                     d.high_value_salvo_size, d.salvo_size)
    if d.min_raid_negation > 0.0 and value.size:
        per_threat = d.min_raid_negation ** (1.0 / value.size)
        best = np.minimum(pk_now.max(axis=0, initial=0.0), 1.0 - 1e-12)
        with np.errstate(divide="ignore"):
            # (a ratio a rounding error above a whole number needs that number of shots, not one more)
            need = np.where(best > 0, np.ceil(np.log1p(-per_threat) / np.log1p(-best) - 1e-9), 0)
        salvo = np.maximum(salvo, np.minimum(need, MAX_SALVO).astype(salvo.dtype))
    return salvo


def _duplicates(r_ecef: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """(S,) tracks that repeat an earlier track of the list: the same object tracked twice (a restarted
    or unbound national track), their predicted paths within :data:`SAME_OBJECT_M` over the next
    :data:`SAME_OBJECT_SAMPLES` samples while both fly. Only pairs already that close at the first
    sample are compared further (a k-d tree), so the cost grows with the pairs, not the square."""
    k = min(SAME_OBJECT_SAMPLES, r_ecef.shape[1])
    out = np.zeros(len(r_ecef), bool)
    up = np.flatnonzero(alive[:, 0])
    if len(up) < 2:
        return out
    pairs = cKDTree(r_ecef[up, 0]).query_pairs(SAME_OBJECT_M, output_type="ndarray")
    if not len(pairs):
        return out
    i, j = up[pairs.min(axis=1)], up[pairs.max(axis=1)]
    d = np.linalg.norm(r_ecef[i, :k] - r_ecef[j, :k], axis=-1)
    both = alive[i, :k] & alive[j, :k]
    same = np.where(both, d <= SAME_OBJECT_M, True).all(axis=-1)
    out[j[same]] = True
    return out


def _engagement_quality(P: np.ndarray, tgo_s: np.ndarray, divert_m: np.ndarray) -> np.ndarray:
    """(B, S) whether each track's position sigma (RSS) flown linearly to each battery's intercept time,
    times :data:`ENGAGEMENT_QUALITY_SIGMAS`, fits inside that battery's divert [m]."""
    pp = np.trace(P[:, :3, :3], axis1=1, axis2=2)
    pv = np.trace(P[:, :3, 3:], axis1=1, axis2=2)
    vv = np.trace(P[:, 3:, 3:], axis1=1, axis2=2)
    t = np.where(np.isfinite(tgo_s), tgo_s, 0.0)
    sigma = np.sqrt(np.maximum(pp[None] + 2.0 * t * pv[None] + t * t * vv[None], 0.0))
    return ENGAGEMENT_QUALITY_SIGMAS * sigma <= divert_m[:, None]


def _position_at(times_s: np.ndarray, r_ecef: np.ndarray, t_s: float) -> np.ndarray:
    """Position (3,) [m] on a predicted trajectory ``r_ecef`` (K, 3) sampled at ``times_s`` (K,), linear
    between samples (within ~g dt^2 / 8 = 5 m of the ballistic arc for 2 s samples)."""
    return np.array([np.interp(t_s, times_s, r_ecef[:, i]) for i in range(3)])
