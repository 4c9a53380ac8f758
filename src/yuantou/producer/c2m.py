"""C2M on a producer node: its own orders become demand series, forecasts, a plan, and capacity offered.

Demand series are per product (catalog item) × region, by delivery day. The region of an
order is the buyer node that placed it (a buyer node serves one community's pickup points),
so a twin's lanes name buyer nodes. History imported from before the node existed is kept
apart (``demand_history``) and added in. Requests for quotes still open (a select or init
without its confirm, e.g. a pool being bought) are demand that is likely but not firm: they
are added to the forecast of their delivery day.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from yuantou.domain.twin import ConfirmedOrder, ForecastDemand, Twin
from yuantou.producer.catalog_store import sales_terms_from_json
from yuantou.producer.twin_files import twin_from_json, twin_to_json
from yuantou.protocol.envelope import fulfillment_state
from yuantou.protocol.json_guard import finite
from yuantou.store.tables import c2m_runs, capacity_windows, catalog_items, demand_history, inbox, orders

CLOSED_STATES = ("Cancelled", "Refused")
HISTORY_YEARS = 20  # how far back imported history and demand series may reach
FUTURE_DAYS = 400  # how far ahead a demand series may be asked to run


def day_bounds(today: date) -> tuple[date, date]:
    """The first and last day a demand series may hold: one request must never make a node build centuries of
    zeros (about 40 bytes a series-day)."""
    return today - timedelta(days=366 * HISTORY_YEARS), today + timedelta(days=FUTURE_DAYS)


def _instant(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def window_day(start: str | None, end: str | None = None, zone: tzinfo = UTC) -> date | None:
    """The day a delivery window belongs to: the date of its middle in ``zone`` (a 06:00-20:00 window in China
    time starts the UTC day before)."""
    first, last = _instant(start), _instant(end)
    if first is None:
        return None
    middle = first + (last - first) / 2 if last is not None and last >= first else first
    return middle.astimezone(zone).date()


def order_lines(order: dict[str, Any], known_windows: dict[str, date | None] | None = None
                ) -> list[tuple[str, float, date | None]]:
    """(item, quantity, delivery day) of a Beckn order as this node stored or received it; a fulfillment
    that names only a window id gets its day from ``known_windows`` (the catalog's)."""
    windows = dict(known_windows or {})
    for f in order.get("fulfillments") or []:
        span = ((f.get("stops") or [{}])[0].get("time") or {}).get("range") or {}
        day = window_day(span.get("start"), span.get("end"))
        if day is not None or f.get("id") not in windows:
            windows[f.get("id")] = day
    out = []
    for item in order.get("items") or []:
        selected = (item.get("quantity") or {}).get("selected") or {}
        raw = selected.get("count", (selected.get("measure") or {}).get("value"))
        try:
            quantity = float(raw)  # type: ignore[arg-type]  # anything a peer sent: what float() refuses is skipped
        except (TypeError, ValueError):
            continue
        window = (item.get("fulfillment_ids") or [None])[0]
        out.append((item.get("id"), quantity, windows.get(window)))
    return out


def confirmed_orders(conn: Connection, twin: Twin | None = None) -> list[ConfirmedOrder]:
    """Every live sale as order lines due on their delivery day (the plan must meet those still ahead)."""
    prices = {p.id: p.price for p in twin.products} if twin else {}
    out = []
    rows = conn.execute(select(orders).where(orders.c.side == "sell")).mappings()
    for row in rows:
        body = json.loads(row["body"])
        if row["status"] in CLOSED_STATES or fulfillment_state(body) in CLOSED_STATES:
            continue
        unit_prices = {i.get("id"): float((i.get("price") or {}).get("value") or 0) for i in body.get("items") or []}
        for n, (item, quantity, day) in enumerate(order_lines(body)):
            if item and day:
                out.append(ConfirmedOrder(f"{row['order_id']}#{n}", item, row["counterparty_id"], day, quantity,
                                          unit_prices.get(item) or prices.get(item, 0.0)))
    return out


def open_requests(conn: Connection) -> list[tuple[str, str, float, date]]:
    """(item, buyer, quantity, day) asked in selects and inits whose transaction has no order yet."""
    ordered = select(orders.c.transaction_id).where(orders.c.side == "sell")
    latest: dict[str, tuple[str, bytes]] = {}  # the body of each open transaction's last request, parsed once
    for row in conn.execute(select(inbox.c.transaction_id, inbox.c.sender_id, inbox.c.body)
                            .where(inbox.c.action.in_(("select", "init")), inbox.c.transaction_id.not_in(ordered))
                            .order_by(inbox.c.id)):
        latest[row.transaction_id] = (row.sender_id, row.body)
    catalog_windows = {r.window_id: window_day(r.start, r.end) for r in conn.execute(select(capacity_windows))}
    out = []
    for buyer, raw in latest.values():
        order = (json.loads(raw).get("message") or {}).get("order") or {}
        for item, quantity, day in order_lines(order, catalog_windows):
            if item and day:
                out.append((item, buyer, quantity, day))
    return out


Totals = dict[tuple[str, str], dict[date, float]]


def demand_totals(conn: Connection, until: date, since: date | None = None) -> Totals:
    """Quantities per (product, region) and day, before ``until`` and not before ``since`` nor ``day_bounds``:
    sales plus imported history, sparse (only days with something)."""
    earliest, _ = day_bounds(datetime.now(UTC).date())
    since = max(since or earliest, earliest)
    totals: Totals = defaultdict(lambda: defaultdict(float))
    for o in confirmed_orders(conn):
        if since <= o.due < until:
            totals[(o.product, o.region)][o.due] += o.quantity
    for row in conn.execute(select(demand_history).where(demand_history.c.day >= since.isoformat(),
                                                         demand_history.c.day < until.isoformat())):
        totals[(row.product, row.region)][date.fromisoformat(row.day)] += row.quantity
    return totals


def series_of(totals: Totals, until: date, ids: slice | None = None) -> tuple[dict[str, np.ndarray], date | None]:
    """Daily series per ``product/region`` on one calendar (from the earliest day of any series up to the day
    before ``until``), zeros where nothing sold; ``ids``: only that slice of the series in id order (a page)."""
    if not totals:
        return {}, None
    first = min(min(days) for days in totals.values())
    length = (until - first).days
    series = {}
    for (product, region), days in sorted(totals.items())[ids or slice(None)]:
        values = np.zeros(length)
        for day, quantity in days.items():
            values[(day - first).days] += quantity
        series[f"{product}/{region}"] = values
    return series, first


def demand_series(conn: Connection, until: date, since: date | None = None) -> tuple[dict[str, np.ndarray], date | None]:
    """Every product/region's daily demand up to the day before ``until`` (``demand_totals``, ``series_of``)."""
    return series_of(demand_totals(conn, until, since), until)


def import_history(conn: Connection, rows: list[tuple[str, str, date, float]]) -> int:
    """Replace imported history for the (product, region, day) cells given (days within ``day_bounds``, checked
    by the caller)."""
    for product, region, day, quantity in rows:
        conn.execute(delete(demand_history).where(demand_history.c.product == product,
                                                  demand_history.c.region == region,
                                                  demand_history.c.day == day.isoformat()))
        conn.execute(demand_history.insert().values(product=product, region=region, day=day.isoformat(),
                                                    quantity=quantity))
    return len(rows)


# -- stored documents: the twin, forecast runs and plans ----------------------------------------

def save_run(conn: Connection, kind: str, status: str, summary: dict[str, Any], body: dict[str, Any],
             run_id: str | None = None) -> str:
    run_id = run_id or f"{kind}-{uuid.uuid4().hex[:12]}"
    conn.execute(delete(c2m_runs).where(c2m_runs.c.run_id == run_id))
    conn.execute(c2m_runs.insert().values(  # never Infinity in a stored run: pages and peers could not read it
        run_id=run_id, kind=kind, status=status, created_at=time.time(),
        summary=json.dumps(finite(summary), allow_nan=False), body=json.dumps(finite(body), allow_nan=False)))
    return run_id


def latest_run(conn: Connection, kind: str) -> dict[str, Any] | None:
    row = conn.execute(select(c2m_runs).where(c2m_runs.c.kind == kind)
                       .order_by(c2m_runs.c.created_at.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    return {"run_id": row["run_id"], "status": row["status"], "created_at": row["created_at"],
            "summary": json.loads(row["summary"]), **json.loads(row["body"])}


def read_twin(conn: Connection) -> Twin | None:
    run = latest_run(conn, "twin")
    return None if run is None else twin_from_json(run["twin"], "stored twin")


def write_twin(conn: Connection, twin: Twin) -> None:
    save_run(conn, "twin", "current", {"resources": len(twin.resources), "products": len(twin.products),
                                       "stock": len(twin.stock), "lanes": len(twin.lanes)},
             {"twin": twin_to_json(twin)}, run_id="twin")


def forecast_records(run: dict[str, Any], extra: list[tuple[str, str, float, date]]) -> list[ForecastDemand]:
    """A stored forecast run as the planner's records, with open requests added to their day's demand."""
    added: dict[tuple[str, str, str], float] = defaultdict(float)
    for item, buyer, quantity, day in extra:
        added[(item, buyer, day.isoformat())] += quantity
    out = []
    for s in run["series"]:
        product, _, region = s["id"].rpartition("/")
        for k, day in enumerate(s["dates"]):
            bump = added.pop((product, region, day), 0.0)
            quantiles = [(0.5, s["mean"][k] + bump)]
            if "quantiles" in s:  # the forecaster's own quantiles (its intervals may start at zero instead)
                quantiles += [(float(p), values[k] + bump) for p, values in s["quantiles"].items()
                              if values[k] is not None]  # None: too little history to bound that quantile
            else:  # a run stored before quantiles were: its intervals are central
                for level in run["levels"]:
                    quantiles += [(p, bound[k] + bump) for p, bound in (
                        ((1 - level / 100) / 2, s["lo"][str(level)]), ((1 + level / 100) / 2, s["hi"][str(level)]))
                        if bound[k] is not None]
            out.append(ForecastDemand(product, region, date.fromisoformat(day), s["mean"][k] + bump,
                                      tuple(sorted(quantiles))))
    return out


@dataclass(frozen=True)
class OfferChange:
    """What publishing the plan does to one item on one local day: the windows it sets (or the one it creates)
    and the capacity they offer before and after."""

    item: str
    day: str  # the producer's local date
    window_ids: tuple[str, ...]
    before: float | None  # None: a new window
    after: float


def publish_changes(conn: Connection, offers: list[dict[str, Any]], zone: tzinfo = UTC) -> list[OfferChange]:
    """The plan's room for new orders as catalog capacity, per item and local day: rounded down to whole bulk
    units (whole units where an item has none), split over that day's windows, or in a new ``plan-<day>`` window
    from the day's local midnight to the next where it has none."""
    bulk: dict[str, Decimal] = {}
    for item_id, terms in conn.execute(select(catalog_items.c.item_id, catalog_items.c.sales_terms)):
        bulk[item_id] = sales_terms_from_json(terms).get("bulk_unit") or Decimal(1)
    per_day: dict[tuple[str, str], float] = defaultdict(float)
    for offer in offers:
        if offer["product"] in bulk:
            per_day[(offer["product"], offer["day"])] += float(offer["quantity"])
    windows: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for row in conn.execute(select(capacity_windows).order_by(capacity_windows.c.start)).mappings():
        local_day = window_day(row["start"], row["end"], zone)
        windows[(row["item_id"], str(local_day))].append((row["window_id"], row["available"]))
    changes = []
    for (item, day), quantity in sorted(per_day.items()):
        step = bulk[item]
        whole = float((Decimal(str(quantity)) / step).to_integral_value(rounding=ROUND_FLOOR) * step)
        found = windows.get((item, day))
        if found:
            changes.append(OfferChange(item, day, tuple(w for w, _ in found), sum(a for _, a in found), whole))
        else:
            changes.append(OfferChange(item, day, (f"plan-{day}",), None, whole))
    return changes


def publish_offers(conn: Connection, offers: list[dict[str, Any]], zone: tzinfo = UTC) -> int:
    """Apply ``publish_changes``; returns how many item-days it set."""
    changes = publish_changes(conn, offers, zone)
    for change in changes:
        if change.before is None:
            start = datetime.combine(date.fromisoformat(change.day), datetime.min.time(), zone)
            conn.execute(capacity_windows.insert().values(
                item_id=change.item, window_id=change.window_ids[0], start=start.isoformat(),
                end=(start + timedelta(days=1)).isoformat(), available=change.after))
            continue
        share = change.after / len(change.window_ids)
        for window_id in change.window_ids:
            conn.execute(capacity_windows.update().where(capacity_windows.c.item_id == change.item,
                                                         capacity_windows.c.window_id == window_id)
                         .values(available=round(share, 6)))
    return len(changes)
