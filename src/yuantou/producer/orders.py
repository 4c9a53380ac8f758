"""What a producer node answers to each Beckn request (the BPP side).

Each handler runs inside the transaction that marks the request processed and
queues its callback, so a request is answered exactly once even across crashes.
Business refusals are returned as ``BecknError`` and travel in the callback's
``error`` object (BECKN-005 codes).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.domain.amounts import AmountError, bounded
from yuantou.domain.catalog import CatalogProblem, Line, QuotedLine, quote_lines, total
from yuantou.domain.fulfilment import CANCELLED, REFUSED, check_move
from yuantou.producer.catalog_store import change_capacity, matches, read_catalog
from yuantou.protocol import envelope as env
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.profile import catalog_json, fmt, window_json
from yuantou.store.settings import read_setting
from yuantou.store.tables import orders

AUTO_ACCEPT = "auto_accept"  # setting: a confirmed order starts Accepted (the console's switch)
PROBLEM_CODES = {
    "unknown_item": env.ITEM_NOT_FOUND,
    "unknown_window": env.FULFILLMENT_UNAVAILABLE,
    "closed_window": env.BUSINESS_ERROR,
    "over_capacity": env.ITEM_QUANTITY_UNAVAILABLE,
    "bad_quantity": env.BUSINESS_ERROR,
    "not_bulk_multiple": env.ITEM_QUANTITY_UNAVAILABLE,
    "below_moq": env.ITEM_QUANTITY_UNAVAILABLE,
}

@dataclass(frozen=True)
class Provider:
    id: str
    name: str
    support_email: str | None = None
    place: str | None = None  # where it is, in words: shown to households as the source


def _problem(exc: CatalogProblem) -> BecknError:
    return BecknError(PROBLEM_CODES[exc.kind], exc.message, exc.path)


def _quantity(item: dict[str, Any], path: str) -> Decimal:
    selected = ((item.get("quantity") or {}).get("selected")) or {}
    raw = selected.get("count")
    if raw is None:
        raw = (selected.get("measure") or {}).get("value")
    if raw is None:
        raise BecknError(env.INVALID_REQUEST, "no selected quantity", f"{path}.quantity.selected")
    try:
        return bounded(raw, positive=True)
    except AmountError as exc:
        raise BecknError(env.INVALID_REQUEST, f"quantity: {exc}", f"{path}.quantity.selected") from None


def order_lines(order: dict[str, Any]) -> list[Line]:
    """The lines a BAP asks for: items with quantities and their fulfillment window."""
    items = order.get("items") or []
    if not items:
        raise BecknError(env.INVALID_REQUEST, "the order has no items", "$.message.order.items")
    default_window = next((f.get("id") for f in order.get("fulfillments") or [] if f.get("id")), None)
    lines = []
    for i, item in enumerate(items):
        path = f"$.message.order.items[{i}]"
        if not item.get("id"):
            raise BecknError(env.INVALID_REQUEST, "item without id", f"{path}.id")
        window = (item.get("fulfillment_ids") or [default_window])[0]
        lines.append(Line(item["id"], _quantity(item, path), window))
    return lines


def _quote(conn: Connection, order: dict[str, Any], provider: Provider) -> list[QuotedLine]:
    wanted_provider = (order.get("provider") or {}).get("id")
    if wanted_provider and wanted_provider != provider.id:
        raise BecknError(env.PROVIDER_NOT_FOUND, f"provider {wanted_provider!r} is not served here", "$.message.order.provider.id")
    try:
        lines = order_lines(order)
        return quote_lines(read_catalog(conn, {line.item_id for line in lines}), lines, time.time())
    except CatalogProblem as exc:
        raise _problem(exc) from None


def _order_json(lines: list[QuotedLine], provider: Provider, request_order: dict[str, Any]) -> dict[str, Any]:
    currency = lines[0].item.currency
    windows = {line.window.id: line.window for line in lines}
    fulfillments = []
    requested = {f.get("id"): f for f in request_order.get("fulfillments") or []}
    for window in windows.values():
        f = window_json(window)
        stops = (requested.get(window.id) or {}).get("stops")
        if stops:  # keep where the buyer wants it delivered
            f["stops"] = f["stops"] + [s for s in stops if s.get("location")]
        fulfillments.append(f)
    order: dict[str, Any] = {
        "provider": {"id": provider.id, "descriptor": {"name": provider.name}},
        "items": [
            {
                "id": line.item.id,
                "descriptor": {"name": line.item.name},
                "fulfillment_ids": [line.window.id],
                "price": {"currency": currency, "value": fmt(line.unit_price)},
                "quantity": {"selected": {"measure": {"unit": line.item.unit, "value": fmt(line.quantity)}}},
            }
            for line in lines
        ],
        "fulfillments": fulfillments,
        "quote": {
            "price": {"currency": currency, "value": fmt(total(lines))},
            "breakup": [
                {"item": {"id": line.item.id}, "title": f"{line.item.name} × {fmt(line.quantity)} {line.item.unit}",
                 "price": {"currency": currency, "value": fmt(line.amount)}}
                for line in lines
            ],
            "ttl": "PT15M",
        },
    }
    if request_order.get("tags"):  # e.g. the Yuantou pool an order serves: kept with the order
        order["tags"] = request_order["tags"]
    return order


def on_search(conn: Connection, message: dict, provider: Provider, **_: Any) -> dict:
    intent = message.get("intent") or {}
    items = [item for item in read_catalog(conn).values() if matches(item, intent)]
    return {"catalog": catalog_json(provider.id, provider.name, items, provider.place)}


def on_select(conn: Connection, message: dict, provider: Provider, **_: Any) -> dict:
    order = message.get("order") or {}
    return {"order": _order_json(_quote(conn, order, provider), provider, order)}


def on_init(conn: Connection, message: dict, provider: Provider, **_: Any) -> dict:
    order = message.get("order") or {}
    answer = _order_json(_quote(conn, order, provider), provider, order)
    if order.get("billing"):
        answer["billing"] = order["billing"]
    answer["payments"] = order.get("payments") or [
        {"type": "ON-FULFILLMENT", "status": "NOT-PAID", "collected_by": "BPP"}
    ]
    return {"order": answer}


def on_confirm(conn: Connection, message: dict, provider: Provider, context: dict, **_: Any) -> dict:
    order = message.get("order") or {}
    lines = _quote(conn, order, provider)
    quoted = ((order.get("quote") or {}).get("price") or {}).get("value")
    try:
        quoted_value = None if quoted is None else bounded(quoted)
    except AmountError as exc:
        raise BecknError(env.INVALID_REQUEST, f"quote: {exc}", "$.message.order.quote.price.value") from None
    if quoted_value is not None and quoted_value != total(lines):
        raise BecknError(env.QUOTE_UNAVAILABLE, f"quoted {quoted} but the price is now {fmt(total(lines))}",
                         "$.message.order.quote.price.value")
    for line in lines:
        change_capacity(conn, line.item.id, line.window.id, -float(line.quantity))
    answer = _order_json(lines, provider, order)
    now = env.now_iso()
    answer.update(
        id=str(uuid.uuid4()), status="ACTIVE", created_at=now, updated_at=now,
        billing=order.get("billing") or {}, payments=order.get("payments")
        or [{"type": "ON-FULFILLMENT", "status": "NOT-PAID", "collected_by": "BPP"}],
    )
    first = "Accepted" if read_setting(conn, AUTO_ACCEPT, False) else "Pending"  # confirmed within capacity only
    for f in answer["fulfillments"]:
        f["state"] = {"descriptor": {"code": first}, "updated_at": now}
    stamp = time.time()
    conn.execute(orders.insert().values(
        order_id=answer["id"], side="sell", transaction_id=context["transaction_id"],
        counterparty_id=context["bap_id"], status="ACTIVE", body=json.dumps(answer),
        created_at=stamp, updated_at=stamp,
    ))
    return {"order": answer}


def load_order(conn: Connection, order_id: str, bap_id: str | None = None) -> dict:
    row = conn.execute(select(orders).where(orders.c.order_id == order_id, orders.c.side == "sell")).mappings().first()
    if row is None or (bap_id is not None and row["counterparty_id"] != bap_id):
        raise BecknError(env.ORDER_NOT_FOUND, f"order {order_id!r} not found", "$.message.order_id")
    return json.loads(row["body"])


def save_order(conn: Connection, order: dict) -> None:
    conn.execute(update(orders).where(orders.c.order_id == order["id"]).values(
        status=order["status"], body=json.dumps(order), updated_at=time.time()))


def on_status(conn: Connection, message: dict, context: dict, **_: Any) -> dict:
    return {"order": load_order(conn, message.get("order_id", ""), context["bap_id"])}


def cancel_order(conn: Connection, order: dict, by: str, reason: str, state: str = "Cancelled",
                 reason_id: str | None = None) -> dict:
    """Cancel an order and give its capacity back; a completed order cannot be cancelled. ``reason_id``: the
    buyer's ``cancellation_reason_id``, kept as the reason's ``id`` (an ``Option``), its words as its name."""
    if order["status"] == "CANCELLED":
        return order
    if order["status"] == "COMPLETE":
        raise BecknError(env.CANCELLATION_NOT_POSSIBLE, "the order is already complete", "$.message.order_id")
    for item in order["items"]:
        qty = float(item["quantity"]["selected"]["measure"]["value"])
        change_capacity(conn, item["id"], item["fulfillment_ids"][0], qty)
    now = env.now_iso()
    order["status"] = "CANCELLED"
    order["updated_at"] = now
    order["cancellation"] = {"time": now, "cancelled_by": by,
                             "reason": {**({"id": reason_id} if reason_id else {}), "descriptor": {"name": reason}}}
    for f in order["fulfillments"]:
        f["state"] = {"descriptor": {"code": state}, "updated_at": now}
    save_order(conn, order)
    return order


def on_cancel(conn: Connection, message: dict, context: dict, **_: Any) -> dict:
    order = load_order(conn, message.get("order_id", ""), context["bap_id"])
    reason_id = message.get("cancellation_reason_id")
    reason = ((message.get("descriptor") or {}).get("name")) or "cancelled by buyer"
    return {"order": cancel_order(conn, order, "CONSUMER", reason, reason_id=reason_id)}


def on_track(conn: Connection, message: dict, context: dict, **_: Any) -> dict:
    load_order(conn, message.get("order_id", ""), context["bap_id"])
    raise BecknError(env.TRACKING_NOT_SUPPORTED, "live tracking is not offered; use status", "$.message.order_id")


def on_update(conn: Connection, message: dict, context: dict, **_: Any) -> dict:
    order_id = (message.get("order") or {}).get("id", "")
    load_order(conn, order_id, context["bap_id"])
    raise BecknError(env.UPDATION_NOT_POSSIBLE, "orders cannot be changed after confirmation; cancel and reorder",
                     "$.message.update_target")


def on_rating(conn: Connection, message: dict, **_: Any) -> dict:
    return {}


def on_support(conn: Connection, message: dict, provider: Provider, **_: Any) -> dict:
    support: dict[str, Any] = {"ref_id": message.get("support", {}).get("ref_id") or provider.id}
    if provider.support_email:
        support["email"] = provider.support_email
    return {"support": support}


Handler = Callable[..., dict[str, Any]]  # (conn, message, *, provider, context) -> the callback's message
HANDLERS: dict[str, Handler] = {
    "search": on_search, "select": on_select, "init": on_init, "confirm": on_confirm,
    "status": on_status, "cancel": on_cancel, "track": on_track, "update": on_update,
    "rating": on_rating, "support": on_support,
}


def advance_fulfillment(conn: Connection, order_id: str, state: str, reason: str = "") -> dict:
    """A producer moves an order along (Accepted, Packed, Shipped, Delivered) or refuses it (``reason``: why, for
    the buyer), as ``domain.fulfilment`` allows; a move it does not allow raises ``MoveRefused``."""
    order = load_order(conn, order_id)
    current = env.fulfillment_state(order) or "Pending"
    if order["status"] == "CANCELLED" and current not in (REFUSED, CANCELLED):
        current = CANCELLED
    check_move(current, state, reason)  # MoveRefused: nothing changed
    if state == REFUSED:
        return cancel_order(conn, order, "PROVIDER", reason.strip() or "refused by the producer", REFUSED)
    now = env.now_iso()
    for f in order["fulfillments"]:
        f["state"] = {"descriptor": {"code": state}, "updated_at": now}
    if state == "Delivered":
        order["status"] = "COMPLETE"
    order["updated_at"] = now
    save_order(conn, order)
    return order
