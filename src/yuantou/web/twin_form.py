"""A capacity twin's record as a form shows it, and back: one form per section (resources, products, stock lots,
lanes), with a resource's calendar and a product's routings as lines of text. The record then goes through the
twin file's own reader (``ProducerService.edit_twin``), so a form takes exactly what a file would."""

from __future__ import annotations

import re
from typing import Any

FIELDS = {
    "resources": ("id", "name", "unit", "capacity", "weekly", "calendar"),
    "products": ("id", "name", "unit", "price", "unit_cost", "setup_cost", "min_batch", "yield", "lead_time",
                 "shelf_life", "holding_cost", "disposal_cost", "routings"),
    "stock": ("id", "product", "quantity", "expires"),
    "lanes": ("region", "cost_per_unit", "days", "capacity"),
}
LINES = ("calendar", "routings")  # fields typed as one entry per line
KEY = {"resources": "id", "products": "id", "stock": "id", "lanes": "region"}


class TwinFormProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def form_from_record(section: str, record: dict[str, Any]) -> dict[str, str]:
    form = {name: _plain(record.get(name)) for name in FIELDS[section] if name not in LINES}
    if record.get("weekly"):
        form["weekly"] = ", ".join(_plain(v) for v in record["weekly"])
    if section == "resources":
        form["calendar"] = "\n".join(f"{day} {_plain(c)}" for day, c in (record.get("calendar") or {}).items())
    if section == "products":
        form["routings"] = "\n".join(f"{r['resource']} {_plain(r['use'])}"
                                     + (f" {_plain(r['setup_time'])}" if r.get("setup_time") else "")
                                     for r in record.get("routings") or [])
    return form


def record_from_form(section: str, form: dict[str, str]) -> dict[str, Any]:
    """The twin file's record (empty fields left out, so the reader's defaults apply)."""
    record: dict[str, Any] = {name: form.get(name, "").strip() for name in FIELDS[section]
                              if name not in LINES and form.get(name, "").strip()}
    if "weekly" in record:
        record["weekly"] = [part.strip() for part in re.split(r"[,;\s]+", record["weekly"]) if part.strip()]
    if section == "resources":
        calendar = {}
        for n, line in enumerate(filter(None, (line.strip() for line in form.get("calendar", "").splitlines())), 1):
            parts = line.split()
            if len(parts) != 2:
                raise TwinFormProblem("calendar", f"calendar, line {n}: {line!r} should read DATE CAPACITY")
            calendar[parts[0]] = parts[1]
        record["calendar"] = calendar
    if section == "products":
        routings = []
        for n, line in enumerate(filter(None, (line.strip() for line in form.get("routings", "").splitlines())), 1):
            parts = line.split()
            if len(parts) not in (2, 3):
                raise TwinFormProblem("routings", f"routings, line {n}: {line!r} should read RESOURCE USE [SETUP]")
            routings.append(dict(zip(("resource", "use", "setup_time"), parts, strict=False)))
        record["routings"] = routings
    return record


def field_of(message: str, section: str) -> str:
    """The form field a twin error names (``…products[0].yield: …`` → ``yield``; calendar and routings whole)."""
    found = re.search(rf"{section}\[\d+\][.:]\s?(\w+)", message)
    name = found.group(1) if found else ""
    return name if name in FIELDS[section] else "form"
