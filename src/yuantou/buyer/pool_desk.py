"""A buyer node's pools, kept in its store: every join, withdrawal and close is committed as it happens.

The pure rules live in ``domain.pooling`` and ``domain.pool_book``; this module maps
them to rows. The in-memory book is a cache of the open pools: it is rebuilt from the
store at start (so a restart at any moment loses nothing) and after any failed write
(so memory never runs ahead of disk). Closing a pool — allocation, the pool's outcome
and every household's line — is one transaction.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from yuantou.domain.handout import new_pickup_code
from yuantou.domain.pool_book import Opener, PoolBook
from yuantou.domain.pooling import (
    Allocation,
    Failure,
    Intent,
    Pool,
    PoolProblem,
    PoolStatus,
    PoolTerms,
    PriceTier,
    ProductSpec,
)
from yuantou.store.tables import pool_intents, pools

T = TypeVar("T")


# -- rows <-> domain ----------------------------------------------------------------------

def spec_json(spec: ProductSpec) -> str:
    return json.dumps({"item_id": spec.item_id, "category": spec.category, "grade": spec.grade})


def spec_from_json(text: str) -> ProductSpec:
    return ProductSpec(**json.loads(text))


def terms_json(terms: PoolTerms) -> str:
    return json.dumps({
        "spec": json.loads(spec_json(terms.spec)), "pickup_points": sorted(terms.pickup_points),
        "window": list(terms.window), "cutoff": terms.cutoff, "bulk_unit": terms.bulk_unit, "moq": terms.moq,
        "tiers": [[t.min_quantity, t.unit_price] for t in terms.tiers], "max_quantity": terms.max_quantity,
        "target_quantity": terms.target_quantity, "target_turnover": terms.target_turnover,
        "step": str(terms.step), "unit": terms.unit, "currency": terms.currency,
    })


def terms_from_json(text: str) -> PoolTerms:
    d = json.loads(text)
    return PoolTerms(
        spec=ProductSpec(**d["spec"]), pickup_points=frozenset(d["pickup_points"]), window=tuple(d["window"]),
        cutoff=d["cutoff"], bulk_unit=d["bulk_unit"], moq=d["moq"],
        tiers=tuple(PriceTier(m, p) for m, p in d["tiers"]), max_quantity=d["max_quantity"],
        target_quantity=d["target_quantity"], target_turnover=d["target_turnover"], step=Decimal(d["step"]),
        unit=d["unit"], currency=d["currency"])


def outcome_json(outcome: Allocation | Failure) -> str:
    if isinstance(outcome, Failure):
        return json.dumps({"failed": True, "code": outcome.code, "reason": outcome.reason})
    return json.dumps({"failed": False, "total": outcome.total, "unit_price": outcome.unit_price,
                       "lines": [[line.intent_id, line.household, line.quantity] for line in outcome.lines],
                       "priced_out": list(outcome.priced_out), "left_out": list(outcome.left_out)})


def codes_in_use(conn: Connection, pickup_points: set[str]) -> dict[str, set[str]]:
    """The pickup codes of lines still to be handed out at each of these pickup points (a new code must differ)."""
    taken: dict[str, set[str]] = {point: set() for point in pickup_points}
    for point, code in conn.execute(select(pool_intents.c.pickup_point, pool_intents.c.pickup_code).where(
            pool_intents.c.pickup_point.in_(sorted(pickup_points)), pool_intents.c.pickup_code.is_not(None),
            pool_intents.c.handed_out_at.is_(None))):
        taken[point].add(code)
    return taken


def intent_from_row(row: Any) -> Intent:
    return Intent(row["intent_id"], row["household"], spec_from_json(row["spec"]), row["min_quantity"],
                  row["max_quantity"], row["max_price"], row["pickup_point"], (row["window_start"], row["window_end"]),
                  row["joined_at"])


# -- the desk -------------------------------------------------------------------------------

INSERT_INTENT = pool_intents.insert()  # built once: a household's join is the hot path


class PoolDesk:
    def __init__(self, opener: Opener | None = None) -> None:
        self.opener = opener or (lambda intent, now: None)
        self.book = PoolBook(self.opener, new_id=lambda: "pool-" + uuid.uuid4().hex[:12])

    def load(self, conn: Connection) -> None:
        """Rebuild the book of open pools from the store."""
        self.book = PoolBook(self.opener, new_id=self.book.new_id)
        open_terms = {r["pool_id"]: terms_from_json(r["terms"]) for r in conn.execute(
            select(pools.c.pool_id, pools.c.terms).where(pools.c.status == PoolStatus.OPEN.value)).mappings()}
        members: dict[str, dict[str, Intent]] = {pool_id: {} for pool_id in open_terms}
        if open_terms:
            rows = conn.execute(select(pool_intents).where(pool_intents.c.status == "joined")
                                .order_by(pool_intents.c.joined_at)).mappings()
            for row in rows:
                if row["pool_id"] in members:
                    members[row["pool_id"]][row["intent_id"]] = intent_from_row(row)
        for pool_id, terms in open_terms.items():
            self.book.add_pool(Pool(pool_id, terms, members[pool_id]))

    def _guarded(self, conn: Connection, change: Callable[[], T]) -> T:
        """Run a change to memory and store; if anything fails, memory is rebuilt from the store."""
        try:
            with conn.begin_nested():
                return change()
        except PoolProblem:
            raise  # the domain refuses before it changes anything
        except BaseException:
            self.load(conn)
            raise

    def open_pool(self, conn: Connection, terms: PoolTerms, now: float | None = None) -> Pool:
        """An organiser opens a pool explicitly (households then join it, or the best pool, by product)."""
        now = time.time() if now is None else now
        if terms.cutoff <= now:
            raise PoolProblem("bad_terms", "the cut-off is already past", "cutoff")

        def change() -> Pool:
            pool = self.book.add_pool(Pool(self.book.new_id(), terms))
            self._insert_pool(conn, pool, now)
            return pool
        return self._guarded(conn, change)

    def _insert_pool(self, conn: Connection, pool: Pool, now: float) -> None:
        conn.execute(pools.insert().values(pool_id=pool.id, terms=terms_json(pool.terms), status=pool.status.value,
                                           cutoff=pool.terms.cutoff, created_at=now))

    def join(self, conn: Connection, intent: Intent, now: float | None = None, pool_id: str | None = None) -> Pool:
        """Place a household's intent in the best pool (or the one named); raises PoolProblem.

        The pool is chosen without touching memory, the rows are written, and only then is the
        book updated: a write that fails (say, an intent id already stored) leaves both as they were."""
        now = time.time() if now is None else now
        if pool_id is None:
            pool = self.book.choose(intent, now)
        elif pool_id in self.book.pools:
            pool = self.book.target(intent, pool_id, now)
        else:
            raise self.not_open(conn, pool_id)
        with nullcontext() if conn.in_nested_transaction() else conn.begin_nested():
            if pool.id not in self.book.pools:
                self._insert_pool(conn, pool, now)
            try:
                conn.execute(INSERT_INTENT, {
                    "intent_id": intent.id, "pool_id": pool.id, "household": intent.household,
                    "spec": spec_json(intent.spec), "min_quantity": intent.min_quantity,
                    "max_quantity": intent.max_quantity, "max_price": intent.max_price,
                    "pickup_point": intent.pickup_point, "window_start": intent.window[0],
                    "window_end": intent.window[1], "joined_at": intent.joined_at or now, "status": "joined",
                    "updated_at": now})
            except IntegrityError:
                raise PoolProblem("duplicate_intent", f"intent {intent.id} exists already", "intent_id") from None
        return self.book.admit(pool, intent, now)

    @staticmethod
    def not_open(conn: Connection, pool_id: str) -> PoolProblem:
        """Why a pool the book does not hold takes no join: closed before this process started, or never existed."""
        status = conn.execute(select(pools.c.status).where(pools.c.pool_id == pool_id)).scalar()
        if status is None:
            return PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
        return PoolProblem("pool_closed", f"pool {pool_id} is {status}, no longer open", "pool_id")

    def withdraw(self, conn: Connection, intent_id: str, now: float | None = None) -> Intent:
        now = time.time() if now is None else now
        row = conn.execute(select(pool_intents.c.status, pool_intents.c.pool_id)
                           .where(pool_intents.c.intent_id == intent_id)).first()
        if row is None:
            raise PoolProblem("unknown_intent", f"no intent {intent_id}", "intent_id")
        if row.status == "withdrawn":
            raise PoolProblem("already_withdrawn", f"intent {intent_id} was already withdrawn", "intent_id")
        if row.status != "joined":
            raise PoolProblem("pool_closed", f"pool {row.pool_id} has closed; intent {intent_id} can no longer "
                                             "be withdrawn", "intent_id")

        def change() -> Intent:
            intent = self.book.withdraw(intent_id, now)
            conn.execute(update(pool_intents).where(pool_intents.c.intent_id == intent_id)
                         .values(status="withdrawn", updated_at=now))
            return intent
        return self._guarded(conn, change)

    def change(self, conn: Connection, intent_id: str, new: Intent, now: float | None = None) -> Pool:
        """Replace an open line by ``new`` in the same pool, or refuse and keep the old one (memory and store).

        The old line leaves first, so a new maximum is checked against the pool without it."""
        now = time.time() if now is None else now
        pool_id = conn.execute(select(pool_intents.c.pool_id).where(pool_intents.c.intent_id == intent_id)).scalar()
        try:
            with conn.begin_nested():  # undone as a whole if the new line is refused
                self.withdraw(conn, intent_id, now)
                return self.join(conn, new, now, pool_id=pool_id)
        except PoolProblem:
            pool = self.book.pools.get(str(pool_id))
            if pool is not None and intent_id not in pool.intents:  # withdrawn from memory, then refused: put back
                row = conn.execute(select(pool_intents).where(pool_intents.c.intent_id == intent_id)).mappings().one()
                self.book.admit(pool, intent_from_row(row), now)
            raise
        except BaseException:
            self.load(conn)
            raise

    def close(self, conn: Connection, pool_id: str, now: float | None = None) -> Allocation | Failure:
        """Close one pool now (an organiser's decision, or its cut-off): allocate and record every line."""
        now = time.time() if now is None else now
        pool = self.book.pools.get(pool_id)
        if pool is None or pool.status is not PoolStatus.OPEN:
            status = conn.execute(select(pools.c.status).where(pools.c.pool_id == pool_id)).scalar()
            if status is None:
                raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
            raise PoolProblem("pool_closed", f"pool {pool_id} is already {status}", "pool_id")

        open_pool = pool

        def change() -> Allocation | Failure:
            points = {intent_id: intent.pickup_point for intent_id, intent in open_pool.intents.items()}
            self.book.close(open_pool)
            outcome = open_pool.outcome
            assert outcome is not None  # closing a pool decides it
            conn.execute(update(pools).where(pools.c.pool_id == pool_id).values(
                status=open_pool.status.value, outcome=outcome_json(outcome), closed_at=now,
                procurement=None if isinstance(outcome, Failure) else "pending"))
            joined = pool_intents.c.pool_id == pool_id, pool_intents.c.status == "joined"
            if isinstance(outcome, Failure):
                conn.execute(update(pool_intents).where(*joined).values(status="failed", quantity=0, updated_at=now))
                return outcome
            taken = codes_in_use(conn, {points[line.intent_id] for line in outcome.lines})
            for line in outcome.lines:
                code = new_pickup_code(taken.setdefault(points[line.intent_id], set()), secrets.randbelow)
                conn.execute(update(pool_intents).where(pool_intents.c.intent_id == line.intent_id).values(
                    status="allocated", quantity=line.quantity, unit_price=outcome.unit_price, updated_at=now,
                    pickup_code=code))
            for status, ids in (("priced_out", outcome.priced_out), ("left_out", outcome.left_out)):
                if ids:
                    conn.execute(update(pool_intents).where(pool_intents.c.intent_id.in_(ids))
                                 .values(status=status, quantity=0, updated_at=now))
            return outcome
        return self._guarded(conn, change)

    def close_due(self, conn: Connection, now: float | None = None) -> list[tuple[str, Allocation | Failure]]:
        """Close every pool at its cut-off, or early once its target is reached."""
        now = time.time() if now is None else now
        due = {p.id for p in self.book.due(now)}
        due |= {p.id for p in self.book.pools.values() if p.status is PoolStatus.OPEN and p.should_close(now)}
        return [(pool_id, self.close(conn, pool_id, now)) for pool_id in sorted(due)]
