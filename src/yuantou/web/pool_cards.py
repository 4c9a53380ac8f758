"""What a household reads about one pool, in its language: the source, the price now and the next tier
(拼团: "40 kg more and everyone pays ¥8.00/kg"), progress toward the minimum batch, cut-off and pickup.

Built from the pool's terms and running totals only (no store read), so that the live stream can send a
card to hundreds of open pages after every join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal

from yuantou.buyer.sources import Source
from yuantou.domain.pooling import MINOR_UNITS, PoolTerms, from_steps
from yuantou.i18n.catalogs import N_, gettext
from yuantou.web.local_text import day_and_time, quantity, time_span, unit_price

NEXT_TIER = N_("{more} more and everyone pays {price}")
BEST_TIER = N_("Everyone pays the best price: {price}")
PROGRESS = N_("{pooled} of the {batch} minimum batch")
BATCH_REACHED = N_("Minimum batch of {batch} reached: {pooled} pooled")
HOUSEHOLDS = N_("Households joined: {count}")


@dataclass(frozen=True)
class PoolCard:
    pool_id: str
    title: str
    sources: tuple[Source, ...]
    status: str
    unit: str
    step: str
    price_now: str
    next_tier: str
    progress_text: str
    progress_percent: int
    households_text: str
    cutoff: float
    cutoff_text: str
    pickup_text: str
    pickup_points: tuple[str, ...]
    top_price: str  # the highest tier price: the default price limit of a join
    best_price: str


def _price(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_UNITS).quantize(Decimal("0.01"))


def pool_card(pool_id: str, terms: PoolTerms, status: str, pooled: int, households: int, sources: tuple[Source, ...],
              zone: tzinfo, locale: str) -> PoolCard:
    """``pooled``: the members' minimums, in steps (what the pool is sure to buy)."""
    step, unit, currency = terms.step, terms.unit, terms.currency
    now_price = terms.price_at(pooled)
    above = [t for t in terms.tiers if t.min_quantity > pooled]
    if above:
        more = quantity(from_steps(above[0].min_quantity - pooled, step), unit)
        next_tier = gettext(locale, NEXT_TIER, more=more,
                            price=unit_price(_price(above[0].unit_price), currency, unit, locale))
    else:
        next_tier = gettext(locale, BEST_TIER, price=unit_price(_price(now_price), currency, unit, locale))
    batch = max(terms.moq, terms.bulk_unit)
    values = {"pooled": quantity(from_steps(pooled, step), unit), "batch": quantity(from_steps(batch, step), unit)}
    progress = gettext(locale, PROGRESS if pooled < batch else BATCH_REACHED, **values)
    named = next((s.item_name for s in sources if s.item_name), None)
    title = named or terms.spec.item_id or terms.spec.category or pool_id
    if terms.spec.grade:
        title = f"{title} · {terms.spec.grade}"
    return PoolCard(
        pool_id=pool_id, title=title, sources=sources, status=status, unit=unit, step=format(step.normalize(), "f"),
        price_now=unit_price(_price(now_price), currency, unit, locale), next_tier=next_tier, progress_text=progress,
        progress_percent=min(100, int(100 * pooled / batch)) if batch else 100,
        households_text=gettext(locale, HOUSEHOLDS, count=households), cutoff=terms.cutoff,
        cutoff_text=day_and_time(terms.cutoff, zone, locale),
        pickup_text=time_span(terms.window[0], terms.window[1], zone, locale),
        pickup_points=tuple(sorted(terms.pickup_points)), top_price=format(_price(terms.tiers[0].unit_price), "f"),
        best_price=format(_price(terms.best_price), "f"))
