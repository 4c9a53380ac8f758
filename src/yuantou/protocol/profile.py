"""The Yuantou profile of Beckn: every ``yuantou.*`` tag group, written and read in this one module.

A producer's catalog item carries ``yuantou.capacity`` (capacity per fulfillment window) and
``yuantou.pooling`` (pooled-buying terms); a buyer's pooled order carries ``yuantou.pool`` (which
pool it serves and what was pooled). Tests hold each encoder to its decoder by round trip.

Reading producers' pooled-buying offers out of Beckn catalogs:

A producer's ``on_search`` catalog lists, per item, its capacity per fulfillment window
(``yuantou.capacity``) and its pooling terms (``yuantou.pooling``: ``grade``, ``bulk_unit``,
``moq``, ``tier:<from quantity>`` → unit price, ``delivery_fixed``, ``delivery_per_unit``).
A buyer turns them into ``Offer``s in a pool's steps and minor units. Items a pool cannot
use are skipped with the reason, never guessed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

from yuantou.domain.amounts import bounded
from yuantou.domain.catalog import CatalogItem, Window
from yuantou.domain.pooling import MINOR_UNITS, PoolTerms, PriceTier, ProductSpec, from_steps
from yuantou.domain.sourcing import Offer
from yuantou.protocol.envelope import epoch_iso

CAPACITY_TAG = "yuantou.capacity"
POOLING_TAG = "yuantou.pooling"
POOL_TAG = "yuantou.pool"


@dataclass(frozen=True, slots=True)
class Skipped:
    producer_id: str
    item_id: str
    reason: str


def tag_values(item: dict[str, Any], group: str) -> dict[str, str]:
    """The tags of one tag group (by its descriptor code) of an item, order or fulfillment, as code → value."""
    for tag_group in item.get("tags") or []:
        if (tag_group.get("descriptor") or {}).get("code") == group:
            values: dict[str, str] = {}
            for tag in tag_group.get("list") or []:
                code = (tag.get("descriptor") or {}).get("code")
                if isinstance(code, str):  # a tag without a code says nothing
                    values[code] = tag.get("value")
            return values
    return {}


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _window_ranges(provider: dict[str, Any]) -> dict[str, tuple[float, float]]:
    ranges = {}
    for f in provider.get("fulfillments") or []:
        if not f.get("id"):
            continue
        for stop in f.get("stops") or []:
            span = (stop.get("time") or {}).get("range") or {}
            if span.get("start") and span.get("end"):
                try:
                    ranges[f["id"]] = (_epoch(span["start"]), _epoch(span["end"]))
                except (ValueError, TypeError, AttributeError, OverflowError):
                    continue  # a window whose times cannot be read is no window
    return ranges


ID_LIMITS = (255, 255)  # provider and item ids as a buyer's pool orders keep them


def _usable_ids(provider_id: object, item_id: object) -> bool:
    """Ids a pool order can be kept under (a peer's catalog is a stranger's: an id of any length may come)."""
    return all(isinstance(v, str) and len(v) <= most for v, most in zip((provider_id, item_id), ID_LIMITS))


def offers_product(catalog: dict[str, Any], spec: ProductSpec) -> bool:
    """Whether a catalog lists an item ``spec`` asks for (by its id, or its category and grade), whatever its
    windows and terms: what a pool needs before it opens, or it would only fail at its cut-off."""
    for provider in catalog.get("providers") or []:
        for item in provider.get("items") or []:
            offered = ProductSpec(item.get("id"), (item.get("category_ids") or [None])[0],
                                  tag_values(item, POOLING_TAG).get("grade"))
            if spec.item_id == item.get("id") if spec.item_id else offered.covers(spec):
                return True
    return False


def _whole(value: Decimal, step: Decimal) -> int | None:
    steps = value / step
    return int(steps) if steps == steps.to_integral_value() else None


def offers_from_catalog(producer_id: str, catalog: dict[str, Any], spec: ProductSpec, window: tuple[float, float],
                        step: Decimal, minor_units: int = MINOR_UNITS) -> tuple[list[Offer], list[Skipped]]:
    """Offers for ``spec`` deliverable within ``window``, in steps of ``step`` and minor currency units."""
    offers: list[Offer] = []
    skipped: list[Skipped] = []
    for provider in catalog.get("providers") or []:
        windows = _window_ranges(provider)
        for item in provider.get("items") or []:
            terms = tag_values(item, POOLING_TAG)
            if not item.get("id") or not _usable_ids(provider.get("id", ""), item["id"]):
                continue
            category = (item.get("category_ids") or [None])[0]
            offered = ProductSpec(item["id"], category, terms.get("grade"))
            if not (spec.item_id == item["id"] if spec.item_id else offered.covers(spec)):
                continue
            skip = lambda reason: skipped.append(Skipped(producer_id, item.get("id", "?"), reason))  # noqa: E731
            try:  # every number bounded before it becomes steps or minor units (a peer's catalog is a stranger's)
                capacity_by_window = {k: bounded(v) for k, v in tag_values(item, CAPACITY_TAG).items()}
                price = bounded((item.get("price") or {}).get("value"), positive=True)
                bulk = bounded(terms.get("bulk_unit") or step, positive=True)
                moq = bounded(terms.get("moq") or 0)
                tier_rows = sorted((bounded(code.split(":", 1)[1], positive=True), bounded(v, positive=True))
                                   for code, v in terms.items() if code and code.startswith("tier:"))
                fixed = bounded(terms.get("delivery_fixed") or 0)
                per_unit = bounded(terms.get("delivery_per_unit") or 0)
            except (InvalidOperation, TypeError, ValueError, AttributeError):
                skip("unreadable price, capacity or pooling terms")
                continue
            usable = [w for w, (start, end) in windows.items()
                      if w in capacity_by_window and start <= window[0] and window[1] <= end]
            if not usable:
                skip("no fulfillment window covers the pool's delivery window")
                continue
            window_id = max(usable, key=lambda w: capacity_by_window[w])
            if len(window_id) > 128:
                skip("its fulfillment window id is longer than 128 characters")
                continue
            bulk_steps = _whole(bulk, step)
            tier_steps = [_whole(m, step) for m, _ in tier_rows]
            if bulk_steps is None or None in tier_steps:
                skip(f"its bulk unit or tier quantities are not whole multiples of the pool's step {step}")
                continue
            tiers = [PriceTier(0, int(price * minor_units))] + [
                PriceTier(m, int(p * minor_units)) for m, (_, p) in zip(tier_steps, tier_rows) if m is not None]
            offers.append(Offer(
                producer_id, provider.get("id", ""), item["id"], tuple(tiers), bulk_steps,
                int((moq / step).to_integral_value(ROUND_CEILING)), int(capacity_by_window[window_id] // step),
                int(fixed * minor_units), int(per_unit * minor_units),
                unit=(((item.get("quantity") or {}).get("unitized") or {}).get("measure") or {}).get("unit", "unit"),
                currency=(item.get("price") or {}).get("currency", "CNY"), window_id=window_id))
    return offers, skipped


@dataclass(frozen=True)
class OfferTerms:
    """One catalog item's terms as an organiser's pool form starts from them (numbers as written, in its unit)."""

    item_id: str
    name: str | None
    category: str | None
    grade: str | None
    unit: str
    currency: str
    tiers: tuple[tuple[Decimal, Decimal], ...]  # (from quantity, price), the first from 0 at the list price
    bulk_unit: Decimal | None
    moq: Decimal
    windows: tuple[tuple[str, float, float, Decimal], ...]  # (id, start, end, capacity), soonest first


def offer_terms(catalog: dict[str, Any]) -> OfferTerms | None:
    """The first item of a single-item catalog piece, or None if a number in it cannot be read."""
    provider = (catalog.get("providers") or [{}])[0]
    item = (provider.get("items") or [{}])[0]
    terms = tag_values(item, POOLING_TAG)
    try:
        price = bounded((item.get("price") or {}).get("value"), positive=True)
        tiers = sorted((bounded(code.split(":", 1)[1], positive=True), bounded(v, positive=True))
                       for code, v in terms.items() if code and code.startswith("tier:"))
        bulk = bounded(terms["bulk_unit"], positive=True) if terms.get("bulk_unit") else None
        moq = bounded(terms.get("moq") or 0)
        capacity = {k: bounded(v) for k, v in tag_values(item, CAPACITY_TAG).items()}
    except (InvalidOperation, TypeError, ValueError, AttributeError):
        return None
    windows = sorted(((w, start, end, capacity[w]) for w, (start, end) in _window_ranges(provider).items()
                      if w in capacity), key=lambda w: (w[1], w[0]))
    descriptor = item.get("descriptor") if isinstance(item.get("descriptor"), dict) else {}
    measure = (((item.get("quantity") or {}).get("unitized") or {}).get("measure") or {})
    return OfferTerms(str(item.get("id")), descriptor.get("name"), (item.get("category_ids") or [None])[0],
                      terms.get("grade"), str(measure.get("unit", "unit")),
                      str((item.get("price") or {}).get("currency", "CNY")),
                      ((Decimal(0), price), *tiers), bulk, moq, tuple(windows))


# -- writing: a producer's catalog -------------------------------------------------------------

def fmt(value: Decimal | float) -> str:
    """A decimal as Beckn's DecimalValue string (no exponent, no trailing zeros)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return text


def item_json(item: CatalogItem) -> dict:
    return {
        "id": item.id,
        "descriptor": {"name": item.name, "code": item.id},
        "category_ids": [item.category] if item.category else [],
        "fulfillment_ids": [w.id for w in item.windows],
        "price": {"currency": item.currency, "value": fmt(item.price)},
        "quantity": {
            "unitized": {"measure": {"unit": item.unit, "value": "1"}},
            "available": {"measure": {"unit": item.unit, "value": fmt(sum(w.capacity for w in item.windows))}},
        },
        "tags": [{
            "descriptor": {"code": CAPACITY_TAG, "name": "capacity per fulfillment window"},
            "list": [{"descriptor": {"code": w.id}, "value": fmt(w.capacity)} for w in item.windows],
        }] + pooling_tags(item),
    }


def pooling_tags(item: CatalogItem) -> list[dict]:
    """The Yuantou profile's ``yuantou.pooling`` tag group: what a pooled order must respect and costs."""
    entries = [("grade", item.grade)] if item.grade else []
    if item.bulk_unit is not None:
        entries.append(("bulk_unit", fmt(item.bulk_unit)))
    if item.moq:
        entries.append(("moq", fmt(item.moq)))
    entries += [(f"tier:{fmt(minimum)}", fmt(price)) for minimum, price in item.tiers]
    if item.delivery_fixed or item.delivery_per_unit:
        entries += [("delivery_fixed", fmt(item.delivery_fixed)), ("delivery_per_unit", fmt(item.delivery_per_unit))]
    if not entries:
        return []
    return [{"descriptor": {"code": POOLING_TAG, "name": "pooled buying terms"},
             "list": [{"descriptor": {"code": code}, "value": value} for code, value in entries]}]


def window_json(window: Window) -> dict:
    return {
        "id": window.id,
        "type": "Delivery",
        "stops": [{"type": "end", "time": {"range": {"start": window.start, "end": window.end}}}],
    }


def catalog_json(provider_id: str, provider_name: str, items: list[CatalogItem], place: str | None = None) -> dict:
    """``place``: where the producer is, in words (源头: households see the source), as its provider's location."""
    windows = {w.id: w for item in items for w in item.windows}
    categories = sorted({item.category for item in items if item.category})
    provider: dict[str, Any] = {
        "id": provider_id,
        "descriptor": {"name": provider_name},
        "categories": [{"id": c, "descriptor": {"code": c, "name": c}} for c in categories],
        "fulfillments": [window_json(w) for w in windows.values()],
        "items": [item_json(item) for item in items],
    }
    if place:
        provider["locations"] = [{"id": "place", "address": place}]
    return {"descriptor": {"name": provider_name}, "providers": [provider]}


# -- the pool an order serves ------------------------------------------------------------------

def pool_tags(pool_id: str, terms: PoolTerms, outcome: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``yuantou.pool`` tag group: which pool an order serves and what was pooled."""
    def tag(code: str, value: str) -> dict[str, Any]:
        return {"descriptor": {"code": code}, "value": value}
    return [{"descriptor": {"code": POOL_TAG}, "list": [
        tag("pool_id", pool_id),
        tag("pooled_quantity", from_steps(outcome["total"], terms.step)),
        tag("households", str(len(outcome["lines"]))),
        tag("cutoff", epoch_iso(terms.cutoff)),
        tag("pickup_points", ",".join(sorted(terms.pickup_points))),
        tag("bulk_unit", from_steps(terms.bulk_unit, terms.step)),
        tag("unit", terms.unit),
    ]}]


def pool_of(order: dict[str, Any]) -> dict[str, str]:
    """What an order's ``yuantou.pool`` tags say (empty for an order that serves no pool)."""
    return tag_values(order, POOL_TAG)
