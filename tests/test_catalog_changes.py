"""The catalog import's preview (``domain.catalog_changes``): what a file would change, item by item."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.domain.catalog_changes import catalog_changes


def item(item_id: str, price: str = "8", capacity: float = 100.0) -> CatalogItem:
    return CatalogItem(item_id, item_id.title(), "kg", Decimal(price), "CNY", "fruit",
                       (Window("d1", "2030-05-01T06:00:00+08:00", "2030-05-01T20:00:00+08:00", capacity),))


@given(st.lists(st.sampled_from(["apple", "pear", "plum", "fig"]), unique=True),
       st.lists(st.sampled_from(["apple", "pear", "plum", "fig"]), unique=True),
       st.floats(0, 60), st.booleans())
def test_the_file_the_store_holds_changes_nothing_and_every_item_is_named_once(stored, incoming, sold, replace_all):
    current = {i: item(i, capacity=100.0 - sold) for i in stored}  # the store keeps what is left
    taken = {(i, "d1"): sold for i in stored}
    changes = catalog_changes(current, [item(i) for i in incoming], taken, replace_all)
    assert changes.changed == ()  # 100 in all, as the file says, whatever orders hold of it
    named = [*changes.added, *changes.unchanged, *changes.retired, *changes.kept]
    assert sorted(named) == sorted(set(stored) | set(incoming)) and len(named) == len(set(named))
    assert set(changes.retired if replace_all else changes.kept) == set(stored) - set(incoming)


def test_a_changed_price_and_window_are_named():
    current = {"apple": item("apple")}
    changes = catalog_changes(current, [replace(item("apple", price="9", capacity=120.0))], {}, replace=False)
    assert changes.changed == (("apple", ("price", "windows")),) and changes.any
