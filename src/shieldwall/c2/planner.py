"""One decision cycle of a planning node (the alliance, or a nation for its ``national_only``
batteries): threat evaluation → engagement windows → value-based assignment → engagement orders.

Everything here works on the node's own picture (tracks it received), never on truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shieldwall import geo
from shieldwall.assess.prediction import ImpactPrediction, predict_impact, predict_trajectories
from shieldwall.assess.threat import endangered_assets
from shieldwall.c2.deconfliction import Engagement, EngagementBook
from shieldwall.c2.node import Output, Record, Send
from shieldwall.c2.specs import AssetTable, BatterySpec, DoctrineSpec
from shieldwall.comms.messages import EngagementOrder
from shieldwall.engage.assignment import greedy_assignment
from shieldwall.engage.windows import InterceptorParams, engagement_windows
from shieldwall.tracking.ekf import predict

#: Trajectory prediction grid step [s] used for windows and de-confliction, and the RK4 step [s] of
#: predictions (drag-free flight: 40 s steps stay within half a metre of 2 s ones over a 10-minute flight,
#: far below any track's uncertainty).
PREDICTION_STEP_S = 2.0
INTEGRATION_STEP_S = 40.0
#: Process noise used when coasting received tracks to the decision time [m/s^2/sqrt(s)].
COAST_Q = 1.0
#: A launch later than planned by more than this [s] would miss the planned intercept point.
LAUNCH_SLACK_S = 1.0
#: Minimum probability of hitting an asset for that asset to count as threatened.
THREAT_P_MIN = 0.01


@dataclass(slots=True)
class PlanningContext:
    """What a planning node knows of the forces it tasks; ``extra_delay_s`` (B,) adds each battery's
    expected approval time to its reaction time."""

    node_id: str
    batteries: list[BatterySpec]
    assets: AssetTable
    doctrine: DoctrineSpec
    extra_delay_s: np.ndarray
    route_via: dict[str, str] = field(default_factory=dict)  # battery id → node that must see the order first
    inventory: np.ndarray = field(init=False)  # rounds not yet promised to an order, per battery
    params: InterceptorParams = field(init=False)
    battery_ecef: np.ndarray = field(init=False)
    defends: np.ndarray = field(init=False)  # (B, A) may battery b defend asset a
    orders_issued: int = 0
    _index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        b = self.batteries
        self.inventory = np.array([x.inventory for x in b], int)
        self.battery_ecef = np.array([x.ecef for x in b]).reshape(-1, 3)
        self.params = InterceptorParams(
            burnout_speed_ms=np.array([x.burnout_speed_ms for x in b]),
            burn_time_s=np.array([x.burn_time_s for x in b]),
            min_alt_m=np.array([x.min_alt_m for x in b]),
            max_alt_m=np.array([x.max_alt_m for x in b]),
            max_range_m=np.array([x.max_range_m for x in b]),
            reaction_time_s=np.array([x.reaction_time_s for x in b]) + self.extra_delay_s,
            pk=np.array([x.pk for x in b]),
        )
        self._index = {x.id: i for i, x in enumerate(b)}
        nations = np.array(self.assets.nations)
        self.defends = np.array([[x.defends is None or n in x.defends for n in nations] for x in b], bool).reshape(len(b), -1)

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
    impact: ImpactPrediction
    p_hit: np.ndarray  # (T, A)
    value_at_risk: np.ndarray  # (T,)


class ImpactMemo:
    """A node's impact predictions of its tracks, reused while a track has had no new information.

    A ballistic prediction does not change when a track is only coasted, so each track's impact
    prediction is kept under a key that changes whenever the track takes new information (its id and
    last update time; for a fused track also its contributors) and recomputed only then. The coasting
    process noise added since (``COAST_Q`` over the seconds between decision cycles) is neglected.
    """

    def __init__(self) -> None:
        self._rows: dict[tuple, tuple] = {}

    def predict(self, keys: list[tuple], x: np.ndarray, P: np.ndarray, t_s: float) -> ImpactPrediction:
        """Impact prediction of tracks with ``keys`` and states ``x``, ``P`` at ``t_s``; forgets other keys."""
        new = [i for i, k in enumerate(keys) if k not in self._rows]
        if new:
            fresh = predict_impact(x[new], P[new], t_s, step_s=INTEGRATION_STEP_S)
            for j, i in enumerate(new):
                self._rows[keys[i]] = (fresh.t_impact_s[j], fresh.impact_ecef[j], fresh.impact_lat_rad[j],
                                       fresh.impact_lon_rad[j], fresh.cov_en_m2[j])
        self._rows = {k: self._rows[k] for k in keys}
        rows = [self._rows[k] for k in keys]
        return ImpactPrediction(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]).reshape(-1, 3),
                                np.array([r[2] for r in rows]), np.array([r[3] for r in rows]),
                                np.array([r[4] for r in rows]).reshape(-1, 2, 2))


def evaluate(t_s: float, ids: np.ndarray, x: np.ndarray, P: np.ndarray, t_state_s: np.ndarray,
             assets: AssetTable, memo: ImpactMemo | None = None, keys: list[tuple] | None = None) -> Evaluation:
    """Coast tracks (states valid at ``t_state_s``) to ``t_s``; predict impact points, threatened assets
    and value at risk. With a ``memo``, tracks whose ``keys`` it holds reuse their earlier prediction."""
    xc, Pc = predict(x, P, t_s - t_state_s, COAST_Q)
    if memo is None:
        impact = predict_impact(xc, Pc, t_s, step_s=INTEGRATION_STEP_S)
    else:
        impact = memo.predict(keys if keys is not None else [(int(i),) for i in ids], xc, Pc, t_s)
    p_hit, var = endangered_assets(impact, assets.ecef, assets.radius_m, assets.value)
    return Evaluation(t_s, ids, xc, impact, p_hit, var)


def plan_cycle(ctx: PlanningContext, ev: Evaluation, book: EngagementBook) -> list[Output]:
    """Assign ready batteries to unengaged threatening tracks and emit the orders."""
    t_s = ev.t_s
    if not len(ev.track_ids) or not len(ctx.batteries):
        return []
    threatening = ev.p_hit >= THREAT_P_MIN  # (T, A)
    sel = np.flatnonzero((ev.value_at_risk > 0) & threatening.any(axis=1))  # only these can be engaged
    if not sel.size:
        return []
    horizon_s = float(np.nanmax(ev.impact.t_impact_s[sel]) - t_s) + PREDICTION_STEP_S
    times_s, r_ecef, alive = predict_trajectories(ev.x[sel], t_s, max(horizon_s, PREDICTION_STEP_S),
                                                  PREDICTION_STEP_S, integration_step_s=INTEGRATION_STEP_S)
    candidates = ~book.engaged_mask(ev.track_ids[sel], times_s, r_ecef)
    if not candidates.any():
        return []
    value = ev.value_at_risk[sel]
    win = engagement_windows(ctx.battery_ecef, ctx.params, times_s, r_ecef, alive, t_s,
                             ctx.doctrine.kill_assessment_delay_s)
    # Fire when ready: only batteries whose launch for the earliest intercept falls in this cycle.
    ready = win.launch_s - ctx.params.reaction_time_s[:, None] <= t_s + ctx.doctrine.decision_period_s
    allowed = (ctx.defends.astype(float) @ threatening[sel].T.astype(float)) > 0  # (B, S)
    usable = ready & allowed & candidates[None, :] & np.isfinite(win.earliest_s)
    pk = np.where(usable, ctx.params.pk[:, None], 0.0)
    d = ctx.doctrine
    salvo = np.where((value >= d.high_value_threshold) | ~(win.shoot_look_shoot & usable).any(axis=0),
                     d.high_value_salvo_size, d.salvo_size)
    if not d.shoot_look_shoot:
        salvo = np.full_like(salvo, d.high_value_salvo_size)
    channels = np.array([b.fire_channels for b in ctx.batteries])
    channels = np.maximum(channels - book.busy_channels([b.id for b in ctx.batteries], t_s), 0)
    out: list[Output] = []
    for b, j, n in greedy_assignment(value, pk, ctx.inventory, channels, salvo,
                                     one_battery_per_threat=not d.allow_duplicate_engagements):
        spec = ctx.batteries[b]
        t = sel[j]
        intercept_s = float(win.earliest_s[b, j])
        ctx.orders_issued += 1
        order = EngagementOrder(
            order_id=f"{ctx.node_id}-{ctx.orders_issued}", issued_s=t_s, issuer=ctx.node_id, battery=spec.id,
            track=int(ev.track_ids[t]), track_state=ev.x[t], aim_ecef=_position_at(times_s, r_ecef[j], intercept_s),
            intercept_s=intercept_s, launch_s=float(win.launch_s[b, j]),
            latest_launch_s=float(win.launch_s[b, j]) + LAUNCH_SLACK_S, shots=int(n))
        ctx.inventory[b] -= n
        book.add_order(order)
        lat, lon, alt = geo.ecef_to_geodetic(order.aim_ecef)
        out.append(Record("order", {"battery": spec.id, "order": order.order_id, "track": order.track,
                                    "nation": spec.nation, "value": float(ev.value_at_risk[t]),
                                    "lat_deg": float(np.degrees(lat)), "lon_deg": float(np.degrees(lon)),
                                    "alt_km": float(alt) / 1e3, "detail": spec.authority,
                                    "pos_ecef": ev.x[t, :3]}))
        out.append(Send(ctx.route_via.get(spec.id, spec.id), order))
    return out


def _position_at(times_s: np.ndarray, r_ecef: np.ndarray, t_s: float) -> np.ndarray:
    """Position (3,) [m] on a predicted trajectory ``r_ecef`` (K, 3) sampled at ``times_s`` (K,), linear
    between samples (within ~g dt^2 / 8 = 5 m of the ballistic arc for 2 s samples)."""
    return np.array([np.interp(t_s, times_s, r_ecef[:, i]) for i in range(3)])
