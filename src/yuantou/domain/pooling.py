"""Demand pooling (云拼): households' intents gathered into pools and allocated at close (pure).

Quantities are whole *steps* of the pool's unit (a pool selling apples by the kg with a
0.5 kg step counts 3 kg as 6) and prices are whole minor currency units (fen) per unit,
so every rule is exact integer arithmetic and fast enough for a million intents.

Closing rule (documented in the README's pooling profile):

1. The pooled total is the **largest** quantity that is a whole number of bulk units, is at
   least the MOQ and at most the pool's maximum, and can be shared among the households
   whose price limit is at least the tier price that total reaches, each within its own
   min..max. The largest total reaches the best tier and serves the most households.
2. A household whose limit is below that price gets nothing (and is told why).
3. **Fair share:** every served household first gets its minimum; the rest is shared
   evenly (water-filling: everyone rises by the same amount until they reach their max);
   steps that cannot be split evenly go one each to the earliest joiners.
4. If no total fits everyone (say three households each want exactly 6 kg of 10 kg crates),
   the latest joiners are left out one at a time until a total fits: first come, first served.
5. If still no total satisfies rule 1 the pool fails: nothing is allocated, nobody is charged,
   and the reason names the constraint that binds.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import NamedTuple

MINOR_UNITS = 100  # fen per yuan, cents per dollar, paise per rupee


class PoolProblem(ValueError):
    """Bad input or an action the pool's state forbids; ``code`` is stable, ``path`` names the field."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.path = code, message, path


def from_steps(steps: int, step: Decimal) -> str:
    """Whole steps back as a quantity in units, as people write it (``"2.5"``, never ``"2.50"`` or ``"2.5E+0"``)."""
    return format((steps * step).normalize(), "f")


def to_steps(quantity: Decimal | int | str, step: Decimal, path: str = "quantity") -> int:
    """A quantity in units as a whole number of steps; refuses what is not a multiple of the step."""
    try:
        value = Decimal(str(quantity))
    except ArithmeticError:
        raise PoolProblem("bad_quantity", f"{quantity!r} is not a number", path) from None
    if not value.is_finite():
        raise PoolProblem("bad_quantity", f"{quantity!r} is not a finite number", path)
    steps = value / step
    if steps != steps.to_integral_value():
        raise PoolProblem("bad_quantity", f"{value} is not a multiple of the pool's step {step}", path)
    return int(steps)


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """What a household wants: a catalog item, or any item of a category (optionally of one grade)."""

    item_id: str | None = None
    category: str | None = None
    grade: str | None = None

    def __post_init__(self) -> None:
        if not self.item_id and not self.category:
            raise PoolProblem("bad_product", "name an item or a category", "product")

    def covers(self, wanted: ProductSpec) -> bool:
        """Whether a pool for this spec serves an intent for ``wanted`` (an item, or a category and grade)."""
        if wanted.item_id:
            return self.item_id == wanted.item_id
        return wanted.category == self.category and (wanted.grade is None or wanted.grade == self.grade)


@dataclass(frozen=True, slots=True)
class PriceTier:
    """From ``min_quantity`` steps pooled upward, every unit costs ``unit_price`` minor units."""

    min_quantity: int
    unit_price: int


@dataclass(frozen=True, slots=True)
class PoolTerms:
    spec: ProductSpec
    pickup_points: frozenset[str]
    window: tuple[float, float]  # delivery window, epoch seconds
    cutoff: float
    bulk_unit: int  # steps per producer bulk unit (e.g. a 10 kg crate = 20 steps of 0.5 kg)
    moq: int  # minimum batch, steps
    tiers: tuple[PriceTier, ...]
    max_quantity: int | None = None
    target_quantity: int | None = None  # close early once this much is allocatable
    target_turnover: int | None = None  # ... or once allocatable total × price reaches this (minor units)
    step: Decimal = Decimal(1)
    unit: str = "unit"
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if self.bulk_unit <= 0:
            raise PoolProblem("bad_terms", "bulk unit must be positive", "bulk_unit")
        if self.moq < 0 or (self.max_quantity is not None and self.max_quantity < max(self.moq, self.bulk_unit)):
            raise PoolProblem("bad_terms", "need 0 <= moq and a maximum of at least one bulk unit and the MOQ", "max_quantity")
        if not self.tiers:
            raise PoolProblem("bad_terms", "a pool needs at least one price tier", "tiers")
        mins = [t.min_quantity for t in self.tiers]
        if mins != sorted(set(mins)) or mins[0] != 0:
            raise PoolProblem("bad_terms", "tiers must start at 0 and rise strictly", "tiers")
        if any(t.unit_price <= 0 for t in self.tiers):
            raise PoolProblem("bad_terms", "tier prices must be positive", "tiers")
        if any(b.unit_price > a.unit_price for a, b in zip(self.tiers, self.tiers[1:])):
            raise PoolProblem("bad_terms", "a bigger tier cannot cost more per unit", "tiers")
        if not self.pickup_points:
            raise PoolProblem("bad_terms", "a pool needs at least one pickup point", "pickup_points")
        if self.window[1] <= self.window[0]:
            raise PoolProblem("bad_terms", "the delivery window must end after it starts", "window")
        if self.cutoff > self.window[0]:
            raise PoolProblem("bad_terms", "the cut-off must come before the delivery window starts", "cutoff")

    def price_at(self, total: int) -> int:
        """The tier price a pooled total reaches."""
        return self.tiers[bisect.bisect_right([t.min_quantity for t in self.tiers], total) - 1].unit_price

    @property
    def best_price(self) -> int:
        return self.tiers[-1].unit_price


@dataclass(slots=True)
class Intent:
    """One household's wish: between ``min_quantity`` and ``max_quantity`` steps, at no more than ``max_price``."""

    id: str
    household: str
    spec: ProductSpec
    min_quantity: int
    max_quantity: int
    max_price: int  # minor units per unit
    pickup_point: str
    window: tuple[float, float]
    joined_at: float = 0.0

    def check(self) -> None:
        if self.min_quantity <= 0:
            raise PoolProblem("bad_quantity", "the minimum quantity must be positive", "min_quantity")
        if self.max_quantity < self.min_quantity:
            raise PoolProblem("bad_quantity", "the maximum quantity is below the minimum", "max_quantity")
        if self.max_price <= 0:
            raise PoolProblem("bad_price", "the price limit must be positive", "max_price")
        if self.window[1] <= self.window[0]:
            raise PoolProblem("bad_window", "the delivery window must end after it starts", "window")


class PoolStatus(str, Enum):
    OPEN = "open"
    ALLOCATED = "allocated"
    FAILED = "failed"


class Line(NamedTuple):  # a tuple: a million of them are built when big pools close
    intent_id: str
    household: str
    quantity: int  # steps


@dataclass(frozen=True, slots=True)
class Allocation:
    """A pool that closed with its MOQ met: who gets how much at which price."""

    pool_id: str
    total: int
    unit_price: int
    lines: tuple[Line, ...]
    priced_out: tuple[str, ...]  # intent ids whose limit is below the price reached
    left_out: tuple[str, ...] = ()  # latest joiners dropped so that whole bulk units fit


@dataclass(frozen=True, slots=True)
class Failure:
    """A pool that could not be filled: nothing allocated, nobody charged."""

    pool_id: str
    code: str  # empty | below_moq | no_bulk_fit | priced_out
    reason: str


@dataclass(eq=False)  # pools are entities: compared by identity, never by their contents
class Pool:
    id: str
    terms: PoolTerms
    intents: dict[str, Intent] = field(default_factory=dict)
    status: PoolStatus = PoolStatus.OPEN
    outcome: Allocation | Failure | None = None
    # kept as members join and leave, so neither placing nor answering a join rescans the pool
    min_total: int = field(init=False)  # sum of the members' minimums
    max_total: int = field(init=False)  # ... and maximums
    households: dict[str, int] = field(init=False)  # household -> its intents in the pool

    def __post_init__(self) -> None:
        self.min_total = sum(i.min_quantity for i in self.intents.values())
        self.max_total = sum(i.max_quantity for i in self.intents.values())
        self.households = {}
        for intent in self.intents.values():
            self.households[intent.household] = self.households.get(intent.household, 0) + 1

    # -- joining and leaving ------------------------------------------------------------

    def refusal(self, intent: Intent, now: float, name: str | None = None) -> PoolProblem | None:
        """Why ``intent`` cannot join this pool, or None if it can (``name``: how the refusal names the pool,
        for one that is not stored yet: by default its id)."""
        terms = self.terms
        wanted, offered = intent.window, terms.window
        if (self.status is PoolStatus.OPEN and now < terms.cutoff and intent.pickup_point in terms.pickup_points
                and wanted[0] <= offered[0] and offered[1] <= wanted[1] and intent.max_price >= terms.tiers[-1].unit_price
                and (terms.max_quantity is None or self.min_total + intent.min_quantity <= terms.max_quantity)
                and intent.id not in self.intents and terms.spec.covers(intent.spec)):
            return None  # the common case in one expression: placing a million intents calls this for every candidate
        return self._why_not(intent, now, name or f"pool {self.id}")

    def _why_not(self, intent: Intent, now: float, who: str) -> PoolProblem | None:
        terms = self.terms
        if self.status is not PoolStatus.OPEN or now >= terms.cutoff:
            return PoolProblem("pool_closed", f"{who} is closed", "pool_id")
        if not terms.spec.covers(intent.spec):
            return PoolProblem("wrong_product", f"{who} does not sell that product", "product")
        if intent.pickup_point not in terms.pickup_points:
            return PoolProblem("bad_pickup", f"pickup point {intent.pickup_point!r} is not one of {who}'s "
                               f"({', '.join(sorted(terms.pickup_points))})", "pickup_point")
        if not (intent.window[0] <= terms.window[0] and terms.window[1] <= intent.window[1]):
            return PoolProblem("bad_window", f"{who} delivers outside the household's window", "window")
        if intent.max_price < terms.best_price:
            return PoolProblem("price_too_low", f"{who}'s best price is above the household's limit", "max_price")
        if terms.max_quantity is not None and self.min_total + intent.min_quantity > terms.max_quantity:
            return PoolProblem("pool_full", f"{who} is full", "min_quantity")
        if intent.id in self.intents:
            return PoolProblem("duplicate_intent", f"intent {intent.id} is already in {who}", "intent_id")
        return None

    def join(self, intent: Intent, now: float) -> None:
        intent.check()
        problem = self.refusal(intent, now)
        if problem:
            raise problem
        self.admit(intent, now)

    def admit(self, intent: Intent, now: float) -> None:
        """Add an intent already checked and found acceptable (``refusal`` returned None)."""
        intent.joined_at = intent.joined_at or now
        self.intents[intent.id] = intent
        self.min_total += intent.min_quantity
        self.max_total += intent.max_quantity
        self.households[intent.household] = self.households.get(intent.household, 0) + 1

    def withdraw(self, intent_id: str, now: float) -> Intent:
        if self.status is not PoolStatus.OPEN or now >= self.terms.cutoff:
            raise PoolProblem("pool_closed", f"pool {self.id} has closed; intents can no longer be withdrawn", "intent_id")
        intent = self.intents.pop(intent_id, None)
        if intent is None:
            raise PoolProblem("unknown_intent", f"intent {intent_id} is not in pool {self.id} (withdrawn already?)",
                              "intent_id")
        self.min_total -= intent.min_quantity
        self.max_total -= intent.max_quantity
        left = self.households[intent.household] - 1
        if left:
            self.households[intent.household] = left
        else:
            del self.households[intent.household]
        return intent

    # -- closing ------------------------------------------------------------------------

    def should_close(self, now: float) -> bool:
        """At cut-off, or early once the configured target quantity or turnover is allocatable."""
        if self.status is not PoolStatus.OPEN:
            return False
        if now >= self.terms.cutoff:
            return True
        if self.terms.target_quantity is None and self.terms.target_turnover is None:
            return False
        outcome = allocate(self.id, self.terms, list(self.intents.values()))
        if not isinstance(outcome, Allocation):
            return False
        t = self.terms
        return ((t.target_quantity is not None and outcome.total >= t.target_quantity)
                or (t.target_turnover is not None and outcome.total * outcome.unit_price * t.step >= t.target_turnover))

    def close(self) -> Allocation | Failure:
        if self.status is not PoolStatus.OPEN:
            raise PoolProblem("pool_closed", f"pool {self.id} is already closed", "pool_id")
        self.outcome = allocate(self.id, self.terms, list(self.intents.values()))
        self.status = PoolStatus.ALLOCATED if isinstance(self.outcome, Allocation) else PoolStatus.FAILED
        return self.outcome


def allocate(pool_id: str, terms: PoolTerms, intents: list[Intent]) -> Allocation | Failure:
    """The closing rule of the module docstring, as a pure function of terms and intents."""
    outcome = _allocate_everyone(pool_id, terms, intents)
    if not (isinstance(outcome, Failure) and outcome.code == "no_bulk_fit"):
        return outcome
    remaining = sorted(intents, key=lambda i: (i.joined_at, i.id))
    left_out: list[str] = []
    while len(remaining) > 1:
        left_out.append(remaining.pop().id)
        retry = _allocate_everyone(pool_id, terms, remaining)
        if isinstance(retry, Allocation):
            return Allocation(retry.pool_id, retry.total, retry.unit_price, retry.lines, retry.priced_out,
                              tuple(left_out))
    return outcome


def _allocate_everyone(pool_id: str, terms: PoolTerms, intents: list[Intent]) -> Allocation | Failure:
    """Rules 1-3 and 5: the largest total that serves every household able to pay its price."""
    if not intents:
        return Failure(pool_id, "empty", "no household joined")
    by_limit = sorted(intents, key=lambda i: (-i.max_price, i.joined_at, i.id))
    limits = [-i.max_price for i in by_limit]  # ascending, for bisect
    min_prefix, max_prefix = [0], [0]
    for intent in by_limit:
        min_prefix.append(min_prefix[-1] + intent.min_quantity)
        max_prefix.append(max_prefix[-1] + intent.max_quantity)
    bulk = terms.bulk_unit
    cap = terms.max_quantity
    best_short = None
    for index in range(len(terms.tiers) - 1, -1, -1):  # best price first: the largest total wins
        tier = terms.tiers[index]
        upper = terms.tiers[index + 1].min_quantity - 1 if index + 1 < len(terms.tiers) else None
        eligible = bisect.bisect_right(limits, -tier.unit_price)  # households whose limit >= this price
        if eligible == 0:
            continue
        low = max(tier.min_quantity, terms.moq, min_prefix[eligible], 1)
        high = max_prefix[eligible]
        for bound in (upper, cap):
            if bound is not None:
                high = min(high, bound)
        total = high // bulk * bulk
        if total >= low:
            served = by_limit[:eligible]
            quantities = share(total, [i.min_quantity for i in served], [i.max_quantity for i in served],
                               order=[i.joined_at for i in served])
            lines = tuple(Line(i.id, i.household, q) for i, q in zip(served, quantities))
            return Allocation(pool_id, total, tier.unit_price, lines, tuple(i.id for i in by_limit[eligible:]))
        if best_short is None:
            best_short = (low, high, eligible)
    if best_short is None:
        return Failure(pool_id, "priced_out", "every household's price limit is below every tier's price")
    low, high, eligible = best_short
    if max_prefix[eligible] < max(terms.moq, bulk):
        return Failure(pool_id, "below_moq",
                       f"households want at most {max_prefix[eligible]} steps; the minimum batch is "
                       f"{max(terms.moq, bulk)}")
    return Failure(pool_id, "no_bulk_fit",
                   f"no whole number of {bulk}-step bulk units lies between what households need ({low}) and "
                   f"accept ({high})")


def share(total: int, minimums: list[int], maximums: list[int], order: list[float]) -> list[int]:
    """Fair share of ``total``: minimums first, then equal rises (water-filling) up to each maximum;
    indivisible steps go one each to the earliest in ``order``. Requires sum(min) <= total <= sum(max)."""
    n = len(minimums)
    rest = total - sum(minimums)
    room = [hi - lo for lo, hi in zip(minimums, maximums)]
    if rest < 0 or rest > sum(room):
        raise ValueError("total outside what the households accept")
    # the water level L: sum(min(room_i, L)) <= rest, found over the sorted rooms
    sorted_room = sorted(room)
    level, used, remaining = 0, 0, n
    for r in sorted_room:
        if used + (r - level) * remaining > rest:
            break
        used += (r - level) * remaining
        level = r
        remaining -= 1
    if remaining:
        level += (rest - used) // remaining
    quantities = [lo + min(r, level) for lo, r in zip(minimums, room)]
    leftover = total - sum(quantities)
    for i in sorted(range(n), key=lambda k: order[k]):
        if leftover == 0:
            break
        if quantities[i] < maximums[i]:
            quantities[i] += 1
            leftover -= 1
    return quantities
