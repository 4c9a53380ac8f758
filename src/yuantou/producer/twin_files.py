"""The capacity twin as files: one JSON document, or a folder of CSV tables.

JSON: ``{"resources": [...], "products": [...], "stock": [...], "lanes": [...]}`` with the
field names of ``domain.twin`` (``yield`` for the yield); errors name the file and the path
(``twin.json: products[2].yield: ...``). CSV: ``resources.csv`` (id, name, unit, capacity,
weekly as ``8;8;8;8;8;0;0``), ``calendar.csv`` (resource, date, capacity), ``products.csv``,
``routings.csv`` (product, resource, use, setup_time), ``stock.csv`` and ``lanes.csv``; errors
name the file, the line and the column. Only resources.csv and products.csv must exist.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from yuantou.domain.twin import Lane, Product, Resource, Routing, StockLot, Twin, TwinError
from yuantou.protocol import json_guard

CSV_TABLES = {
    "resources": ("id", "name", "unit", "capacity", "weekly"),
    "calendar": ("resource", "date", "capacity"),
    "products": ("id", "name", "unit", "price", "unit_cost", "setup_cost", "min_batch", "yield", "lead_time",
                 "shelf_life", "holding_cost", "disposal_cost"),
    "routings": ("product", "resource", "use", "setup_time"),
    "stock": ("id", "product", "quantity", "expires"),
    "lanes": ("region", "cost_per_unit", "days", "capacity"),
}
REQUIRED_CSV = ("resources", "products")
# the keys a JSON twin's records take: the CSV tables' columns, with a resource's calendar and a product's
# routings nested in it
JSON_KEYS = {
    "resources": (*CSV_TABLES["resources"], "calendar"), "products": (*CSV_TABLES["products"], "routings"),
    "routings": ("resource", "use", "setup_time"), "stock": CSV_TABLES["stock"], "lanes": CSV_TABLES["lanes"],
}


def _known_keys(record: dict[str, Any], section: str, where: str) -> None:
    """A key the twin does not know is named, never ignored: ``shelf_lfe`` silently meant no shelf life."""
    unknown = [key for key in record if key not in JSON_KEYS[section]]
    if unknown:
        raise TwinError(f"{where}.{unknown[0]}: unknown key (a {section} record takes "
                        f"{', '.join(JSON_KEYS[section])})")


@dataclass
class _Fields:
    """One record's fields, read with errors that say where."""

    record: dict[str, Any]
    where: str  # "twin.json: products[2]" or "products.csv: line 4"
    joiner: str  # "." for JSON paths, ": " for CSV columns

    def _at(self, name: str) -> str:
        return f"{self.where}{self.joiner}{name}"

    def _raw(self, name: str) -> Any:
        value = self.record.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def text(self, name: str, default: str | None = None) -> str:
        value = self._raw(name)
        if value is None:
            if default is None:
                raise TwinError(f"{self._at(name)}: missing")
            return default
        if not isinstance(value, str):
            raise TwinError(f"{self._at(name)}: should be text, found {value!r}")
        return value.strip()

    def number(self, name: str, default: float | None = None, *, positive: bool = False,
               at_most: float | None = None, whole: bool = False) -> float:
        value = self._raw(name)
        if value is None:
            if default is None:
                raise TwinError(f"{self._at(name)}: missing")
            return default
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise TwinError(f"{self._at(name)}: should be a number, found {value!r}")
        if number < 0 or (positive and number == 0) or (at_most is not None and number > at_most):
            bounds = f"{'above 0' if positive else '0 or more'}{f' and at most {at_most:g}' if at_most is not None else ''}"
            raise TwinError(f"{self._at(name)}: should be {bounds}, found {value!r}")
        if whole and number != int(number):
            raise TwinError(f"{self._at(name)}: should be a whole number of days, found {value!r}")
        return number

    def optional_number(self, name: str, **kwargs: Any) -> float | None:
        return None if self._raw(name) is None else self.number(name, **kwargs)

    def day(self, name: str) -> date:
        found = self.optional_day(name)
        if found is None:
            raise TwinError(f"{self._at(name)}: missing")
        return found

    def optional_day(self, name: str) -> date | None:
        value = self._raw(name)
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise TwinError(f"{self._at(name)}: should be a date like 2026-12-01, found {value!r}") from None

    def weekly(self, name: str) -> tuple[float, ...] | None:
        value = self._raw(name)
        if value is None:
            return None
        parts = value.split(";") if isinstance(value, str) else value
        if not isinstance(parts, list | tuple) or len(parts) != 7:
            raise TwinError(f"{self._at(name)}: should list 7 capacities, Monday to Sunday, found {value!r}")
        return tuple(_Fields({"day": part}, self._at(name), f"[{i}]").number("day") for i, part in enumerate(parts))


def _resource(f: _Fields, calendar: dict[date, float]) -> Resource:
    rid = f.text("id")
    return Resource(id=rid, name=f.text("name", rid), unit=f.text("unit", "h"), capacity=f.number("capacity", 0.0),
                    weekly=f.weekly("weekly"), calendar=calendar)


def _product(f: _Fields, routings: tuple[Routing, ...]) -> Product:
    pid = f.text("id")
    shelf = f.optional_number("shelf_life", positive=True, whole=True)
    return Product(
        id=pid, name=f.text("name", pid), unit=f.text("unit", "unit"), price=f.number("price"),
        unit_cost=f.number("unit_cost", 0.0), routings=routings, setup_cost=f.number("setup_cost", 0.0),
        min_batch=f.number("min_batch", 0.0), yield_=f.number("yield", 1.0, positive=True, at_most=1.0),
        lead_time=int(f.number("lead_time", 0.0, whole=True)), shelf_life=None if shelf is None else int(shelf),
        holding_cost=f.number("holding_cost", 0.0), disposal_cost=f.number("disposal_cost", 0.0))


def _routing(f: _Fields) -> Routing:
    return Routing(resource=f.text("resource"), use=f.number("use", positive=True),
                   setup_time=f.number("setup_time", 0.0))


def _lot(f: _Fields) -> StockLot:
    return StockLot(id=f.text("id"), product=f.text("product"), quantity=f.number("quantity"),
                    expires=f.optional_day("expires"))


def _lane(f: _Fields) -> Lane:
    return Lane(region=f.text("region"), cost_per_unit=f.number("cost_per_unit", 0.0),
                days=int(f.number("days", 0.0, whole=True)), capacity=f.optional_number("capacity"))


def _consistent(twin_parts: dict[str, Any], source: str) -> Twin:
    try:
        return Twin(**twin_parts)
    except TwinError as exc:
        raise TwinError(f"{source}: {exc}") from None


def twin_from_json(document: Any, source: str = "twin.json") -> Twin:
    """A twin from the JSON document's parsed value (the API's body is the same document)."""
    if not isinstance(document, dict):
        raise TwinError(f"{source}: should be an object with resources, products, stock and lanes")
    unknown = set(document) - {"resources", "products", "stock", "lanes"}
    if unknown:
        raise TwinError(f"{source}: unknown section {sorted(unknown)[0]!r} (expected resources, products, stock, lanes)")

    def records(section: str) -> list[_Fields]:
        value = document.get(section) or []
        if not isinstance(value, list):
            raise TwinError(f"{source}: {section}: should be a list")
        out = []
        for i, rec in enumerate(value):
            if not isinstance(rec, dict):
                raise TwinError(f"{source}: {section}[{i}]: should be an object")
            _known_keys(rec, section, f"{source}: {section}[{i}]")
            out.append(_Fields(rec, f"{source}: {section}[{i}]", "."))
        return out

    resources = []
    for f in records("resources"):
        raw = f.record.get("calendar") or {}
        if not isinstance(raw, dict):
            raise TwinError(f"{f.where}.calendar: should map dates to capacities")
        calendar: dict[date, float] = {}
        for key, value in raw.items():
            entry = _Fields({"date": key, "capacity": value}, f"{f.where}.calendar[{key!r}]", ".")
            calendar[entry.day("date")] = entry.number("capacity")
        resources.append(_resource(f, calendar))
    products = []
    for f in records("products"):
        raw = f.record.get("routings") or []
        if not isinstance(raw, list):
            raise TwinError(f"{f.where}.routings: should be a list")
        routings = []
        for j, rec in enumerate(raw):
            if not isinstance(rec, dict):
                raise TwinError(f"{f.where}.routings[{j}]: should be an object")
            _known_keys(rec, "routings", f"{f.where}.routings[{j}]")
            routings.append(_routing(_Fields(rec, f"{f.where}.routings[{j}]", ".")))
        products.append(_product(f, tuple(routings)))
    return _consistent({"resources": tuple(resources), "products": tuple(products),
                        "stock": tuple(_lot(f) for f in records("stock")),
                        "lanes": tuple(_lane(f) for f in records("lanes"))}, source)


def _csv_records(path: Path, table: str) -> list[_Fields]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TwinError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_TABLES[table]]
    if unknown:
        raise TwinError(f"{path.name}: line 1: unknown column {unknown[0]!r} (expected {', '.join(CSV_TABLES[table])})")
    out = []
    for row in reader:
        if None in row:
            raise TwinError(f"{path.name}: line {reader.line_num}: more fields than the header has columns")
        if all(not (v or "").strip() for v in row.values()):
            continue
        out.append(_Fields(row, f"{path.name}: line {reader.line_num}", ": "))
    return out


def twin_from_csv(folder: Path) -> Twin:
    """A twin from a folder of CSV tables."""
    missing = [t for t in REQUIRED_CSV if not (folder / f"{t}.csv").exists()]
    if missing:
        raise TwinError(f"{folder}: {missing[0]}.csv is missing (a CSV twin needs {' and '.join(REQUIRED_CSV)}.csv)")
    tables = {t: _csv_records(folder / f"{t}.csv", t) if (folder / f"{t}.csv").exists() else [] for t in CSV_TABLES}
    calendars: dict[str, dict[date, float]] = {}
    for f in tables["calendar"]:
        calendars.setdefault(f.text("resource"), {})[f.day("date")] = f.number("capacity")
    routings: dict[str, list[Routing]] = {}
    for f in tables["routings"]:
        routings.setdefault(f.text("product"), []).append(_routing(f))
    resources = tuple(_resource(f, calendars.get(f.text("id"), {})) for f in tables["resources"])
    known = {r.id for r in resources}
    for f in tables["calendar"]:
        if f.text("resource") not in known:
            raise TwinError(f"{f.where}: resource: unknown resource {f.text('resource')!r}")
    products = tuple(_product(f, tuple(routings.get(f.text("id"), []))) for f in tables["products"])
    known_products = {p.id for p in products}
    for f in tables["routings"]:
        if f.text("product") not in known_products:
            raise TwinError(f"{f.where}: product: unknown product {f.text('product')!r}")
    return _consistent({"resources": resources, "products": products,
                        "stock": tuple(_lot(f) for f in tables["stock"]),
                        "lanes": tuple(_lane(f) for f in tables["lanes"])}, str(folder))


def load_twin(path: Path) -> Twin:
    """A twin from a JSON file or a folder of CSV tables."""
    if path.is_dir():
        return twin_from_csv(path)
    if not path.exists():
        raise TwinError(f"{path}: no such file or folder")
    try:
        document = json_guard.document(path.read_text(encoding="utf-8"))
    except json_guard.JsonProblem as problem:
        raise TwinError(f"{path.name}: {problem.message}") from None
    except UnicodeDecodeError as exc:
        raise TwinError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return twin_from_json(document, path.name)


def twin_to_json(twin: Twin) -> dict[str, Any]:
    """The JSON document ``twin_from_json`` reads back to the same twin."""
    def drop_defaults(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if v is not None and v != {} and v != []}

    return {
        "resources": [drop_defaults({
            "id": r.id, "name": r.name, "unit": r.unit, "capacity": r.capacity,
            "weekly": list(r.weekly) if r.weekly else None,
            "calendar": {d.isoformat(): c for d, c in sorted(r.calendar.items())}}) for r in twin.resources],
        "products": [drop_defaults({
            "id": p.id, "name": p.name, "unit": p.unit, "price": p.price, "unit_cost": p.unit_cost,
            "setup_cost": p.setup_cost, "min_batch": p.min_batch, "yield": p.yield_, "lead_time": p.lead_time,
            "shelf_life": p.shelf_life, "holding_cost": p.holding_cost, "disposal_cost": p.disposal_cost,
            "routings": [{"resource": r.resource, "use": r.use, "setup_time": r.setup_time} for r in p.routings]})
            for p in twin.products],
        "stock": [drop_defaults({"id": s.id, "product": s.product, "quantity": s.quantity,
                                 "expires": s.expires.isoformat() if s.expires else None}) for s in twin.stock],
        "lanes": [drop_defaults({"region": lane.region, "cost_per_unit": lane.cost_per_unit, "days": lane.days,
                                 "capacity": lane.capacity}) for lane in twin.lanes],
    }


def save_twin(twin: Twin, path: Path) -> None:
    """Write the twin as JSON (a ``.json`` path) or as a folder of CSV tables (any other path)."""
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(twin_to_json(twin), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return
    path.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[list[Any]]] = {
        "resources": [[r.id, r.name, r.unit, r.capacity, ";".join(f"{c:g}" for c in r.weekly) if r.weekly else ""]
                      for r in twin.resources],
        "calendar": [[r.id, d.isoformat(), c] for r in twin.resources for d, c in sorted(r.calendar.items())],
        "products": [[p.id, p.name, p.unit, p.price, p.unit_cost, p.setup_cost, p.min_batch, p.yield_, p.lead_time,
                      "" if p.shelf_life is None else p.shelf_life, p.holding_cost, p.disposal_cost]
                     for p in twin.products],
        "routings": [[p.id, r.resource, r.use, r.setup_time] for p in twin.products for r in p.routings],
        "stock": [[s.id, s.product, s.quantity, s.expires.isoformat() if s.expires else ""] for s in twin.stock],
        "lanes": [[lane.region, lane.cost_per_unit, lane.days, "" if lane.capacity is None else lane.capacity]
                  for lane in twin.lanes],
    }
    for table, columns in CSV_TABLES.items():
        with (path / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows(rows[table])
