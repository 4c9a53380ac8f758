"""The producer's catalog in its store, and its rendering as a Beckn ``Catalog``."""

from __future__ import annotations

import json
from decimal import Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.store.tables import capacity_windows, catalog_items, orders


def has_catalog(conn: Connection) -> bool:
    """Whether the catalog was imported already: from then on the store, not the file, is the truth."""
    return conn.execute(select(catalog_items.c.item_id).limit(1)).first() is not None


def replace_catalog(conn: Connection, items: list[CatalogItem]) -> None:
    """The catalog becomes exactly ``items`` (what orders already took of a window stays taken)."""
    conn.execute(delete(capacity_windows))
    conn.execute(delete(catalog_items))
    upsert_items(conn, items)


def sold_by_window(conn: Connection) -> dict[tuple[str, str], float]:
    """What live orders hold of each (item, window): a window's capacity less this is what is left."""
    sold: dict[tuple[str, str], float] = {}
    for status, body in conn.execute(select(orders.c.status, orders.c.body).where(orders.c.side == "sell")):
        if status == "CANCELLED":
            continue
        for item in json.loads(body).get("items") or []:
            window = (item.get("fulfillment_ids") or [None])[0]
            quantity = ((item.get("quantity") or {}).get("selected") or {}).get("measure", {}).get("value")
            if window and quantity is not None:
                key = (item.get("id"), window)
                sold[key] = sold.get(key, 0.0) + float(quantity)
    return sold


def upsert_items(conn: Connection, items: list[CatalogItem]) -> None:
    """Add or replace items; a window's capacity is what it can hold in all, so what is already sold of it is
    taken off (a re-import or an edit never offers again what orders hold)."""
    sold = sold_by_window(conn) if items else {}
    for item in items:
        conn.execute(delete(capacity_windows).where(capacity_windows.c.item_id == item.id))
        conn.execute(delete(catalog_items).where(catalog_items.c.item_id == item.id))
        conn.execute(catalog_items.insert().values(
            item_id=item.id, name=item.name, category=item.category, unit=item.unit,
            price=float(item.price), currency=item.currency, grade=item.grade, sales_terms=sales_terms_json(item),
        ))
        for w in item.windows:
            conn.execute(capacity_windows.insert().values(
                item_id=item.id, window_id=w.id, start=w.start, end=w.end,
                available=max(0.0, w.capacity - sold.get((item.id, w.id), 0.0)),
            ))


def remove_items(conn: Connection, item_ids: list[str]) -> int:
    """Retire items: buyers' next catalog no longer lists them; orders already taken keep their own copy."""
    conn.execute(delete(capacity_windows).where(capacity_windows.c.item_id.in_(item_ids)))
    return int(conn.execute(delete(catalog_items).where(catalog_items.c.item_id.in_(item_ids))).rowcount or 0)


def read_catalog(conn: Connection, item_ids: set[str] | None = None) -> dict[str, CatalogItem]:
    """The whole catalog, or only ``item_ids`` (what an order names: no need to read the rest)."""
    window_query = select(capacity_windows).order_by(capacity_windows.c.start)
    item_query = select(catalog_items).order_by(catalog_items.c.item_id)
    if item_ids is not None:
        window_query = window_query.where(capacity_windows.c.item_id.in_(sorted(item_ids)))
        item_query = item_query.where(catalog_items.c.item_id.in_(sorted(item_ids)))
    windows: dict[str, list[Window]] = {}
    for row in conn.execute(window_query).mappings():
        windows.setdefault(row["item_id"], []).append(Window(row["window_id"], row["start"], row["end"], row["available"]))
    return {
        row["item_id"]: CatalogItem(
            id=row["item_id"], name=row["name"], unit=row["unit"], price=Decimal(str(row["price"])),
            currency=row["currency"], category=row["category"], windows=tuple(windows.get(row["item_id"], [])),
            grade=row["grade"] or "", **sales_terms_from_json(row["sales_terms"]),
        )
        for row in conn.execute(item_query).mappings()
    }


def sales_terms_json(item: CatalogItem) -> str | None:
    if item.bulk_unit is None and not item.moq and not item.tiers and not item.delivery_fixed and not item.delivery_per_unit:
        return None
    return json.dumps({"bulk_unit": None if item.bulk_unit is None else str(item.bulk_unit), "moq": str(item.moq),
                       "tiers": [[str(m), str(p)] for m, p in item.tiers],
                       "delivery_fixed": str(item.delivery_fixed), "delivery_per_unit": str(item.delivery_per_unit)})


def sales_terms_from_json(text: str | None) -> dict:
    if not text:
        return {}
    d = json.loads(text)
    return {"bulk_unit": None if d["bulk_unit"] is None else Decimal(d["bulk_unit"]), "moq": Decimal(d["moq"]),
            "tiers": tuple((Decimal(m), Decimal(p)) for m, p in d["tiers"]),
            "delivery_fixed": Decimal(d["delivery_fixed"]), "delivery_per_unit": Decimal(d["delivery_per_unit"])}


def change_capacity(conn: Connection, item_id: str, window_id: str, delta: float) -> None:
    conn.execute(
        update(capacity_windows)
        .where(capacity_windows.c.item_id == item_id, capacity_windows.c.window_id == window_id)
        .values(available=capacity_windows.c.available + delta)
    )


def matches(item: CatalogItem, intent: dict) -> bool:
    """Does an item answer a search intent (by item id/name text, category, provider)?"""
    wanted = intent.get("item") or {}
    descriptor = wanted.get("descriptor") or {}
    text = " ".join(str(descriptor.get(k, "")) for k in ("name", "code", "short_desc")).strip().lower()
    if wanted.get("id") and wanted["id"] != item.id:
        return False
    if text and text not in item.name.lower() and text not in item.id.lower():
        return False
    category = intent.get("category") or {}
    cat = category.get("id") or (category.get("descriptor") or {}).get("code")
    if cat and cat != item.category:
        return False
    return True
