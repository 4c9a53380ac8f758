"""Pick lists as a spreadsheet: one row per household line, columns named in the reader's language.

Written for Excel and WPS (``i18n.spreadsheet``): Chinese opens as Chinese, and a peer's name runs no formula.
"""

from __future__ import annotations

from typing import Any

from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.money import money
from yuantou.i18n.spreadsheet import spreadsheet_csv

COLUMNS = (N_("Pickup point"), N_("Household"), N_("Item"), N_("Quantity"), N_("Unit"), N_("Amount"), N_("Status"),
           N_("Pool"), N_("Producers"))


def pick_list_csv(lists: dict[str, list[dict[str, Any]]], locale: str) -> str:
    rows = []
    for point in sorted(lists):
        for row in lists[point]:
            amount = row.get("amount")
            rows.append([point, row["household"], row["item"], row["quantity"], row["unit"],
                         money(amount, row["currency"], locale) if amount is not None else "", row["status"],
                         row["pool_id"], " ".join(s["producer"] for s in row.get("from") or [])])
    return spreadsheet_csv([gettext(locale, column) for column in COLUMNS], rows)
