"""Pooling terms travel in a producer's catalog tags and come back as the same offer at the buyer."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from yuantou.devnet.localnet import window_times
from yuantou.domain.catalog import CatalogProblem, Line, quote_lines
from yuantou.domain.pooling import PriceTier, ProductSpec
from yuantou.producer.catalog_file import CatalogFileError, items_from_records
from yuantou.protocol.profile import catalog_json, offers_from_catalog


def apple_record(**overrides) -> dict:
    start, end = window_times(1)
    rec = {"id": "apple-fuji-a", "name": "Fuji apples", "category": "fruit", "grade": "A", "unit": "kg",
           "price": "9.00", "currency": "CNY", "bulk_unit": "10", "moq": "50",
           "tiers": [{"min_quantity": "200", "price": "8.50"}, {"min_quantity": "500", "price": "8.00"}],
           "delivery": {"fixed": "30", "per_unit": "0.10"},
           "windows": [{"id": "d1", "start": start, "end": end, "capacity": 800}]}
    rec.update(overrides)
    return rec


def test_terms_round_trip_through_a_schema_valid_catalog(official_schema):
    items = items_from_records([apple_record()], "test")
    catalog = catalog_json("orchard-provider", "Orchard", items)
    message = {"catalog": catalog}
    errors = official_schema("on_search", {"context": {}, "message": message})
    assert not [e for e in errors if e[0].startswith("$.message")], errors  # the tags keep it core 1.1.1
    start, end = window_times(1)
    window = (datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() + 3600,
              datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() - 3600)
    offers, skipped = offers_from_catalog("orchard", json.loads(json.dumps(catalog)),
                                          ProductSpec(category="fruit", grade="A"), window, Decimal("0.5"))
    assert skipped == []
    [offer] = offers
    assert offer.item_id == "apple-fuji-a" and offer.bulk_unit == 20 and offer.moq == 100 and offer.capacity == 1600
    assert offer.tiers == (PriceTier(0, 900), PriceTier(400, 850), PriceTier(1000, 800))
    assert (offer.delivery_fixed, offer.delivery_per_unit) == (3000, 10)
    # a pool for grade B, or outside the delivery window, finds nothing
    assert offers_from_catalog("orchard", catalog, ProductSpec(category="fruit", grade="B"), window, Decimal("0.5"))[0] == []
    late = (window[0] + 86400 * 5, window[1] + 86400 * 5)
    none, why = offers_from_catalog("orchard", catalog, ProductSpec(item_id="apple-fuji-a"), late, Decimal("0.5"))
    assert none == [] and "window" in why[0].reason
    odd, why = offers_from_catalog("orchard", catalog, ProductSpec(item_id="apple-fuji-a"), window, Decimal("3"))
    assert odd == [] and "step" in why[0].reason


def test_producer_quotes_at_the_tier_and_enforces_bulk_and_moq():
    [item] = items_from_records([apple_record()], "test")
    catalog = {item.id: item}
    [line] = quote_lines(catalog, [Line("apple-fuji-a", Decimal(200), "d1")], now=0)
    assert line.unit_price == Decimal("8.50") and line.amount == Decimal("1700.00")
    with pytest.raises(CatalogProblem) as info:
        quote_lines(catalog, [Line("apple-fuji-a", Decimal(55), "d1")], now=0)
    assert info.value.kind == "not_bulk_multiple"
    with pytest.raises(CatalogProblem) as info:
        quote_lines(catalog, [Line("apple-fuji-a", Decimal(40), "d1")], now=0)
    assert info.value.kind == "below_moq"


@pytest.mark.parametrize("change, field", [
    ({"tiers": [{"min_quantity": "200", "price": "9.50"}]}, "tiers[0]"),
    ({"tiers": [{"min_quantity": "200", "price": "8"}, {"min_quantity": "100", "price": "7"}]}, "tiers[1]"),
    ({"bulk_unit": "0"}, "bulk_unit"),
    ({"moq": "-5"}, "moq"),
    ({"delivery": {"fixed": "x"}}, "delivery.fixed"),
])
def test_bad_terms_name_the_field(change, field):
    with pytest.raises(CatalogFileError, match=field.replace("[", r"\[").replace("]", r"\]")):
        items_from_records([apple_record(**change)], "catalog.json")


def test_terms_survive_the_producer_store(tmp_path):
    from yuantou.producer.catalog_store import read_catalog, replace_catalog
    from yuantou.store.db import Database

    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        db.migrate()
        items = items_from_records([apple_record(), apple_record(id="plain", grade="", bulk_unit=None, moq=None,
                                                                 tiers=[], delivery={})], "test")
        db.transaction(lambda c: replace_catalog(c, items))
        stored = db.transaction(read_catalog)
    finally:
        db.close()
    assert stored["apple-fuji-a"] == items[0] and stored["plain"] == items[1]


def test_a_peers_catalog_with_runaway_numbers_or_ids_is_skipped_not_computed():
    """A peer's catalog is a stranger's: a bulk unit of 1e999999 would freeze the buyer turning it into whole steps,
    an id longer than a pool order keeps would fail its store; each such item is skipped with its reason."""
    items = items_from_records([apple_record()], "test")
    good = json.loads(json.dumps(catalog_json("orchard-provider", "Orchard", items)))
    start, end = window_times(1)
    window = (datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() + 3600,
              datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() - 3600)
    spec = ProductSpec(category="fruit", grade="A")
    assert offers_from_catalog("orchard", good, spec, window, Decimal(1))[0]
    for code, value in (("bulk_unit", "1e999999"), ("moq", "1e-999999"), ("tier:200", "9" * 4000)):
        bad = json.loads(json.dumps(good))
        tags = bad["providers"][0]["items"][0]["tags"]
        pooling = next(t for t in tags if t["descriptor"]["code"] == "yuantou.pooling")["list"]
        pooling[:] = [e for e in pooling if e["descriptor"]["code"] != code] + [{"descriptor": {"code": code}, "value": value}]
        offers, skipped = offers_from_catalog("orchard", bad, spec, window, Decimal(1))
        assert offers == [] and "unreadable" in skipped[0].reason, code
    long_id = json.loads(json.dumps(good))
    long_id["providers"][0]["items"][0]["id"] = "x" * 300
    assert offers_from_catalog("orchard", long_id, spec, window, Decimal(1))[0] == []


def test_a_minimum_batch_between_steps_rounds_up_to_whole_steps():
    """An MOQ of 2.5 kg in a pool of 1 kg steps is 3 steps, never 2 (Decimal's // truncates toward zero, so the
    ceiling written as -(-a // b) rounded it down)."""
    start, end = window_times(1)
    items = items_from_records([apple_record(moq="2.5", bulk_unit=None, tiers=[])], "test")
    catalog = json.loads(json.dumps(catalog_json("orchard-provider", "Orchard", items)))
    window = (datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() + 3600,
              datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp() - 3600)
    (offer,), _ = offers_from_catalog("orchard", catalog, ProductSpec(item_id="apple-fuji-a"), window, Decimal(1))
    assert offer.moq == 3
