"""A catalog item as the producer's form shows it, and the form back as a catalog file's record.

The record goes through the catalog file's own checks (``items_from_records``), so a form accepts exactly what a
file would; a refusal names the record's field, which ``form_field`` turns into the form's. Windows are edited in
the node's local time, a day and two clock times (until 00:00: to the day's end), and a window's capacity is what
it holds in all (what orders already took of it is shown beside it and stays taken), as in the file.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from yuantou.domain.catalog import CatalogItem

TIER_ROWS = 5
WINDOW_ROWS_FREE = 3  # empty window rows under an item's windows
WINDOW_ROWS_MOST = 200  # a form never reads more (an item with more windows is edited by file)
MAX_FIELDS = 20 + 2 * TIER_ROWS + 5 * WINDOW_ROWS_MOST  # what the item form posts at most


class FormProblem(ValueError):
    """A form value that cannot become a record (a day that is no day): its form field and a code."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(f"{field}: {code}")
        self.field, self.code = field, code


def _plain(value: Decimal | float | None) -> str:
    if value is None:
        return ""
    return format(Decimal(str(value)).normalize(), "f")


def form_from_item(item: CatalogItem, sold: dict[tuple[str, str], float], zone: tzinfo) -> dict[str, str]:
    form = {"id": item.id, "name": item.name, "category": item.category, "grade": item.grade, "unit": item.unit,
            "price": _plain(item.price), "currency": item.currency, "bulk_unit": _plain(item.bulk_unit),
            "moq": _plain(item.moq) if item.moq else "", "delivery_fixed": _plain(item.delivery_fixed) if
            item.delivery_fixed else "", "delivery_per_unit": _plain(item.delivery_per_unit) if
            item.delivery_per_unit else ""}
    for k, (minimum, price) in enumerate(item.tiers[:TIER_ROWS]):
        form[f"tier_min_{k}"], form[f"tier_price_{k}"] = _plain(minimum), _plain(price)
    for j, window in enumerate(item.windows):
        start = datetime.fromisoformat(window.start.replace("Z", "+00:00")).astimezone(zone)
        end = datetime.fromisoformat(window.end.replace("Z", "+00:00")).astimezone(zone)
        taken = sold.get((item.id, window.id), 0.0)
        form.update({f"window_id_{j}": window.id, f"window_day_{j}": start.date().isoformat(),
                     f"window_start_{j}": start.strftime("%H:%M"), f"window_end_{j}": end.strftime("%H:%M"),
                     f"window_capacity_{j}": _plain(window.capacity + taken), f"window_sold_{j}": _plain(taken)})
    return form


def window_rows(form: dict[str, str]) -> int:
    """How many window rows the form shows: its filled ones and a few free ones."""
    filled = [j for j in range(WINDOW_ROWS_MOST) if form.get(f"window_day_{j}") or form.get(f"window_id_{j}")]
    return min(WINDOW_ROWS_MOST, (max(filled) + 1 if filled else 0) + WINDOW_ROWS_FREE)


def _moment(day: str, clock: str, zone: tzinfo, field: str) -> datetime:
    try:
        moment = datetime.combine(date.fromisoformat(day.strip()), time.fromisoformat(clock.strip()))
    except ValueError:
        raise FormProblem(field, "bad_time") from None
    return moment.replace(tzinfo=zone)


def record_from_form(form: dict[str, str], zone: tzinfo) -> dict[str, Any]:
    """The catalog file's record for the form (empty rows left out); ``FormProblem`` for a time that is none."""
    record: dict[str, Any] = {key: form.get(key, "").strip() for key in
                              ("id", "name", "category", "grade", "unit", "price", "currency", "bulk_unit", "moq")}
    record["delivery"] = {"fixed": form.get("delivery_fixed", "").strip() or "0",
                          "per_unit": form.get("delivery_per_unit", "").strip() or "0"}
    record["tiers"] = [{"min_quantity": form.get(f"tier_min_{k}", "").strip(),
                        "price": form.get(f"tier_price_{k}", "").strip()}
                       for k in range(TIER_ROWS) if form.get(f"tier_min_{k}", "").strip()
                       or form.get(f"tier_price_{k}", "").strip()]
    windows, ids = [], set()
    for j in range(WINDOW_ROWS_MOST):
        day = form.get(f"window_day_{j}", "").strip()
        if not day and not form.get(f"window_capacity_{j}", "").strip():
            continue
        start = _moment(day, form.get(f"window_start_{j}", "") or "00:00", zone, f"window_day_{j}")
        end = _moment(day, form.get(f"window_end_{j}", "") or "00:00", zone, f"window_end_{j}")
        if end.time() == time(0) and end <= start:  # "until 00:00": midnight at the day's end
            end += timedelta(days=1)
        window_id = form.get(f"window_id_{j}", "").strip() or day
        while window_id in ids:  # a second window on the same day
            window_id += "-2"
        ids.add(window_id)
        windows.append({"id": window_id, "start": start.isoformat(), "end": end.isoformat(),
                        "capacity": form.get(f"window_capacity_{j}", "").strip()})
    record["windows"] = windows
    return record


def form_field(record_field: str, form: dict[str, str]) -> str:
    """The form field a catalog refusal names: ``windows[1].end`` is the second filled window row's end."""
    if record_field.startswith("tiers"):
        return "tiers"
    if record_field.startswith("delivery."):
        return "delivery_" + record_field.split(".", 1)[1]
    found = re.fullmatch(r"windows\[(\d+)\](?:\.(\w+))?", record_field)
    if found:
        filled = [j for j in range(WINDOW_ROWS_MOST)
                  if form.get(f"window_day_{j}", "").strip() or form.get(f"window_capacity_{j}", "").strip()]
        index = int(found.group(1))
        row = filled[index] if index < len(filled) else 0
        part = {"start": "day", "end": "end", "capacity": "capacity", "id": "day"}.get(found.group(2) or "", "end")
        return f"window_{part}_{row}"
    return record_field or "form"
