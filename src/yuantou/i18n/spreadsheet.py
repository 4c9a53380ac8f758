"""CSV files as a person opens them in Excel or WPS: a UTF-8 byte order mark, so that Chinese reads as Chinese,
and no cell a spreadsheet would run as a formula.

Names in these files come from peers (a buyer's pickup point, a producer's item): one starting with ``=``,
``+``, ``-`` or ``@`` would otherwise be evaluated when the file is opened (CSV injection), so it is kept as text
with a leading apostrophe, as OWASP advises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def spreadsheet_csv(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([cell(h) for h in header])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()
