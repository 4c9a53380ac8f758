"""A buyer node's service layer: the organiser's and households' commands, and the buyer side of Beckn.

``BuyerService`` holds the producers' catalogs this node has seen, its pools (``PoolDesk``) and the
procurement that buys closed pools; it applies callbacks the processor hands it (``CallbackHandler``)
and runs each command in one store transaction. Households' joins and withdrawals are group-committed:
many per fsync, and if a commit fails, memory is rebuilt from disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.buyer import households
from yuantou.buyer import orders as buyer_orders
from yuantou.buyer.commands import (
    AskQuote,
    AskStatus,
    Cancel,
    Change,
    ClosePool,
    Confirm,
    HandOut,
    Join,
    OpenPool,
    OrderProblem,
    RefreshOffers,
    Register,
    Resource,
    Search,
    Withdraw,
)
from yuantou.buyer.households import Household, Registration
from yuantou.buyer.pool_desk import PoolDesk, intent_from_row
from yuantou.buyer.pool_feed import PoolFeed
from yuantou.buyer.pool_lists import PoolState, household_lines, pick_lists, purchase_lists, units
from yuantou.buyer.procurement import Procurement
from yuantou.buyer.receipts import sign_receipt
from yuantou.buyer.sources import Source, descriptor_name, product_sources
from yuantou.buyer.views import (
    PoolSnapshot,
    open_lines_of,
    open_pool_view,
    pool_member_rows,
    pool_view,
    pool_views,
    snapshot_of,
    stored_snapshot,
)
from yuantou.domain.handout import HANDED_OUT, hand_out_problem
from yuantou.domain.pool_schedule import PoolSchedule, terms_from_offers
from yuantou.domain.pooling import (
    MINOR_UNITS,
    Intent,
    PoolProblem,
    PoolStatus,
    PoolTerms,
    PriceTier,
    ProductSpec,
    to_steps,
)
from yuantou.domain.sourcing import Offer
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.locales import DEFAULT as DEFAULT_LOCALE
from yuantou.messaging.core import Messenger
from yuantou.protocol.envelope import epoch_iso
from yuantou.protocol.profile import OfferTerms, offer_terms, offers_from_catalog, offers_product
from yuantou.store.group_commit import GroupCommitter
from yuantou.store.tables import inbox, orders, pool_intents, pools

log = logging.getLogger(__name__)
CatalogKey = tuple[str, str, str]  # (producer, provider, item)


NO_PRODUCERS = N_("The directory lists no producer for domain {domain} and city {city}: check this node's domain and "
                  "city.")
DIRECTORY_UNREACHABLE = N_("The directory at {directory} cannot be asked for producers: {reason}")


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def money_minor(value: Decimal, path: str) -> int:
    minor = value * MINOR_UNITS
    if minor != minor.to_integral_value() or minor <= 0:
        raise PoolProblem("bad_price", f"{value} is not a positive amount in whole minor units", path)
    return int(minor)


def _steps_or_none(value: Decimal | None, step: Decimal, path: str) -> int | None:
    return None if value is None else to_steps(value, step, path)


def epoch(moment: datetime, zone: tzinfo) -> float:
    """Seconds since the epoch of an input time; one written without an offset is the node's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def terms_of(command: OpenPool, zone: tzinfo) -> PoolTerms:
    """The pool's terms in whole steps and minor units; a number that is not a whole step is named."""
    step = command.step
    for i, point in enumerate(command.pickup_points):
        if not point.strip() or "," in point:  # the pool tag lists points comma-separated for producers
            raise PoolProblem("bad_pickup_name", f"pickup point {point!r}: give a name without commas",
                              f"pickup_points[{i}]")
    try:
        tiers = tuple(PriceTier(to_steps(t.min_quantity, step, f"tiers[{i}].min_quantity"),
                                money_minor(t.price, f"tiers[{i}].price")) for i, t in enumerate(command.tiers))
        return PoolTerms(
            spec=ProductSpec(command.item_id, command.category, command.grade),
            pickup_points=frozenset(command.pickup_points),
            window=(epoch(command.window_start, zone), epoch(command.window_end, zone)),
            cutoff=epoch(command.cutoff, zone),
            bulk_unit=to_steps(command.bulk_unit, step, "bulk_unit"), moq=to_steps(command.moq, step, "moq"),
            tiers=tiers, max_quantity=_steps_or_none(command.max_quantity, step, "max_quantity"),
            target_quantity=_steps_or_none(command.target_quantity, step, "target_quantity"),
            target_turnover=None if command.target_turnover is None
            else money_minor(command.target_turnover, "target_turnover"),
            step=step, unit=command.unit, currency=command.currency)
    except (InvalidOperation, ArithmeticError):
        raise PoolProblem("bad_terms", "a number in the pool's terms is out of range", "tiers") from None


def intent_of(command: Join, step: Decimal, zone: tzinfo, pool: PoolTerms | None = None) -> Intent:
    """The household's intent; a window or product left out is the named pool's (``pool``)."""
    if command.window_start is not None and command.window_end is not None:
        window = (epoch(command.window_start, zone), epoch(command.window_end, zone))
    elif pool is not None:
        window = pool.window
    else:
        raise PoolProblem("bad_window", "give the window the household can collect in, or name an open pool",
                          "window_start")
    spec = ProductSpec(command.item_id, command.category, command.grade) \
        if command.item_id or command.category or pool is None else pool.spec
    intent = Intent(
        command.intent_id or "intent-" + uuid.uuid4().hex[:16], command.household, spec,
        to_steps(command.min_quantity, step, "min_quantity"), to_steps(command.max_quantity, step, "max_quantity"),
        money_minor(command.max_price, "max_price"), command.pickup_point, window)
    intent.check()
    return intent


class BuyerService:
    """The buyer role of a node (an organiser's node, 团长)."""

    def __init__(self, messenger: Messenger, schedule: PoolSchedule, gateway_url: str | None = None,
                 refresh_seconds: int = 0) -> None:
        self.messenger = messenger
        self.refresh_seconds = refresh_seconds  # how often the producers' catalogs are asked for again (0: never)
        self.last_refresh: dict[str, Any] | None = None
        self._refresh_warning: tuple[str, dict[str, str]] | None = None
        self.db = messenger.db
        self.schedule = schedule
        self.gateway_url = gateway_url or messenger.config.directory_url
        # the latest offer of every (producer, provider, item) seen in on_search, and when each arrived
        self.catalogs: dict[CatalogKey, dict[str, Any]] = {}
        self.catalog_seen: dict[CatalogKey, float] = {}
        self._sources: dict[ProductSpec, tuple[Source, ...]] = {}  # found once per product, until a catalog arrives
        self.pool_desk = PoolDesk(self._pool_terms_for)
        self.procurement = Procurement(self.offers_for, lambda: {bpp_id for bpp_id, _, _ in self.catalogs},
                                       messenger.queue_request, messenger.registry, messenger.outbox.wake)
        self.pool_writes = GroupCommitter(self.db, on_commit_failure=lambda: self.db.run(self.pool_desk.load))
        self.feed = PoolFeed()  # wakes the storefront's live pages when a pool changes
        self.sessions = households.SessionCache()
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        self.catalogs, self.catalog_seen = await self.db.run(buyer_orders.latest_catalogs)
        await self.db.run(self.pool_desk.load)
        self._tasks = [asyncio.create_task(self._close_pools_loop(), name="pools"),
                       asyncio.create_task(self.pool_writes.run(), name="pool-writes"),
                       asyncio.create_task(self.procurement.run(self.db), name="procurement")]
        if self.refresh_seconds:
            self._tasks.append(asyncio.create_task(self._refresh_loop(), name="offers"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- the buyer side of Beckn (CallbackHandler) -------------------------------------------

    def apply(self, conn: Connection, action: str, payload: dict[str, Any], received_at: float) -> None:
        buyer_orders.record_callback(conn, action, payload)
        self.procurement.on_callback(conn, action, payload)
        if action == "on_search" and not payload.get("error"):
            catalog = (payload.get("message") or {}).get("catalog")
            if catalog:
                fresh = buyer_orders.catalog_pieces(payload["context"].get("bpp_id", ""), catalog)
                self.catalogs.update(fresh)
                self.catalog_seen.update(dict.fromkeys(fresh, received_at))
                self._sources.clear()

    def unsolicited_status_problem(self, conn: Connection, sender: str | None, transaction_id: str,
                                   message: Any) -> str | None:
        return buyer_orders.unsolicited_status_problem(conn, sender, transaction_id, message)

    # -- offers ------------------------------------------------------------------------------

    def offered(self, spec: ProductSpec) -> bool:
        """Whether a producer's catalog we hold lists the product at all."""
        return any(offers_product(piece, spec) for piece in self.catalogs.values())

    def sources(self, spec: ProductSpec) -> tuple[Source, ...]:
        """The producers (name, place) whose catalogs list ``spec``: the source a household sees."""
        found = self._sources.get(spec)
        if found is None:
            found = self._sources[spec] = product_sources(self.catalogs, spec)
        return found

    def offer_terms(self, producer: str, provider: str, item: str) -> OfferTerms | None:
        """A producer's terms for one item, as the organiser's open-pool form starts from them."""
        piece = self.catalogs.get((producer, provider, item))
        return None if piece is None else offer_terms(piece)

    def offers_for(self, spec: ProductSpec, window: tuple[float, float], step: Decimal) -> list[Offer]:
        """Every producer's offer of ``spec`` deliverable in ``window``, from the catalogs we hold."""
        return [replace(offer, seen_at=self.catalog_seen.get(key, 0.0)) for key, piece in self.catalogs.items()
                for offer in offers_from_catalog(key[0], piece, spec, window, step)[0]]

    def _pool_terms_for(self, intent: Intent, now: float) -> PoolTerms | None:
        """Open a pool for an intent no open pool takes: the next cut-off, on the producers' catalog terms."""
        cutoff = self.schedule.next_cutoff(now)
        offers = self.offers_for(intent.spec, self.schedule.pickup_window(cutoff), self.schedule.step)
        return terms_from_offers(intent, offers, self.schedule, cutoff)

    async def _close_pools_loop(self, every: float = 1.0) -> None:
        """Close pools at their cut-off (or on reaching their target), whatever else the node is doing."""
        while True:
            try:
                closed = await self.db.run(self.pool_desk.close_due)
                for pool_id, outcome in closed:
                    log.info("pool %s closed: %s", pool_id, type(outcome).__name__)
                if closed:
                    self.procurement.pending = True
                    self.feed.bump(pool_id for pool_id, _ in closed)
            except Exception:
                log.exception("closing due pools failed; will retry")
            await asyncio.sleep(every)

    async def _refresh_loop(self) -> None:
        """Keep the producers' offers fresh with no one searching by hand: at start, then every refresh_seconds."""
        while True:
            try:
                await self.refresh_offers(RefreshOffers())
            except Exception:
                log.exception("refreshing the producers' offers failed; will retry")
            await asyncio.sleep(self.refresh_seconds)

    async def refresh_offers(self, command: RefreshOffers, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
        """Search the network again for every producer's catalog, and say so when the directory knows none."""
        config = self.messenger.config
        warning: tuple[str, dict[str, str]] | None = None  # a text to translate, and what fills it
        try:
            listed = await self.messenger.registry.lookup(type="BPP", domain=config.domain, city=config.city)
        except (httpx.HTTPError, ValueError) as exc:
            listed, warning = [], (DIRECTORY_UNREACHABLE, {"directory": config.directory_url, "reason": str(exc)})
        producers = sorted({str(e.get("subscriber_id")) for e in listed if e.get("subscriber_id")})
        if warning is None and not producers:
            warning = (NO_PRODUCERS, {"domain": config.domain, "city": config.city})
        sent = await self.search(Search()) if producers else None
        self._refresh_warning = warning
        self.last_refresh = {"at": time.time(), "producers_listed": producers, "search": sent}
        return self.offers(locale)

    def offers(self, locale: str = DEFAULT_LOCALE) -> dict[str, Any]:
        """Every producer's offer this node holds, when each arrived, and how the last refresh went (its warning
        in ``locale``)."""
        rows = []
        for (producer, provider, item_id), piece in sorted(self.catalogs.items()):
            item = piece["providers"][0]["items"][0]
            price = _object(item.get("price"))  # a peer's catalog: whatever the schema let through
            rows.append({"producer": producer, "provider": provider, "item_id": item_id,
                         "name": _object(item.get("descriptor")).get("name"),
                         "category": (item.get("category_ids") or [None])[0], "price": price.get("value"),
                         "currency": price.get("currency"), "seen_at": self.catalog_seen.get((producer, provider, item_id))})
        warning = self._refresh_warning
        text = None if warning is None else gettext(locale, warning[0], **warning[1])
        return {"offers": rows, "last_refresh": None if self.last_refresh is None else {**self.last_refresh,
                                                                                        "warning": text},
                "warning": text}

    # -- pools: the organiser's and households' commands -------------------------------------

    async def open_pool(self, command: OpenPool) -> dict[str, Any]:
        def run(conn: Connection) -> dict[str, Any]:
            terms = terms_of(command, self.schedule.zone)
            if not self.offered(terms.spec):
                raise PoolProblem("unknown_product", "no producer's catalog this node holds lists that product; "
                                                     "search for it first (POST /api/search)",
                                  "item_id" if command.item_id else "category")
            pool = self.pool_desk.open_pool(conn, terms)
            return self._view(conn, pool.id)
        return await self.db.run(run)

    def join_change(self, command: Join) -> Callable[[Connection], dict[str, Any]]:
        """The store change of one household joining: run by the group committer."""
        def run(conn: Connection) -> dict[str, Any]:
            named = None
            if command.pool_id:
                named = self.pool_desk.book.pools.get(command.pool_id)
                if named is None:
                    raise self.pool_desk.not_open(conn, command.pool_id)
            step = named.terms.step if named else self._step_for(command)
            intent = intent_of(command, step, self.schedule.zone, named.terms if named else None)
            pool = self.pool_desk.join(conn, intent, pool_id=command.pool_id)
            return {"intent_id": intent.id, "pool_id": pool.id, "pool": open_pool_view(pool)}
        return run

    async def join(self, command: Join) -> dict[str, Any]:
        result: dict[str, Any] = await self.pool_writes.submit(self.join_change(command))
        self.feed.bump([result["pool_id"]])
        return result

    async def withdraw(self, command: Withdraw) -> dict[str, Any]:
        def run(conn: Connection) -> dict[str, Any]:
            pool_id = self._own_line(conn, command.intent_id, command.household)["pool_id"]
            self.pool_desk.withdraw(conn, command.intent_id)
            return {"intent_id": command.intent_id, "pool_id": pool_id, "status": "withdrawn"}
        result: dict[str, Any] = await self.pool_writes.submit(run)
        self.feed.bump([result["pool_id"]])
        return result

    async def change(self, command: Change) -> dict[str, Any]:
        """A household's new quantity and price limit for its line, in the same pool, as one change."""
        def run(conn: Connection) -> dict[str, Any]:
            row = self._own_line(conn, command.intent_id, command.household)
            pool = self.pool_desk.book.pools.get(row["pool_id"])
            if pool is None or row["status"] != "joined":
                raise PoolProblem("pool_closed", f"pool {row['pool_id']} has closed or the line was withdrawn; it can "
                                                 "no longer change", "intent_id")
            old, step = intent_from_row(row), pool.terms.step
            new = Intent("intent-" + uuid.uuid4().hex[:16], command.household, old.spec,
                         to_steps(command.min_quantity, step, "min_quantity"),
                         to_steps(command.max_quantity, step, "max_quantity"),
                         money_minor(command.max_price, "max_price"), old.pickup_point, old.window)
            new.check()
            changed = self.pool_desk.change(conn, command.intent_id, new)
            return {"intent_id": new.id, "replaces": command.intent_id, "pool_id": changed.id,
                    "pool": open_pool_view(changed)}
        result: dict[str, Any] = await self.pool_writes.submit(run)
        self.feed.bump([result["pool_id"]])
        return result

    @staticmethod
    def _own_line(conn: Connection, intent_id: str, household: str | None) -> Any:
        """The stored line, if it exists and (when a household asks) is that household's: another's is unknown."""
        row = conn.execute(select(pool_intents).where(pool_intents.c.intent_id == intent_id)).mappings().first()
        if row is None or (household is not None and row["household"] != household):
            raise PoolProblem("unknown_intent", f"no intent {intent_id}", "intent_id")
        return row

    async def close_pool(self, command: ClosePool) -> dict[str, Any]:
        def run(conn: Connection) -> dict[str, Any]:
            self.pool_desk.close(conn, command.pool_id)
            self.procurement.pending = True
            return self._view(conn, command.pool_id)
        view = await self.db.run(run)
        self.feed.bump([command.pool_id])
        return view

    # -- households at the storefront ---------------------------------------------------------

    def open_snapshots(self, pickup_point: str | None = None) -> list[PoolSnapshot]:
        """The open pools (at one pickup point, or all), from memory: soonest cut-off first."""
        now = time.time()
        found = [snapshot_of(pool) for pool in self.pool_desk.book.pools.values()
                 if pool.status is PoolStatus.OPEN and now < pool.terms.cutoff
                 and (pickup_point is None or pickup_point in pool.terms.pickup_points)]
        return sorted(found, key=lambda s: (s.terms.cutoff, s.pool_id))

    async def snapshot(self, pool_id: str) -> PoolSnapshot | None:
        """One pool as a household sees it: open ones from memory, closed ones from the store."""
        pool = self.pool_desk.book.pools.get(pool_id)
        if pool is not None and pool.status is PoolStatus.OPEN:
            return snapshot_of(pool)
        return await self.db.run(lambda c: stored_snapshot(c, pool_id))

    async def pool_members(self, pool_id: str) -> list[dict[str, Any]]:
        return await self.db.run(lambda c: pool_member_rows(c, pool_id))

    async def open_lines(self, household: str) -> dict[str, dict[str, Any]]:
        """A household's lines still open to change, by pool."""
        return await self.db.run(lambda c: open_lines_of(c, household))

    def item_name(self, item: str | None) -> str | None:
        """What a producer's catalog calls an item id (peer text, shown escaped), if this node holds it."""
        return next((descriptor_name(piece["providers"][0]["items"][0])
                     for (_, _, item_id), piece in self.catalogs.items() if item_id == item), None)

    def producer_name(self, producer: str) -> str:
        """What a producer calls itself in its catalog, else its subscriber id."""
        named = next((descriptor_name(piece["providers"][0]) for (producer_id, _, _), piece in self.catalogs.items()
                      if producer_id == producer), None)
        return named or producer

    async def register(self, command: Register) -> Registration:
        return await self.db.run(lambda c: households.register(c, command.name, command.phone))

    async def session_from_link(self, link_secret: str) -> tuple[Household, str] | None:
        return await self.db.run(lambda c: households.session_from_link(c, link_secret))

    async def household_of(self, session_secret: str | None) -> Household | None:
        if not session_secret:
            return None
        cached = self.sessions.get(session_secret)
        if cached is not None:
            return cached
        found = await self.db.run(lambda c: households.session_of(c, session_secret))
        if found is None:
            return None
        self.sessions.put(session_secret, *found)
        return found[0]

    async def new_link(self, household_id: str) -> str:
        return await self.db.run(lambda c: households.new_link(c, household_id))

    async def end_session(self, session_secret: str | None) -> None:
        await self.db.run(lambda c: households.end_session(c, session_secret))
        self.sessions.forget(session_secret)

    async def contacts(self, household_ids: set[str]) -> dict[str, Household]:
        return await self.db.run(lambda c: households.contacts(c, household_ids))

    async def resource(self, command: Resource) -> dict[str, Any]:
        def run(conn: Connection) -> dict[str, Any]:
            pool_id = command.pool_id
            state = conn.execute(select(pools.c.procurement).where(pools.c.pool_id == pool_id)).first()
            if state is None:
                raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
            if state.procurement != "unsourced":
                raise PoolProblem("not_unsourced", f"pool {pool_id} is {state.procurement or 'not allocated'}; "
                                                   "only an unsourced pool can be sourced again", "pool_id")
            conn.execute(update(pools).where(pools.c.pool_id == pool_id).values(procurement="pending"))
            self.procurement.pending = True
            return self._view(conn, pool_id)
        return await self.db.run(run)

    def _step_for(self, command: Join) -> Decimal:
        """The step of the pools this intent could join, else the step of pools the node opens itself."""
        if not (command.item_id or command.category):
            raise PoolProblem("bad_product", "name an item or a category", "item_id")
        spec = ProductSpec(command.item_id, command.category, command.grade)
        return next((pool.terms.step for pool in self.pool_desk.book.candidates(spec, command.pickup_point)),
                    self.schedule.step)

    @staticmethod
    def _view(conn: Connection, pool_id: str) -> dict[str, Any]:
        view = pool_view(conn, pool_id)
        if view is None:
            raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
        return view

    async def hand_out(self, command: HandOut) -> dict[str, Any]:
        """Hand out the line whose pickup code was shown at this pickup point: its final state."""
        def run(conn: Connection) -> dict[str, Any]:
            code = command.code.replace(" ", "")
            row = conn.execute(select(pool_intents.c.intent_id, pool_intents.c.pool_id, pool_intents.c.handed_out_at)
                               .where(pool_intents.c.pickup_point == command.pickup_point,
                                      pool_intents.c.pickup_code == code, pool_intents.c.status == "allocated")
                               .order_by(pool_intents.c.handed_out_at.is_not(None))).first()
            if row is None:
                raise PoolProblem("unknown_code", f"no line at {command.pickup_point} has pickup code {code}", "code")
            state = PoolState(conn, row.pool_id)
            problem = hand_out_problem(state.status_of(row.intent_id), row.handed_out_at is not None)
            if problem:
                raise problem
            now = time.time()
            conn.execute(update(pool_intents).where(pool_intents.c.intent_id == row.intent_id)
                         .values(handed_out_at=now, updated_at=now))
            member = state.members[row.intent_id]
            return {"intent_id": row.intent_id, "pool_id": row.pool_id, "household": member["household"],
                    "pickup_point": command.pickup_point, "item": state.terms.spec.item_id or state.terms.spec.category,
                    "quantity": units(member["quantity"], state.terms.step), "unit": state.terms.unit,
                    "status": HANDED_OUT, "handed_out_at": now}
        return await self.db.run(run)

    async def hand_out_sheet(self, pickup_point: str) -> dict[str, Any]:
        """At one pickup point: every line of the bought pools, who has collected and who has not."""
        lists = await self.pick_lists(pickup_point)
        rows = lists.get(pickup_point, [])
        waiting = [r for r in rows if r["status"] != HANDED_OUT]
        return {"pickup_point": pickup_point, "lines": rows, "handed_out": len(rows) - len(waiting),
                "left": len(waiting), "not_collected": sorted({r["household"] for r in waiting})}

    # -- pools: what the organiser and households read ---------------------------------------

    async def pools(self, status: str | None = None) -> list[dict[str, Any]]:
        return await self.db.run(lambda c: pool_views(c, status))

    async def pool(self, pool_id: str) -> dict[str, Any]:
        return await self.db.run(lambda c: self._view(c, pool_id))

    async def household_lines(self, household: str) -> list[dict[str, Any]]:
        """A household's lines; each allocated one with its receipt, signed with this node's key."""
        lines = await self.db.run(lambda c: household_lines(c, household))
        signer = self.messenger.signer
        for line in lines:
            if line["allocated_at"] is not None:
                fields = {**line, "organiser": self.messenger.config.subscriber_id,
                          "pickup_window": [epoch_iso(t) for t in line["pickup_window"]],
                          "allocated_at": epoch_iso(line["allocated_at"])}
                line["receipt"] = sign_receipt(fields, self.messenger.keys.signing, signer.key_id_header)
        return lines

    async def pick_lists(self, pickup_point: str | None = None) -> dict[str, list[dict[str, Any]]]:
        return await self.db.run(lambda c: pick_lists(c, pickup_point))

    async def purchase_lists(self, producer: str | None = None) -> dict[str, list[dict[str, Any]]]:
        return await self.db.run(lambda c: purchase_lists(c, producer))

    # -- orders placed by hand (search → select → init → confirm → status/cancel) -----------

    async def _producer_url(self, bpp_id: str) -> str:
        peer = await self.messenger.registry.find(bpp_id, "BPP")
        if peer is None:
            raise OrderProblem("unknown_producer", f"producer {bpp_id!r} is not in the directory", "bpp_id")
        return peer.url

    async def search(self, command: Search) -> dict[str, Any]:
        intent: dict[str, Any] = {}
        if command.query:
            intent["item"] = {"descriptor": {"name": command.query}}
        if command.category:
            intent["category"] = {"id": command.category}
        if command.bpp_id:
            context = await self.messenger.send_request("search", {"intent": intent}, bpp_id=command.bpp_id,
                                                        bpp_uri=await self._producer_url(command.bpp_id))
        else:
            context = await self.messenger.send_request("search", {"intent": intent}, target_url=self.gateway_url)
        return _sent(context)

    async def ask_quote(self, command: AskQuote) -> dict[str, Any]:
        message = buyer_orders.select_message(
            command.provider_id, [{"id": i.id, "quantity": i.quantity, "unit": i.unit} for i in command.items],
            command.window_id, command.delivery_gps)
        if command.billing:
            message["order"]["billing"] = command.billing
        context = await self.messenger.send_request(command.action, message, transaction_id=command.transaction_id,
                                                    bpp_id=command.bpp_id, bpp_uri=await self._producer_url(command.bpp_id))
        return _sent(context)

    async def confirm(self, command: Confirm) -> dict[str, Any]:
        def quoted(conn: Connection) -> dict[str, Any] | None:
            rows = conn.execute(select(inbox.c.body).where(
                inbox.c.transaction_id == command.transaction_id, inbox.c.action == "on_init",
                inbox.c.sender_id == command.bpp_id, inbox.c.processed_at.is_not(None)).order_by(inbox.c.id)).scalars()
            payloads = [p for p in map(json.loads, rows) if not p.get("error")]
            order: dict[str, Any] | None = payloads[-1]["message"]["order"] if payloads else None
            return order
        order = await self.db.run(quoted)
        if order is None:
            raise OrderProblem("not_quoted", "no successful on_init from this producer in this transaction; "
                                             "call /api/init first", "transaction_id")
        context = await self.messenger.send_request("confirm", {"order": order}, transaction_id=command.transaction_id,
                                                    bpp_id=command.bpp_id, bpp_uri=await self._producer_url(command.bpp_id))
        return _sent(context)

    async def _about_order(self, order_id: str, action: str, message: dict[str, Any]) -> dict[str, Any]:
        row = await self.db.run(lambda c: c.execute(select(orders.c.transaction_id, orders.c.counterparty_id).where(
            orders.c.order_id == order_id, orders.c.side == "buy")).first())
        if row is None:
            raise OrderProblem("unknown_order", f"no order {order_id!r} at this node", "order_id")
        context = await self.messenger.send_request(action, message, transaction_id=row.transaction_id,
                                                    bpp_id=row.counterparty_id,
                                                    bpp_uri=await self._producer_url(row.counterparty_id))
        return _sent(context)

    async def ask_status(self, command: AskStatus) -> dict[str, Any]:
        return await self._about_order(command.order_id, "status", {"order_id": command.order_id})

    async def cancel(self, command: Cancel) -> dict[str, Any]:
        message: dict[str, Any] = {"order_id": command.order_id, "descriptor": {"name": command.reason}}
        if command.reason_id:
            message["cancellation_reason_id"] = command.reason_id
        return await self._about_order(command.order_id, "cancel", message)


def _sent(context: dict[str, Any]) -> dict[str, Any]:
    return {"transaction_id": context["transaction_id"], "message_id": context["message_id"]}
