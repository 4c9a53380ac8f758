"""The catalog item form and the catalog file's record (``web.catalog_form``): round trip, local times, errors."""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.producer.catalog_file import CatalogFileError, items_from_records
from yuantou.web.catalog_form import form_field, form_from_item, record_from_form

CHINA = timezone(timedelta(hours=8))


def test_an_item_round_trips_through_its_form_with_a_whole_day_window_and_what_is_sold_added_back():
    item = CatalogItem("apple", "Apples", "kg", Decimal("8.5"), "CNY", "fruit", (
        Window("2030-05-01", "2030-05-01T06:00:00+08:00", "2030-05-01T20:00:00+08:00", 30.0),
        Window("plan-2030-05-02", "2030-05-02T00:00:00+08:00", "2030-05-03T00:00:00+08:00", 12.0)),
        bulk_unit=Decimal("5"), tiers=((Decimal("200"), Decimal("8")),))
    form = form_from_item(item, {("apple", "2030-05-01"): 10.0}, CHINA)
    assert form["window_capacity_0"] == "40" and form["window_end_1"] == "00:00"  # 30 left + 10 sold
    (back,) = items_from_records([record_from_form(form, CHINA)], "form")
    assert back.windows[1].end == "2030-05-03T00:00:00+08:00"  # until 00:00: the day's end, not its start
    assert (back.price, back.bulk_unit, back.tiers) == (item.price, item.bulk_unit, item.tiers)
    assert back.windows[0].capacity == 40.0


def test_a_refusal_names_the_form_field_of_the_row_it_is_in():
    form = {"id": "apple", "name": "Apples", "unit": "kg", "price": "8", "currency": "CNY",
            "window_day_0": "2030-05-01", "window_start_0": "06:00", "window_end_0": "20:00",
            "window_capacity_0": "10", "window_day_2": "2030-05-02", "window_start_2": "09:00",
            "window_end_2": "08:00", "window_capacity_2": "5"}  # row 1 left empty; row 2 ends before it starts
    try:
        items_from_records([record_from_form(form, CHINA)], "form")
    except CatalogFileError as problem:
        assert problem.code == "window_order" and form_field(problem.field, form) == "window_end_2"
    else:
        raise AssertionError("a window that ends before it starts was taken")


def test_a_catalog_record_without_a_currency_is_in_yuan():
    """Most producers on this network sell in China: a file that names no currency means CNY, not Beckn's INR."""
    (item,) = items_from_records([{"id": "rice", "name": "Rice", "unit": "bag", "price": "68"}], "catalog.json")
    assert item.currency == "CNY"
