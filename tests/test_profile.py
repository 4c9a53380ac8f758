"""The Yuantou profile by round trip: what ``protocol.profile`` writes into a producer's catalog or a pooled
order, it reads back the same, through JSON, for any terms within the amounts' bounds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.domain.pooling import PoolTerms, PriceTier, ProductSpec
from yuantou.protocol.profile import catalog_json, offers_from_catalog, offers_product, pool_of, pool_tags

START, END = datetime(2031, 5, 1, tzinfo=UTC), datetime(2031, 5, 2, tzinfo=UTC)
cents = st.integers(1, 10**7).map(lambda n: Decimal(n) / 100)
whole = st.integers(1, 10**5).map(Decimal)


@st.composite
def items(draw: st.DrawFn) -> CatalogItem:
    price = draw(cents)
    thresholds = sorted(set(draw(st.lists(whole, max_size=4))))
    tier_prices = sorted((draw(cents) for _ in thresholds), reverse=True)
    window = Window(draw(st.text("abcdefgh-0123456789", min_size=1, max_size=20)), START.isoformat(), END.isoformat(),
                    float(draw(st.integers(0, 10**6))))
    return CatalogItem(
        id=draw(st.text("abcdefghijklmnop-_.", min_size=1, max_size=40)), name=draw(st.text(max_size=30)),
        unit=draw(st.sampled_from(["kg", "box", "unit"])), price=price, currency=draw(st.sampled_from(["CNY", "INR"])),
        category=draw(st.sampled_from(["fruit", "grain"])), windows=(window,), grade=draw(st.sampled_from(["", "A", "B"])),
        bulk_unit=draw(st.none() | whole), moq=draw(st.integers(0, 10**4).map(Decimal)),
        tiers=tuple(zip(thresholds, tier_prices, strict=True)),
        delivery_fixed=draw(st.integers(0, 10**5).map(lambda n: Decimal(n) / 100)),
        delivery_per_unit=draw(st.integers(0, 10**4).map(lambda n: Decimal(n) / 100)))


@settings(max_examples=200, deadline=None)
@given(items())
def test_a_catalog_item_reads_back_as_the_offer_it_makes(item: CatalogItem) -> None:
    wire = json.loads(json.dumps(catalog_json("provider-1", "Orchard", [item])))
    spec = ProductSpec(item.id, None, None)
    assert offers_product(wire, spec)
    assert offers_product(wire, ProductSpec(None, item.category, item.grade or None))
    offers, skipped = offers_from_catalog("orchard.test", wire, spec, (START.timestamp(), END.timestamp()), Decimal(1))
    assert skipped == [] and len(offers) == 1
    offer = offers[0]
    assert (offer.producer_id, offer.provider_id, offer.item_id) == ("orchard.test", "provider-1", item.id)
    assert offer.window_id == item.windows[0].id and offer.capacity == int(item.windows[0].capacity)
    assert offer.bulk_unit == int(item.bulk_unit or 1) and offer.moq == int(item.moq)
    assert offer.tiers == (PriceTier(0, int(item.price * 100)),
                           *(PriceTier(int(q), int(p * 100)) for q, p in item.tiers))
    assert (offer.delivery_fixed, offer.delivery_per_unit) == (int(item.delivery_fixed * 100),
                                                               int(item.delivery_per_unit * 100))
    assert (offer.unit, offer.currency) == (item.unit, item.currency)


def test_an_item_outside_the_pools_window_is_skipped_with_the_reason() -> None:
    item = CatalogItem("rice", "Rice", "kg", Decimal(6), "CNY", "grain",
                       (Window("w1", START.isoformat(), END.isoformat(), 10.0),))
    later = (END.timestamp() + 3600, END.timestamp() + 7200)
    offers, skipped = offers_from_catalog("mill.test", catalog_json("p", "Mill", [item]), ProductSpec("rice", None, None),
                                          later, Decimal(1))
    assert offers == [] and [s.reason for s in skipped] == ["no fulfillment window covers the pool's delivery window"]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 10**6), st.integers(0, 500), st.sets(st.text("abcdefgh-", min_size=1, max_size=12), min_size=1,
                                                           max_size=5),
       st.sampled_from([Decimal(1), Decimal("0.5"), Decimal("0.25")]), st.integers(1, 100))
def test_a_pooled_order_says_which_pool_it_serves(total: int, households: int, points: set[str], step: Decimal,
                                                  bulk: int) -> None:
    terms = PoolTerms(spec=ProductSpec("apple", None, None), pickup_points=frozenset(points),
                      window=(START.timestamp(), END.timestamp()), cutoff=START.timestamp() - 3600, bulk_unit=bulk,
                      moq=0, tiers=(PriceTier(0, 900),), step=step, unit="kg")
    order = json.loads(json.dumps({"tags": pool_tags("pool-7", terms, {"total": total, "lines": [None] * households})}))
    said = pool_of(order)
    assert said["pool_id"] == "pool-7" and Decimal(said["pooled_quantity"]) == total * step
    assert int(said["households"]) == households and set(said["pickup_points"].split(",")) == points
    assert Decimal(said["bulk_unit"]) == bulk * step and said["unit"] == "kg"
    assert datetime.fromisoformat(said["cutoff"]).timestamp() == terms.cutoff
    assert pool_of({"tags": []}) == {}
