"""Pick lists as a spreadsheet: one row per household line, columns named in the reader's language.

Written with a UTF-8 byte order mark, so that Excel and WPS open Chinese text as Chinese, not mojibake.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.money import money

COLUMNS = (N_("Pickup point"), N_("Household"), N_("Item"), N_("Quantity"), N_("Unit"), N_("Amount"), N_("Status"),
           N_("Pool"), N_("Producers"))


def pick_list_csv(lists: dict[str, list[dict[str, Any]]], locale: str) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([gettext(locale, column) for column in COLUMNS])
    for point in sorted(lists):
        for row in lists[point]:
            amount = row.get("amount")
            writer.writerow([point, row["household"], row["item"], row["quantity"], row["unit"],
                             money(amount, row["currency"], locale) if amount is not None else "", row["status"],
                             row["pool_id"], " ".join(s["producer"] for s in row.get("from") or [])])
    return out.getvalue()
