"""The demo's comparison: the figures both markets are judged by, a table of them, and an HTML report
with plots (plotly.js inlined from the package, so the file opens offline) and every assumption."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from yuantou.devnet.sim.run import Replay
from yuantou.web.figures import colour, layout
from yuantou.web.site import SCRIPTS, STATIC

PLATFORM, NETWORK = "central platform", "Yuantou network"

METRICS = [  # (key, label, format, better when higher)
    ("fill_rate", "fill rate (units delivered / asked)", "{:.1%}", True),
    ("units_wasted", "units wasted (past shelf life)", "{:,.0f}", False),
    ("waste_share", "share of production wasted", "{:.1%}", False),
    ("producer_share", "producer share of the consumer's price", "{:.1%}", True),
    ("consumer_unit_price", "consumer price per unit (CNY)", "{:,.2f}", False),
    ("producer_margin", "producers' margin (CNY, after making cost)", "{:,.0f}", True),
]


def rows(replay: Replay) -> list[tuple[str, str, str, str]]:
    """(metric, platform, network, change) for the table and the report."""
    a, b = replay.platform.summary(), replay.network.summary()
    out = []
    for key, label, fmt, _ in METRICS:
        x, y = a[key], b[key]
        if x is None or y is None:
            out.append((label, "—" if x is None else fmt.format(x), "—" if y is None else fmt.format(y), ""))
            continue
        if "%" in fmt:
            change = f"{(y - x) * 100:+.1f} points"
        else:
            change = f"{(y - x) / abs(x):+.1%}" if x else "—"
        out.append((label, fmt.format(x), fmt.format(y), change))
    return out


def assumptions(replay: Replay, extra: dict[str, Any]) -> list[str]:
    m = replay.market
    return [
        f"Demand: {replay.demand.source}. The first {replay.warmup} periods are history both markets' producers "
        f"have seen; the next {replay.days} are replayed.",
        f"The same households in both markets: each region's units of a product in a day are split into "
        f"households asking for 1–{m.max_ask} units (seed {m.seed}).",
        f"Capacity: each product's producer can make {m.capacity_factor:g} × that product's mean daily demand "
        "per day (the same in both markets).",
        f"Prices: each product's platform price is drawn uniformly from {m.price_min:g}–{m.price_max:g} CNY "
        f"(seed {m.seed + 1}); making a unit costs {m.cost_share:.0%} of it in both markets.",
        f"Central platform: takes {m.commission:.0%} of the consumer price; producers keep the rest. Each producer "
        "makes its naive forecast (the orders the platform passed it yesterday) less the stock it holds, up to "
        "capacity. No pooling: every household buys on the day.",
        f"Yuantou network: a producer's own price is what the platform paid it × {1 + m.producer_markup:g} "
        f"(it keeps part of the commission saved); a pool of {m.tier_quantity} units or more pays "
        f"{m.pool_discount:.0%} less; the organiser adds {m.organiser_fee:.0%} for the pickup point.",
        f"{m.pooled_share:.0%} of households pre-order the day before through their organiser's pool; a pool below "
        f"{m.moq} units fails. Pools are bought point to point from the producer, which makes them to order "
        "within its capacity.",
        "The other households, and those whose pool failed or could not be bought, buy on the day from the "
        "producer's own stock at its own price (no organiser fee). Each producer node forecasts that demand "
        f"with its own forecast job, refitted every {extra.get('forecast_every', 7)} days on the on-the-day "
        "sales it has seen (and plans with its plan job, shown on its dashboard); it makes the newsvendor "
        "quantile of the forecast (margin ÷ price), less stock on hand, within the capacity pooled orders left.",
        f"Shelf life: {m.shelf_life} day(s); what is not sold by then is wasted, in both markets. Unmet demand "
        "is lost, not carried over.",
        "Pools, orders, deliveries and ledgers are real: they ran on the nodes listed below, over signed Beckn "
        "messages on 127.0.0.1. The platform baseline runs in the same simulator with no nodes.",
    ]


def _bars(title: str, values: dict[str, float], fmt: str) -> dict[str, Any]:
    return {"data": [{"type": "bar", "x": list(values), "y": list(values.values()),
                      "text": [fmt.format(v) for v in values.values()], "textposition": "auto",
                      "marker": {"color": [colour(1), colour(0)]}}],
            "layout": layout(title, height=260, showlegend=False)}


def figures(replay: Replay) -> list[dict[str, Any]]:
    labels = replay.labels
    pf, nw = replay.platform.series, replay.network.series

    def per_day(series: dict[str, np.ndarray], name: str) -> list[float]:
        return [round(float(v), 3) for v in series[name].sum(axis=1)]

    def fill(series: dict[str, np.ndarray]) -> list[float | None]:
        demand, delivered = series["demand"].sum(axis=1), series["delivered"].sum(axis=1)
        return [round(float(x / y), 4) if y else None for x, y in zip(delivered, demand)]

    a, b = replay.platform.summary(), replay.network.summary()
    products = replay.demand.products
    per_product = {name: [round(float(s["delivered"][:, p].sum() / s["demand"][:, p].sum()), 4)
                          if s["demand"][:, p].sum() else None for p in range(len(products))]
                   for name, s in ((PLATFORM, pf), (NETWORK, nw))}
    line = lambda name, y, i: {"type": "scatter", "mode": "lines", "name": name, "x": labels, "y": y,  # noqa: E731
                               "line": {"color": colour(i)}}
    return [
        {"data": [line(PLATFORM, fill(pf), 1), line(NETWORK, fill(nw), 0)],
         "layout": layout("fill rate per day", yaxis={"tickformat": ".0%", "range": [0, 1.05]})},
        {"data": [{"type": "bar", "name": PLATFORM, "x": labels, "y": per_day(pf, "wasted"), "marker": {"color": colour(1)}},
                  {"type": "bar", "name": NETWORK, "x": labels, "y": per_day(nw, "wasted"), "marker": {"color": colour(0)}}],
         "layout": layout("units wasted per day", barmode="group")},
        {"data": [line("demand", per_day(nw, "demand"), 7), line(f"made, {PLATFORM}", per_day(pf, "produced"), 1),
                  line(f"made, {NETWORK}", per_day(nw, "produced"), 0),
                  {**line("pre-ordered in pools", per_day(nw, "pooled_demand"), 2), "line": {"dash": "dot",
                                                                                              "color": colour(2)}}],
         "layout": layout("demand and production, all products")},
        {"data": [{"type": "bar", "name": name, "x": products, "y": ys, "marker": {"color": colour(i)}}
                  for i, (name, ys) in ((1, (PLATFORM, per_product[PLATFORM])), (0, (NETWORK, per_product[NETWORK])))],
         "layout": layout("fill rate per product", barmode="group", yaxis={"tickformat": ".0%"})},
        _bars("consumer price per unit (CNY)", {PLATFORM: a["consumer_unit_price"] or 0,
                                                 NETWORK: b["consumer_unit_price"] or 0}, "{:.2f}"),
        _bars("producer share of the consumer's price", {PLATFORM: a["producer_share"] or 0,
                                                          NETWORK: b["producer_share"] or 0}, "{:.1%}"),
    ]


def write_report(path: Path, replay: Replay, nodes: list[dict[str, Any]], extra: dict[str, Any]) -> Path:
    """One self-contained HTML file: the table, the plots, the nodes and their ledgers, the assumptions."""
    plotly = (STATIC / SCRIPTS["plotly.js"]).read_text(encoding="utf-8")
    table = "".join(f"<tr><td>{html.escape(m)}</td><td class=num>{x}</td><td class=num>{y}</td>"
                    f"<td class=num>{c}</td></tr>" for m, x, y, c in rows(replay))
    node_rows = "".join(
        f"<tr><td>{html.escape(n['name'])}</td><td>{html.escape(n['role'])}</td><td class=num>{n['entries']:,}</td>"
        f"<td>{html.escape(n['verified'])}</td><td><code>{html.escape(n.get('dashboard', ''))}</code></td></tr>"
        for n in nodes)
    drawn = figures(replay)
    plots = "".join(f'<div class="plot" id="fig{i}"></div>' for i in range(len(drawn)))
    figs = json.dumps(drawn, separators=(",", ":"), default=float)
    pools = replay.pools
    settings = ", ".join(f"{k} = {v}" for k, v in {**replay.market.as_dict(), **extra}.items())
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Yuantou demo: network vs central platform</title>
<style>body{{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#1f2a24}}
table{{border-collapse:collapse;width:100%;margin:1rem 0}}td,th{{border-bottom:1px solid #dfe5e1;padding:.3rem .5rem;text-align:left}}
td.num{{text-align:right;font-variant-numeric:tabular-nums}}.grid{{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1rem}}
.plot{{min-height:300px}}code{{font-size:.8rem}}li{{margin:.3rem 0}}</style>
<script>{plotly}</script></head><body>
<h1>Yuantou demo: the same demand, a network against a central platform</h1>
<p>Generated {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}. {replay.days} days replayed,
{replay.network.total("demand"):,.0f} units asked by households in {len(replay.demand.regions)} regions for
{len(replay.demand.products)} products from {len(set(nodes_of(nodes, "producer")))} producers.</p>
<h2>Comparison</h2>
<table><tr><th>figure</th><th>{PLATFORM}</th><th>{NETWORK}</th><th>change</th></tr>{table}</table>
<p>Pools: {pools['opened']:,} opened, {pools['bought']:,} bought in full, {pools['short']:,} in part
(capacity), {pools['failed']:,} not bought (below the minimum batch, or no capacity left).</p>
<div class="grid">{plots}</div>
<h2>The nodes that ran it</h2>
<table><tr><th>node</th><th>role</th><th>ledger entries</th><th>ledger verified</th><th>dashboard</th></tr>{node_rows}</table>
<h2>Assumptions</h2><ol>{"".join(f"<li>{html.escape(a)}</li>" for a in assumptions(replay, extra))}</ol>
<p><small>Every parameter: {html.escape(settings)}.</small></p>
<script>const figs = {figs};
figs.forEach((f, i) => Plotly.newPlot("fig" + i, f.data, f.layout, {{responsive: true, displaylogo: false}}));</script>
</body></html>"""
    path.write_text(document, encoding="utf-8")
    return path


def nodes_of(nodes: list[dict[str, Any]], role: str) -> list[str]:
    return [n["name"] for n in nodes if n["role"] == role]
