"""Past sales from a long CSV (``id,date,quantity``, id ``PRODUCT/REGION``) as the days a producer imports: the
CLI's file and the console's upload read the same way, with the same file and line errors."""

from __future__ import annotations

from yuantou.forecast.long_csv import History, HistoryFileError, step_date
from yuantou.producer.commands import SalesDay


def sales_days(data: History, name: str) -> tuple[SalesDay, ...]:
    """Every day of every series; a series id that is not PRODUCT/REGION, or integer steps, are refused."""
    days = []
    for sid, values in data.values.items():
        product, _, region = sid.rpartition("/")
        if not product or not region:
            raise HistoryFileError(f"{name}: series id {sid!r} should read PRODUCT/REGION (REGION: the buyer node)")
        start = data.starts[sid]
        if isinstance(start, int):
            raise HistoryFileError(f"{name}: series {sid!r} counts integer steps; sales history needs calendar dates")
        days += [SalesDay(product, region, step_date(start, k, "D").date(), float(v)) for k, v in enumerate(values)]
    return tuple(days)
