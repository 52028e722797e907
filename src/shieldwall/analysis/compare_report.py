"""The comparison report: one self-contained HTML page of a ``shieldwall compare`` result.

Built from the after-action report's pieces (:mod:`shieldwall.analysis.report`): plotly.js embedded
once, inline, each figure a ``<div>`` with its own small script, the same plot template and jinja2
environment. The page shows a bar chart per metric (mean per variant, 95 % interval as error bars),
the paired differences, the burden-sharing figures when present, the variant definitions and the seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from shieldwall.analysis.compare import (BURDEN, BURDEN_LABELS, METRIC_LABELS, ci_text, describe_variant,
                                         interval, verdict, withheld_variant)
from shieldwall.analysis.report import PALETTE, _environment, _esc, _figure_html

FIGURE_HEIGHT = 340


def render_compare_report(result: Mapping[str, Any]) -> str:
    """One self-contained HTML document for ``result``, the dictionary of
    :func:`shieldwall.analysis.compare.compare`. Pure: the same result gives the same text."""
    names = list(result["variants"])
    first = names[0]
    figures = [(METRIC_LABELS[m], Markup(_figure_html(_bar_figure(result, m), f"sw-cmp-{k}", FIGURE_HEIGHT)))
               for k, m in enumerate(METRIC_LABELS)]
    if result["differences"]:
        figures.append(("Defended value lost: paired difference against " + first,
                        Markup(_figure_html(_difference_figure(result), "sw-cmp-diff", FIGURE_HEIGHT))))
    variants = _grid(["Metric", *names],
                     [[label, *[_mean_ci(result["variants"][v][m]) for v in names]] for m, label in METRIC_LABELS.items()])
    differences = _grid(["Metric", *[f"{v} − {first}" for v in result["differences"]]],
                        [[label, *[_mean_ci(d[m]) for d in result["differences"].values()]]
                         for m, label in METRIC_LABELS.items()])
    burden = None
    definitions = [(v, describe_variant(v)) for v in names]
    if "burden" in result:
        burden = _grid(["Nation", *[BURDEN_LABELS[k] for k in BURDEN]],
                       [[nation, *[_mean_ci(figs[k]) for k in BURDEN]] for nation, figs in result["burden"].items()])
        extra = [withheld_variant(first, n) for n in result["burden"]]
        definitions += [(v, describe_variant(v)) for v in extra if v not in names]
    template = _environment().get_template("compare.html")
    return template.render(
        scenario=result["scenario"], runs=result["runs"], seeds=result["seeds"], first=first,
        verdicts=[verdict(first, v, d["defended_value_lost"]) for v, d in result["differences"].items()],
        plotly_js=Markup(get_plotlyjs()), figures=figures, variants=variants, differences=differences,
        burden=burden, definitions=definitions, has_differences=bool(result["differences"]))


def _mean_ci(s: Mapping[str, Any] | None) -> str:
    """``mean (lo to hi)`` of a summary: its mean and 95 % interval (the mean alone without one)."""
    if not s or s.get("mean") is None:
        return "—"
    return interval(s, 2) if not s.get("ci95") else f"{s['mean']:,.2f} ({ci_text(s, 2)})"


def _grid(header: list[str], rows: list[list[str]]) -> dict[str, Any]:
    """The table structure the template's ``table`` macro draws (first column text, others numeric)."""
    return {"header": header, "rows": rows, "numeric": [False] + [True] * (len(header) - 1)}


def _error_bars(summaries: list[Mapping[str, Any]]) -> dict[str, Any]:
    plus = [0.0 if not s.get("ci95") else s["ci95"][1] - s["mean"] for s in summaries]
    minus = [0.0 if not s.get("ci95") else s["mean"] - s["ci95"][0] for s in summaries]
    return {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus, "color": "#333",
            "thickness": 1.5, "width": 6}


def _bar_figure(result: Mapping[str, Any], metric: str) -> go.Figure:
    names = list(result["variants"])
    summaries = [result["variants"][v][metric] for v in names]
    known = [(v, s) for v, s in zip(names, summaries) if s.get("mean") is not None]
    fig = go.Figure(go.Bar(
        x=[_esc(v) for v, _ in known], y=[s["mean"] for _, s in known],
        marker={"color": [PALETTE[names.index(v) % len(PALETTE)] for v, _ in known]},
        error_y=_error_bars([s for _, s in known]),
        hovertext=[_esc(f"{v}: {_mean_ci(s)}, n = {s['n']}") for v, s in known], hoverinfo="text"))
    fig.update_layout(title={"text": _esc(METRIC_LABELS[metric]), "font": {"size": 14}}, showlegend=False,
                      margin={"l": 10, "r": 10, "t": 40, "b": 40}, yaxis={"rangemode": "tozero"})
    return fig


def _difference_figure(result: Mapping[str, Any]) -> go.Figure:
    first = next(iter(result["variants"]))
    rows = [(v, d["defended_value_lost"]) for v, d in result["differences"].items()
            if d["defended_value_lost"].get("mean") is not None]
    fig = go.Figure(go.Scatter(
        x=[s["mean"] for _, s in rows], y=[_esc(f"{v} − {first}") for v, _ in rows], mode="markers",
        marker={"size": 10, "color": PALETTE[0]}, error_x=_error_bars([s for _, s in rows]),
        hovertext=[_esc(f"{v} − {first}: {_mean_ci(s)}") for v, s in rows], hoverinfo="text"))
    fig.add_vline(x=0, line={"color": "#888", "dash": "dot"})
    fig.update_layout(showlegend=False, margin={"l": 10, "r": 10, "t": 20, "b": 40},
                      xaxis={"title": {"text": "defended value lost, variant − " + _esc(first)}},
                      yaxis={"type": "category"})
    return fig
