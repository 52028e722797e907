"""After-action metrics of one run, computed from its event log (see DESIGN.md, standard metrics)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from shieldwall.scenario.schema import Scenario
from shieldwall.sim.recorder import PICTURE_CUTOFF_M


def _first_times(events: pd.DataFrame, kind: str) -> dict[str, float]:
    rows = events[(events["kind"] == kind) & (events["threat"] != "")]
    return rows.groupby("threat")["t_s"].min().to_dict()


def _why(ev: pd.DataFrame, threat: str, outcome: str, detect_t: dict, order_t: dict, fire_t: dict) -> str:
    """The furthest stage of the kill chain a threat that got through reached, in words."""
    if outcome == "intercepted":
        return ""
    if threat not in detect_t:
        return "never detected"
    evaluated = ev[(ev["kind"] == "threat_evaluated") & (ev["threat"] == threat) & (ev["value"] > 0)]
    if threat not in order_t:
        if evaluated.empty:
            return "detected, but never assessed as endangering a defended asset"
        return "assessed as a threat, but no battery could engage it (reach, altitude band, inventory or authority)"
    if threat not in fire_t:
        orders = set(ev.loc[(ev["kind"] == "order") & (ev["threat"] == threat), "order"])
        fates = sorted(set(ev.loc[ev["order"].isin(orders) & ev["kind"].isin(REFUSALS), "kind"]))
        return "ordered, but never fired" + (f" ({', '.join(fates)})" if fates else "")
    return "engaged, but every interceptor missed"


#: Event kinds that end an order without a launch.
REFUSALS = ("expired", "denied", "no_inventory", "no_channel")


def _clean(value: Any) -> Any:
    """JSON-safe, rounded, deterministic: NaN/inf → None, floats to 6 significant decimals."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    return value


def compute_metrics(scenario: Scenario, events: pd.DataFrame, threat_ids: tuple[str, ...],
                    threat_classes: tuple[str, ...], *, seed: int, messages_sent: int,
                    messages_lost: int, picture: pd.DataFrame | None = None,
                    tracks: pd.DataFrame | None = None) -> dict[str, Any]:
    """The run's metrics dictionary (the content of ``metrics.json``); ``picture`` is the recorder's
    picture-quality table (:data:`~shieldwall.sim.recorder.PICTURE_COLUMNS`), ``tracks`` its system-track
    history (for purity and continuity)."""
    ev = events
    kind = ev["kind"]
    impacts = ev[kind == "impact"]
    launches = ev[kind == "interceptor_launch"]
    kills = ev[kind == "intercept"]
    value_total = float(sum(a.value for a in scenario.assets))
    value_lost = float(impacts["value"].fillna(0.0).sum())
    by_nation = launches.groupby("nation").size().to_dict()

    launch_t = _first_times(ev, "threat_launch")
    detect_t = _first_times(ev, "first_detection")
    order_t = _first_times(ev, "order")
    fire_t = _first_times(ev, "interceptor_launch")
    kill_t = kills.groupby("threat")["t_s"].min().to_dict()
    impact_t = impacts.groupby("threat")["t_s"].min().to_dict()
    leak = set(impacts.loc[impacts["leaker"], "threat"])
    latencies = [order_t[t] - detect_t[t] for t in order_t if t in detect_t]

    timeline = []
    for ident, cls in zip(threat_ids, threat_classes):
        outcome = ("intercepted" if ident in kill_t else "leaker" if ident in leak
                   else "impact (no asset)" if ident in impact_t else "in flight at end")
        timeline.append({"threat": ident, "class": cls, "launch_s": launch_t.get(ident),
                         "first_detection_s": detect_t.get(ident), "first_order_s": order_t.get(ident),
                         "first_launch_s": fire_t.get(ident), "intercept_s": kill_t.get(ident),
                         "impact_s": impact_t.get(ident), "outcome": outcome,
                         "why": _why(ev, ident, outcome, detect_t, order_t, fire_t)})

    nations = {}
    asset_nation = {a.id: a.nation for a in scenario.assets}
    threatened_nation = _threatened_nations(ev, asset_nation)
    lost_assets = {a for d in impacts["detail"] for a in d.split(",") if a}
    for n in scenario.nations:
        mine = [a for a in scenario.assets if a.nation == n.id]
        fired = launches[launches["nation"] == n.id]
        for_others = fired["threat"].map(lambda t: bool(t) and n.id not in threatened_nation.get(t, {n.id}))
        killed = kills.loc[(kills["nation"] == n.id) & (kills["threat"] != ""), "threat"]
        nations[n.id] = {
            "name": n.name,
            "assets": len(mine),
            "value_total": float(sum(a.value for a in mine)),
            "value_lost": float(sum(a.value for a in mine if a.id in lost_assets)),
            "sensors": sum(1 for x in scenario.sensors if x.nation == n.id),
            "batteries": sum(1 for b in scenario.batteries if b.nation == n.id),
            "interceptors_fired": int(len(fired)),
            "interceptors_fired_for_others": int(for_others.sum()) if len(fired) else 0,
            "kills": int((kills["nation"] == n.id).sum()),
            "kills_for_others": int(sum(n.id not in threatened_nation.get(t, {n.id}) for t in killed)),
            "first_detections": int(((kind == "first_detection") & (ev["nation"] == n.id)).sum()),
        }

    metrics = {
        "threats": len(threat_ids),
        "leakers": len(leak),
        "intercepts": int(len(kills)),
        "interceptors_fired": int(len(launches)),
        "interceptors_fired_by_nation": {k: int(v) for k, v in sorted(by_nation.items())},
        "defended_value_total": value_total,
        "defended_value_lost": value_lost,
        "first_detection_s": min(detect_t.values()) if detect_t else None,
        "mean_decision_latency_s": float(np.mean(latencies)) if latencies else None,
        "messages_sent": int(messages_sent),
        "messages_lost": int(messages_lost),
        "seed": int(seed),
        "shots_per_kill": len(launches) / len(kills) if len(kills) else None,
        "duplicate_engagements": _duplicate_engagements(launches, scenario.doctrine.kill_assessment_delay_s),
        "orders": int((kind == "order").sum()),
        "approvals": int((kind == "approved").sum()),
        "expired_orders": int((kind == "expired").sum()),
        "nations": nations,
        "threat_timeline": timeline,
        "picture": picture_quality(picture, tracks),
    }
    return _clean(metrics)


def picture_quality(picture: pd.DataFrame | None, tracks: pd.DataFrame | None = None,
                    cutoff_m: float = PICTURE_CUTOFF_M) -> dict[str, Any]:
    """Summary of the alliance picture's quality over the run, from the per-picture table: mean OSPA
    and GOSPA [m] over the pictures with any truth or track, and the SIAP measures (Votruba et al.,
    Single Integrated Air Picture attributes, 2001) pooled over all pictures: completeness (truths
    with a track / truths), ambiguity (assigned tracks / tracked truths), spuriousness (tracks
    with no truth / tracks) and positional accuracy (RMS error of the assigned tracks [m]); and, from
    the track history with each row assigned to its nearest threat within ``cutoff_m``, track purity
    (share of a track's assigned rows that follow its most frequent threat, pooled over tracks) and
    continuity (distinct track numbers per tracked threat: 1 when one track followed it throughout).
    One pass over each table: linear in the run's length."""
    if picture is None or not len(picture):
        return {"pictures": 0, "ospa_mean_m": None, "gospa_mean_m": None,
                "siap": {"completeness": None, "ambiguity": None, "spuriousness": None, "accuracy_m": None},
                "track_purity": None, "tracks_per_threat": None}
    busy = picture[(picture["truths"] > 0) | (picture["tracks"] > 0)]
    totals = picture[["truths", "tracks", "tracked_truths", "assigned_tracks", "spurious_tracks", "sq_error_m2"]].sum()

    def ratio(a: float, b: float) -> float | None:
        return float(a / b) if b else None

    accuracy = ratio(totals["sq_error_m2"], totals["assigned_tracks"])
    return {
        "pictures": int(len(picture)),
        "ospa_mean_m": float(busy["ospa_m"].mean()) if len(busy) else None,
        "gospa_mean_m": float(busy["gospa_m"].mean()) if len(busy) else None,
        "siap": {"completeness": ratio(totals["tracked_truths"], totals["truths"]),
                 "ambiguity": ratio(totals["assigned_tracks"], totals["tracked_truths"]),
                 "spuriousness": ratio(totals["spurious_tracks"], totals["tracks"]),
                 "accuracy_m": None if accuracy is None else float(np.sqrt(accuracy))},
        **_purity_continuity(tracks, cutoff_m),
    }


def _purity_continuity(tracks: pd.DataFrame | None, cutoff_m: float) -> dict[str, float | None]:
    """``track_purity`` and ``tracks_per_threat`` (see :func:`picture_quality`) of a track history."""
    if tracks is None:
        return {"track_purity": None, "tracks_per_threat": None}
    rows = tracks[(tracks["truth"] != "") & (tracks["error_m"] <= cutoff_m)]
    if not len(rows):
        return {"track_purity": None, "tracks_per_threat": None}
    pairs = rows.groupby(["track", "truth"]).size()
    return {"track_purity": float(pairs.groupby(level="track").max().sum() / len(rows)),
            "tracks_per_threat": float(pairs.groupby(level="truth").size().mean())}


def _threatened_nations(events: pd.DataFrame, asset_nation: dict[str, str]) -> dict[str, set[str]]:
    """Truth threat → nations whose assets a planning node (the alliance, or a nation for its own
    batteries) judged it to threaten."""
    rows = events[(events["kind"] == "threat_evaluated") & (events["threat"] != "")]
    out: dict[str, set[str]] = {}
    for threat, detail in rows[["threat", "detail"]].itertuples(index=False):
        out.setdefault(threat, set()).update(asset_nation[a] for a in detail.split(",") if a in asset_nation)
    return out


def _duplicate_engagements(launches: pd.DataFrame, look_s: float) -> int:
    """Interceptor launches by a nation at a threat that another nation's interceptors were already on
    their way to: fired before that earlier intercept time (the ``value`` of its launch event) plus
    the kill-assessment delay ``look_s`` [s]. A shot after the look (shoot-look-shoot) is not one."""
    count = 0
    for _, rows in launches[launches["threat"] != ""].groupby("threat"):
        rows = rows.sort_values("t_s", kind="stable")
        fired = list(zip(rows["t_s"], rows["nation"], rows["value"]))
        count += sum(1 for k, (t, n, _) in enumerate(fired)
                     if any(m != n and t < intercept + look_s for _, m, intercept in fired[:k]))
    return count
