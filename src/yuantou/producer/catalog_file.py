"""Reading a producer's catalog file (JSON or CSV) with errors that name file, row and field."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from yuantou.domain.amounts import AmountError, bounded
from yuantou.domain.catalog import CatalogItem, Window
from yuantou.protocol import json_guard

CSV_COLUMNS = ("item_id", "name", "category", "unit", "price", "currency", "window_id", "window_start", "window_end", "capacity")
# optional CSV columns for pooled buying; tiers as "200:8.0;500:7.6" (from quantity : unit price)
CSV_TERMS_COLUMNS = ("grade", "bulk_unit", "moq", "tiers", "delivery_fixed", "delivery_per_unit")


class CatalogFileError(ValueError):
    """``code`` says what kind of mistake, for a sentence in the reader's language (the console); the message
    names the file, row and field for everyone else."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code

    @property
    def field(self) -> str:
        """The item's field the message names (``price``, ``windows[0].end``, ``tiers[1]``), or ""."""
        found = re.search(r"items\[\d+\]\.([A-Za-z_][\w.\[\]]*):", str(self))
        return found.group(1) if found else ""


# the longest text each field may hold (what the store's columns hold)
MOST = {"id": 128, "name": 500, "unit": 32, "currency": 8, "category": 128, "grade": 64, "window": 128}


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise CatalogFileError(f"{where}: expected an RFC 3339 date-time string", "bad_time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise CatalogFileError(f"{where}: {value!r} is not an RFC 3339 date-time", "bad_time") from None
    if parsed.tzinfo is None:
        raise CatalogFileError(f"{where}: {value!r} has no time zone offset", "bad_time")
    if not 2000 <= parsed.year <= 2199:
        raise CatalogFileError(f"{where}: {value!r} is not between the years 2000 and 2199", "bad_time")
    return parsed


def _number(value: Any, where: str, *, positive: bool = False) -> Decimal:
    """A finite number within ``amounts.bounded`` (``1e999`` or ``inf`` would be stored as Infinity and sent to
    every buyer in the catalog, which they refuse)."""
    try:
        return bounded(value, positive=positive)
    except AmountError as exc:
        raise CatalogFileError(f"{where}: {exc}", "bad_number") from None


def _text(value: Any, where: str, most: int = MOST["name"]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CatalogFileError(f"{where}: must be a non-empty string", "required")
    if len(value.strip()) > most:
        raise CatalogFileError(f"{where}: at most {most} characters", "too_long")
    return value.strip()


def _optional_text(value: Any, where: str, most: int, default: str = "") -> str:
    text = default if value is None or value == "" else value
    if not isinstance(text, str) or len(text) > most:
        raise CatalogFileError(f"{where}: must be a string of at most {most} characters", "too_long")
    return text


def items_from_records(records: list[dict[str, Any]], source: str) -> list[CatalogItem]:
    """Validate catalog records shaped like the JSON file's ``items`` (used by the API too)."""
    items: list[CatalogItem] = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        where = f"{source}: items[{i}]"
        if not isinstance(rec, dict):
            raise CatalogFileError(f"{where}: must be an object")
        item_id = _text(rec.get("id"), f"{where}.id", MOST["id"])
        if item_id in seen:
            raise CatalogFileError(f"{where}.id: duplicate item id {item_id!r}", "duplicate_item")
        seen.add(item_id)
        windows = []
        raw_windows = rec.get("windows", [])
        if not isinstance(raw_windows, list):
            raise CatalogFileError(f"{where}.windows: must be a list")
        for j, w in enumerate(raw_windows):
            ww = f"{where}.windows[{j}]"
            if not isinstance(w, dict):
                raise CatalogFileError(f"{ww}: must be an object")
            if _timestamp(w.get("end"), f"{ww}.end") <= _timestamp(w.get("start"), f"{ww}.start"):
                raise CatalogFileError(f"{ww}: end must be after start", "window_order")
            capacity = float(_number(w.get("capacity", w.get("stock")), f"{ww}.capacity"))
            windows.append(Window(_text(w.get("id"), f"{ww}.id", MOST["window"]), w["start"], w["end"], capacity))
        price = _number(rec.get("price"), f"{where}.price")
        items.append(
            CatalogItem(
                id=item_id,
                name=_text(rec.get("name"), f"{where}.name"),
                unit=_text(rec.get("unit"), f"{where}.unit", MOST["unit"]),
                price=price,
                currency=_optional_text(rec.get("currency"), f"{where}.currency", MOST["currency"], "CNY"),
                category=_optional_text(rec.get("category"), f"{where}.category", MOST["category"]),
                windows=tuple(windows),
                **_sales_terms(rec, where, price),
            )
        )
    return items


def _sales_terms(rec: dict[str, Any], where: str, list_price: Decimal) -> dict[str, Any]:
    """The optional pooled-buying terms of one item record."""
    terms: dict[str, Any] = {"grade": _optional_text(rec.get("grade"), f"{where}.grade", MOST["grade"])}
    if rec.get("bulk_unit") not in (None, ""):
        terms["bulk_unit"] = _number(rec["bulk_unit"], f"{where}.bulk_unit", positive=True)
    if rec.get("moq") not in (None, ""):
        terms["moq"] = _number(rec["moq"], f"{where}.moq")
    raw_tiers = rec.get("tiers") or []
    if not isinstance(raw_tiers, list):
        raise CatalogFileError(f"{where}.tiers: must be a list of {{min_quantity, price}}")
    tiers: list[tuple[Decimal, Decimal]] = []
    for k, tier in enumerate(raw_tiers):
        tw = f"{where}.tiers[{k}]"
        if not isinstance(tier, dict):
            raise CatalogFileError(f"{tw}: must be an object with min_quantity and price")
        minimum = _number(tier.get("min_quantity"), f"{tw}.min_quantity", positive=True)
        tier_price = _number(tier.get("price"), f"{tw}.price", positive=True)
        previous_min, previous_price = tiers[-1] if tiers else (Decimal(0), list_price)
        if minimum <= previous_min or tier_price > previous_price:
            raise CatalogFileError(f"{tw}: tiers must rise in quantity and not rise in price (from the list price)",
                                   "tier_order")
        tiers.append((minimum, tier_price))
    terms["tiers"] = tuple(tiers)
    delivery = rec.get("delivery") or {}
    if not isinstance(delivery, dict):
        raise CatalogFileError(f"{where}.delivery: must be an object with fixed and per_unit")
    terms["delivery_fixed"] = _number(delivery.get("fixed", 0), f"{where}.delivery.fixed")
    terms["delivery_per_unit"] = _number(delivery.get("per_unit", 0), f"{where}.delivery.per_unit")
    return terms


def _csv_tiers(text: str, where: str) -> list[dict[str, str]]:
    tiers = []
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        minimum, sep, price = part.partition(":")
        if not sep:
            raise CatalogFileError(f"{where}: tiers: {part!r} is not MIN_QUANTITY:PRICE")
        tiers.append({"min_quantity": minimum, "price": price})
    return tiers


def _csv_rows(reader: csv.DictReader, path: str) -> list[dict[str, Any]]:
    """Item records from a catalog CSV's rows (one per item and window), from a file or an upload's text."""
    by_item: dict[str, dict[str, Any]] = {}
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogFileError(f"{path}: line 1: missing column(s) {', '.join(missing)}")
    for row in reader:
        where = f"{path}: line {reader.line_num}"
        item_id = (row["item_id"] or "").strip()
        if not item_id:
            raise CatalogFileError(f"{where}: item_id is empty")
        rec = by_item.setdefault(item_id, {
            "id": item_id, "name": row["name"], "category": row["category"], "unit": row["unit"],
            "price": row["price"], "currency": row["currency"], "windows": [],
            "grade": row.get("grade"), "bulk_unit": row.get("bulk_unit"), "moq": row.get("moq"),
            "tiers": _csv_tiers(row.get("tiers") or "", where),
            "delivery": {"fixed": row.get("delivery_fixed") or 0, "per_unit": row.get("delivery_per_unit") or 0},
        })
        if rec["price"] != row["price"] or rec["unit"] != row["unit"]:
            raise CatalogFileError(f"{where}: item {item_id!r} repeats with a different price or unit")
        try:
            _number(row["price"], "price")
            _number(row["capacity"], "capacity")
        except CatalogFileError as exc:
            raise CatalogFileError(f"{where}: {exc}") from None
        rec["windows"].append({"id": row["window_id"], "start": row["window_start"],
                               "end": row["window_end"], "capacity": row["capacity"]})
    return list(by_item.values())


def catalog_from_text(text: str, name: str) -> tuple[dict[str, str], list[CatalogItem]]:
    """A catalog file's content (an upload), JSON or CSV by its name; errors name the file, line and field."""
    if name.lower().endswith(".csv"):
        return {}, items_from_records(_csv_rows(csv.DictReader(io.StringIO(text, newline="")), name), name)
    try:
        data = json_guard.document(text)
    except json_guard.JsonProblem as problem:
        raise CatalogFileError(f"{name}: {problem.message}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise CatalogFileError(f"{name}: expected an object with an 'items' list")
    provider = data.get("provider") or {}
    return {k: str(v) for k, v in provider.items()}, items_from_records(data["items"], name)


def item_record(item: CatalogItem) -> dict[str, Any]:
    """An item as the catalog file writes it (``items_from_records`` reads it back to the same item)."""
    record: dict[str, Any] = {
        "id": item.id, "name": item.name, "category": item.category, "unit": item.unit, "price": str(item.price),
        "currency": item.currency, "grade": item.grade,
        "windows": [{"id": w.id, "start": w.start, "end": w.end, "capacity": w.capacity} for w in item.windows],
        "tiers": [{"min_quantity": str(q), "price": str(p)} for q, p in item.tiers],
        "delivery": {"fixed": str(item.delivery_fixed), "per_unit": str(item.delivery_per_unit)},
    }
    if item.bulk_unit is not None:
        record["bulk_unit"] = str(item.bulk_unit)
    if item.moq:
        record["moq"] = str(item.moq)
    return record


def load_catalog_file(path: Path) -> tuple[dict[str, str], list[CatalogItem]]:
    """Return (provider descriptor, items) from a ``.json`` or ``.csv`` catalog file."""
    path = Path(path)
    if not path.exists():
        raise CatalogFileError(f"{path}: catalog file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogFileError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return catalog_from_text(text, str(path))
