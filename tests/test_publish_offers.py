"""Publishing a plan's offers (``producer.c2m.publish_changes``) on a real store: local days, whole bulk units,
no second window beside a day's own."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.producer.c2m import publish_changes, publish_offers
from yuantou.producer.catalog_store import read_catalog, upsert_items
from yuantou.store.db import Database

CHINA = timezone(timedelta(hours=8))


def test_an_early_morning_window_is_its_local_days_and_offers_are_whole_bulk_units(db: Database):
    # 06:00-08:00 in China: its middle is 23:00 UTC the day before (the UTC date put the plan beside it)
    early = Window("2030-05-02", "2030-05-02T06:00:00+08:00", "2030-05-02T08:00:00+08:00", 10.0)
    db.transaction(lambda c: upsert_items(c, [
        CatalogItem("apple", "Apples", "kg", Decimal("8"), "CNY", "fruit", (early,), bulk_unit=Decimal("5")),
        CatalogItem("pear", "Pears", "kg", Decimal("6"), "CNY", "fruit", ())]))
    offers = [{"product": "apple", "day": "2030-05-02", "quantity": 82.64},
              {"product": "pear", "day": "2030-05-03", "quantity": 7.9},
              {"product": "quince", "day": "2030-05-03", "quantity": 5}]  # not in the catalog: not offered
    changes = db.transaction(lambda c: publish_changes(c, offers, CHINA))
    assert [(ch.item, ch.day, ch.window_ids, ch.before, ch.after) for ch in changes] == [
        ("apple", "2030-05-02", ("2030-05-02",), 10.0, 80.0),  # its own window, 82.64 down to 16 bulk units
        ("pear", "2030-05-03", ("plan-2030-05-03",), None, 7.0)]  # a new window, whole units
    assert db.transaction(lambda c: publish_offers(c, offers, CHINA)) == 2
    catalog = db.transaction(read_catalog)
    assert [w.capacity for w in catalog["apple"].windows] == [80.0]
    (made,) = catalog["pear"].windows
    assert (made.start, made.end) == ("2030-05-03T00:00:00+08:00", "2030-05-04T00:00:00+08:00")
    again = db.transaction(lambda c: publish_changes(c, offers, CHINA))  # publishing twice adds no window
    assert [ch.window_ids for ch in again] == [("2030-05-02",), ("plan-2030-05-03",)]
