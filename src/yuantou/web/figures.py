"""Plotly figures (plain dicts) built from a node's tables; the browser draws them with the node's plotly.js.

Pure functions of the data, so they are tested without a browser, and the dashboard
and the demo's report draw the same charts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.locales import ENGLISH

PALETTE = ["#2f6f4f", "#d08c2c", "#3d6fb6", "#b5473a", "#7a5ea8", "#4f9d9a", "#a3894f", "#6b7b8c",
           "#c2607f", "#5d8a3a"]


def layout(title: str, **extra: Any) -> dict[str, Any]:
    base = {"title": {"text": title, "font": {"size": 14}}, "margin": {"l": 48, "r": 12, "t": 36, "b": 40},
            "height": 300, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
            "legend": {"orientation": "h", "y": -0.2}, "font": {"family": "system-ui, sans-serif", "size": 11}}
    base.update(extra)
    return base


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def forecast_figure(series_id: str, history_start: date | None, history: Sequence[float],
                    forecast: dict[str, Any] | None, show_days: int = 84, locale: str = ENGLISH) -> dict[str, Any]:
    """The history behind a forecast, its mean and its central intervals (widest first, so the narrow
    band is drawn over the wide one)."""
    traces: list[dict[str, Any]] = []
    if history_start is not None and len(history):
        first = max(0, len(history) - show_days)
        days = [(history_start + timedelta(days=k)).isoformat() for k in range(first, len(history))]
        traces.append({"type": "scatter", "mode": "lines", "name": gettext(locale, N_("history")), "x": days,
                       "y": [float(v) for v in history[first:]], "line": {"color": "#555", "width": 1.5}})
    if forecast:
        dates = forecast["dates"]
        for i, level in enumerate(sorted(forecast.get("hi", {}), key=float, reverse=True)):
            lo, hi = forecast["lo"][level], forecast["hi"][level]
            if any(v is None or not math.isfinite(v) for v in lo + hi):  # too little history to bound it
                traces.append({"type": "scatter", "x": [], "y": [], "visible": "legendonly",
                               "name": gettext(locale, N_("{level}% interval: too little history to bound"),
                                               level=f"{float(level):g}")})
                continue
            shade = 0.15 + 0.15 * i
            traces.append({"type": "scatter", "mode": "lines", "x": dates + dates[::-1], "y": hi + lo[::-1],
                           "fill": "toself", "fillcolor": f"rgba(47,111,79,{shade:.2f})", "line": {"width": 0},
                           "name": gettext(locale, N_("{level}% interval"), level=f"{float(level):g}"),
                           "hoverinfo": "skip"})
        traces.append({"type": "scatter", "mode": "lines", "name": gettext(locale, N_("forecast ({model})"), model=forecast["model"]), "x": dates,
                       "y": forecast["mean"], "line": {"color": colour(0), "width": 2}})
    title = gettext(locale, N_("demand {series}"), series=series_id)
    return {"data": traces, "layout": layout(title, yaxis={"title": {"text": gettext(locale, N_("units/day"))},
                                                           "rangemode": "tozero"})}


def plan_timeline(production: Iterable[dict[str, Any]], locale: str = ENGLISH) -> dict[str, Any]:
    """A Gantt chart: on each resource, each batch from the day it starts until its output is ready."""
    rows = list(production)
    products = sorted({r["product"] for r in rows})
    traces = []
    for i, product in enumerate(products):
        mine = [r for r in rows if r["product"] == product]
        spans = [max(1, (date.fromisoformat(r["ready"]) - date.fromisoformat(r["day"])).days) * 86_400_000
                 for r in mine]
        traces.append({"type": "bar", "orientation": "h", "name": product, "y": [r["resource"] for r in mine],
                       "base": [r["day"] for r in mine], "x": spans, "marker": {"color": colour(i)},
                       "customdata": [[r["started"], r["output"], r["ready"]] for r in mine],
                       "hovertemplate": "%{y}: " + product + " " + gettext(locale, N_(
                           "from {day}, start {started} → {output} ready {ready}"), day="%{base|%b %d}",
                           started="%{customdata[0]:.0f}", output="%{customdata[1]:.0f}",
                           ready="%{customdata[2]}") + "<extra></extra>"})
    return {"data": traces, "layout": layout(gettext(locale, N_("production timeline per resource")), barmode="overlay",
                                             xaxis={"type": "date"}, yaxis={"automargin": True})}


def production_stack(production: Iterable[dict[str, Any]], locale: str = ENGLISH) -> dict[str, Any]:
    """Output ready per day, stacked by product."""
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in production:
        totals[r["product"]][r["ready"]] += r["output"]
    traces = [{"type": "bar", "name": product, "x": sorted(days), "y": [round(days[d], 3) for d in sorted(days)],
               "marker": {"color": colour(i)}} for i, (product, days) in enumerate(sorted(totals.items()))]
    return {"data": traces, "layout": layout(gettext(locale, N_("output ready per day, by product")), barmode="stack",
                                             yaxis={"title": {"text": gettext(locale, N_("units"))}})}


def utilisation_figure(resources: Iterable[dict[str, Any]], locale: str = ENGLISH) -> dict[str, Any]:
    """Each resource's share of its capacity used per day, with the shadow price of that capacity on hover."""
    by_resource: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        by_resource[r["resource"]].append(r)
    traces = []
    for i, (resource, rows) in enumerate(sorted(by_resource.items())):
        rows.sort(key=lambda r: r["day"])
        traces.append({"type": "scatter", "mode": "lines+markers", "name": resource, "x": [r["day"] for r in rows],
                       "y": [None if r["utilisation"] is None else round(100 * r["utilisation"], 1) for r in rows],
                       "customdata": [r["shadow_price"] for r in rows], "line": {"color": colour(i)},
                       "hovertemplate": resource + " %{x}: " + gettext(locale, N_("{share}% used, shadow price {price}"),
                                                                         share="%{y}", price="%{customdata}")
                       + "<extra></extra>"})
    return {"data": traces, "layout": layout(gettext(locale, N_("utilisation per resource and day")),
                                             yaxis={"title": {"text": gettext(locale, N_("% of capacity"))},
                                                    "range": [0, 105]})}


def shadow_price_figure(resources: Iterable[dict[str, Any]], locale: str = ENGLISH) -> dict[str, Any]:
    """What one more unit of each resource's capacity would add to the margin, per day (zero where slack)."""
    by_resource: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        by_resource[r["resource"]].append(r)
    traces = [{"type": "bar", "name": resource, "x": [r["day"] for r in sorted(rows, key=lambda r: r["day"])],
               "y": [r["shadow_price"] or 0 for r in sorted(rows, key=lambda r: r["day"])],
               "marker": {"color": colour(i)}} for i, (resource, rows) in enumerate(sorted(by_resource.items()))]
    return {"data": traces, "layout": layout(gettext(locale, N_("shadow price of capacity (margin per extra unit)")),
                                             barmode="group")}


def stock_figure(lots: Iterable[Any], locale: str = ENGLISH) -> dict[str, Any]:
    """Stock on hand by the last day it can ship, stacked by product (lots without expiry at the end)."""
    never = gettext(locale, N_("no expiry"))
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for lot in lots:
        totals[lot.product][lot.expires.isoformat() if lot.expires else never] += lot.quantity
    days = sorted({d for per in totals.values() for d in per}, key=lambda d: (d == never, d))
    traces = [{"type": "bar", "name": product, "x": days, "y": [per.get(d, 0) for d in days],
               "marker": {"color": colour(i)}} for i, (product, per) in enumerate(sorted(totals.items()))]
    return {"data": traces, "layout": layout(gettext(locale, N_("stock by expiry")), barmode="stack", xaxis={"type": "category"},
                                             yaxis={"title": {"text": gettext(locale, N_("units"))}})}


def pool_figure(pools: Sequence[dict[str, Any]], locale: str = ENGLISH) -> dict[str, Any]:
    """Open pools: what households have pooled for sure (their minimums), what they might take, and the MOQ."""
    names = [p["label"] for p in pools]
    firm = [float(p["pooled_min"]) for p in pools]
    extra = [max(0.0, float(p["pooled_max"]) - float(p["pooled_min"])) for p in pools]
    traces = [{"type": "bar", "orientation": "h", "name": gettext(locale, N_("pooled (minimums)")), "y": names, "x": firm,
               "marker": {"color": colour(0)}},
              {"type": "bar", "orientation": "h", "name": gettext(locale, N_("up to (maximums)")), "y": names, "x": extra,
               "marker": {"color": "rgba(47,111,79,0.3)"}},
              {"type": "scatter", "mode": "markers", "name": gettext(locale, N_("minimum batch")), "y": names,
               "x": [float(p["moq"]) for p in pools], "marker": {"symbol": "line-ns-open", "size": 22,
                                                                 "color": "#b5473a", "line": {"width": 3}}}]
    return {"data": traces, "layout": layout(gettext(locale, N_("open pools toward their minimum batch")), barmode="stack",
                                             height=max(220, 60 + 36 * len(pools)), yaxis={"automargin": True})}


def traffic_figure(received: Iterable[Any], locale: str = ENGLISH) -> dict[str, Any]:
    """Requests answered lately, per action: ACKed and NACKed."""
    ack: dict[str, int] = defaultdict(int)
    nack: dict[str, int] = defaultdict(int)
    for r in received:
        (ack if r.ack else nack)[r.action] += 1
    actions = sorted(set(ack) | set(nack))
    return {"data": [{"type": "bar", "name": "ACK", "x": actions, "y": [ack[a] for a in actions],
                      "marker": {"color": colour(0)}},
                     {"type": "bar", "name": "NACK", "x": actions, "y": [nack[a] for a in actions],
                      "marker": {"color": colour(3)}}],
            "layout": layout(gettext(locale, N_("requests answered lately")), barmode="stack", height=240)}


def count_figure(title: str, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Stacked counts: ``counts[series][category]``."""
    categories = sorted({c for per in counts.values() for c in per})
    return {"data": [{"type": "bar", "name": name, "x": categories, "y": [per.get(c, 0) for c in categories],
                      "marker": {"color": colour(i)}} for i, (name, per) in enumerate(sorted(counts.items()))],
            "layout": layout(title, barmode="stack", height=240)}
