"""A running node: intake, processing and outbox wired around one store.

``receive`` is the whole server side of the Beckn protocol: parse, authenticate,
check roles and schema, match callbacks to requests, store durably, then ACK.
``Processor`` turns stored requests into callbacks in the same transaction that
marks them done. ``send`` queues our own requests in the outbox.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import and_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from yuantou.buyer import orders as buyer_logic
from yuantou.producer import orders as producer_logic
from yuantou.node.config import ConfigError, NodeConfig, load_config
from yuantou.protocol.profile import offers_from_catalog, offers_product
from yuantou.domain.pool_schedule import terms_from_offers
from yuantou.domain.pooling import Intent, PoolTerms, ProductSpec
from yuantou.domain.sourcing import Offer
from yuantou.buyer.pool_desk import PoolDesk
from yuantou.buyer.procurement import Procurement
from yuantou.messaging.traffic import TrafficLog
from yuantou.protocol import envelope as env
from yuantou.protocol import json_guard
from yuantou.protocol.auth import AuthFailure, authenticate
from yuantou.protocol.json_guard import JsonProblem
from yuantou.protocol.envelope import BecknError
from yuantou.messaging.inbox import InboxWriter
from yuantou.ledger.chain import (CHECKPOINT_HEADER, RECEIPT_HEADER, Checkpoint, render_checkpoint, render_receipt,
                                  sign_checkpoint, sign_receipt)
from yuantou.ledger.store import transaction_digests
from yuantou.protocol.keys import KeyError_, KeyPair
from yuantou.messaging.outbox import OutboxSender, Signer, enqueue
from yuantou.protocol.registry_client import RegistryClient
from yuantou.protocol.validation import CALLBACK_ACTIONS, REQUEST_ACTIONS, SchemaViolation, validate_message
from yuantou.store.db import Database
from yuantou.store.group_commit import GroupCommitter
from yuantou.store.tables import inbox, orders, outbox

log = logging.getLogger(__name__)
OUTBOX_CONNECTIONS = 8


@dataclass
class Reply:
    """An HTTP answer to a Beckn call: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _nack(status: int, code: str, message: str, paths: str | None = None) -> Reply:
    return Reply(status, env.nack(BecknError(code, message, paths)))


class OutgoingInvalid(ValueError):
    """A message we were asked to send would break the core schema (usually bad API input)."""

    def __init__(self, violations: list) -> None:
        super().__init__("; ".join(map(str, violations)))
        self.violations = violations


def error_message(action: str, request_message: dict[str, Any]) -> dict[str, Any]:
    """The smallest schema-valid ``message`` for a callback that carries an error."""
    if action == "search":
        return {"catalog": {}}
    if action == "track":
        return {"tracking": {"status": "inactive"}}
    if action in ("select", "init", "confirm", "status", "cancel", "update"):
        order = request_message.get("order") or {}
        if not order and request_message.get("order_id"):
            order = {"id": request_message["order_id"]}
        return {"order": order}
    return {}


class Node:
    def __init__(self, config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient | None = None,
                 config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # watched for a rotated key (None: the key never changes)
        self.keys = keys
        self.db = Database(config.database_url)
        self.http = http or httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        self.registry = RegistryClient(config.directory_url, self.http)
        self.signer = Signer(config.subscriber_id, config.key_id, keys)
        self.inbox = InboxWriter(self.db, on_stored=self._wake_processor,
                                 checkpoints=self._checkpoints if config.ledger else None, ledger=config.ledger)
        # The outbox gets its own small pool: httpx's per-request cost grows with the connections it
        # juggles (measured ~0.6 ms/post at 4, ~2.5 ms at 32), and callbacks need no more.
        self.outbox_http = httpx.AsyncClient(limits=httpx.Limits(
            max_connections=OUTBOX_CONNECTIONS, max_keepalive_connections=OUTBOX_CONNECTIONS))
        self.outbox = OutboxSender(self.db, self.outbox_http, self.signer, self.registry,
                                   max_attempts=config.outbox_max_attempts, concurrency=OUTBOX_CONNECTIONS,
                                   ledger=config.ledger)
        self.provider = producer_logic.Provider(
            config.provider_id or config.subscriber_id, config.provider_name or config.subscriber_id)
        # the latest offer of every (producer, provider, item) seen in on_search (buyer)
        self.catalogs: dict[tuple[str, str, str], dict] = {}
        self.catalog_seen: dict[tuple[str, str, str], float] = {}  # when each of those arrived
        self.pool_desk = PoolDesk(self._pool_terms_for) if config.is_buyer else None
        self.procurement = Procurement(self.offers_for, lambda: {bpp_id for bpp_id, _, _ in self.catalogs},
                                       self.queue_request, self.registry, self.outbox.wake) if config.is_buyer else None
        # households' joins and withdrawals, many per fsync; if a commit fails, memory is rebuilt from disk
        self.pool_writes = GroupCommitter(self.db, on_commit_failure=lambda: self.db.run(self.pool_desk.load))
        self._process_event = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.counters: dict[str, int] = {"ack": 0, "nack": 0, "unauthorized": 0, "duplicate": 0, "processed": 0,
                                         "pair_checkpoints": 0}
        self.pair_outcomes: dict[str, str] = {}  # counterparty → how the last pair checkpoint round went
        self.traffic = TrafficLog()

    # -- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self.config.workers == 1:  # a restart after a crash need not wait for its own old leases
            await self.db.run(self.outbox.release_claims)
        self._tasks = [
            asyncio.create_task(self.inbox.run(), name="inbox"),
            asyncio.create_task(self.outbox.run(), name="outbox"),
            asyncio.create_task(self._process_loop(), name="processor"),
        ]
        if self.config_path is not None:
            self._tasks.append(asyncio.create_task(self.watch_keys(), name="keys"))
        if self.config.ledger and self.config.checkpoint_every_seconds:
            self._tasks.append(asyncio.create_task(self._pair_checkpoint_loop(), name="pair-checkpoints"))
        if self.pool_desk is not None:
            self.catalogs, self.catalog_seen = await self.db.run(buyer_logic.latest_catalogs)
            await self.db.run(self.pool_desk.load)
            self._tasks.append(asyncio.create_task(self._close_pools_loop(), name="pools"))
            self._tasks.append(asyncio.create_task(self.pool_writes.run(), name="pool-writes"))
            self._tasks.append(asyncio.create_task(self.procurement.run(self.db), name="procurement"))
        self._wake_processor()

    async def _pair_checkpoint_loop(self) -> None:
        """Agree a pair checkpoint with each counterparty every ``checkpoint_every_seconds`` (jittered, so that
        two nodes started together do not both start every round)."""
        from yuantou.messaging.pair_checkpoints import exchange_all

        while True:
            await asyncio.sleep(self.config.checkpoint_every_seconds * random.uniform(0.8, 1.2))
            try:
                self.pair_outcomes = await exchange_all(self)
            except OperationalError as exc:
                log.warning("pair checkpoints skipped this round: %s", exc)

    async def watch_keys(self, every: float = 2.0) -> None:
        """Sign with the key the config names: ``yuantou node rotate-key`` rewrites it while the node runs."""
        seen = self.config_path.stat().st_mtime_ns
        while True:
            await asyncio.sleep(every)
            try:
                changed = self.config_path.stat().st_mtime_ns
                if changed == seen:
                    continue
                seen = changed
                fresh = load_config(self.config_path)
                if (fresh.key_id, fresh.key_file) == (self.config.key_id, self.config.key_file):
                    continue
                keys = KeyPair.load(fresh.key_file)
            except (OSError, ConfigError, KeyError_) as exc:
                log.warning("%s changed but its key cannot be loaded (%s); still signing with %s",
                            self.config_path, exc, self.config.key_id)
                continue
            self.use_key(fresh.key_id, fresh.key_file, keys)

    def use_key(self, key_id: str, key_file: Path, keys: KeyPair) -> None:
        """From now on, sign requests, receipts and checkpoints with this key."""
        self.config = self.config.model_copy(update={"key_id": key_id, "key_file": key_file})
        self.keys = keys
        self.signer = Signer(self.config.subscriber_id, key_id, keys)
        self.outbox.signer = self.signer
        log.info("now signing as %s", self.signer.key_id_header)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.http.aclose()
        await self.outbox_http.aclose()
        self.db.close()

    def _wake_processor(self) -> None:
        self._process_event.set()

    # -- receiving ----------------------------------------------------------------------

    def serves(self, action: str) -> bool:
        if action in REQUEST_ACTIONS:
            return self.config.is_producer
        if action in CALLBACK_ACTIONS:
            return self.config.is_buyer
        return False

    async def receive(self, action: str, body: bytes, headers: dict[str, str]) -> Reply:
        reply = await self._receive(action, body, headers)
        status = reply.body.get("message", {}).get("ack", {}).get("status")
        self.counters["ack" if status == "ACK" else "unauthorized" if reply.status == 401 else "nack"] += 1
        self.traffic.record(action, headers.get("authorization"), reply.status, reply.body)
        return reply

    async def _receive(self, action: str, body: bytes, headers: dict[str, str]) -> Reply:
        if action not in REQUEST_ACTIONS and action not in CALLBACK_ACTIONS:
            return _nack(404, env.INVALID_REQUEST, f"/{action} is not a Beckn core 1.1.1 action")
        if not self.serves(action):
            roles = " and ".join(self.config.roles)
            return _nack(400, env.ACTION_NOT_APPLICABLE,
                         f"this node is a {roles} node and does not serve /{action}", "$.context.action")
        try:
            payload = json_guard.loads(body)
        except JsonProblem as problem:
            return _nack(400, env.INVALID_REQUEST, problem.message, problem.path)
        context = payload.get("context") if isinstance(payload, dict) else None
        if not isinstance(context, dict):
            return _nack(400, env.INVALID_REQUEST, "missing context object", "$.context")
        try:
            auth = await authenticate(body, headers, self.registry, skew=self.config.clock_skew_seconds,
                                      backdating=self.config.signature_backdating_seconds)
        except AuthFailure as exc:
            return Reply(401, env.nack(BecknError(env.INVALID_REQUEST, f"unauthorized: {exc.reason}")),
                         exc.challenge(self.config.subscriber_id))
        is_callback = action.startswith("on_")
        claimed = context.get("bpp_id") if is_callback else context.get("bap_id")
        if auth.signer.subscriber_id != claimed:
            who = "bpp_id" if is_callback else "bap_id"
            return Reply(401, env.nack(BecknError(
                env.INVALID_REQUEST, f"signed by {auth.signer.subscriber_id!r} but context.{who} is {claimed!r}",
                f"$.context.{who}")), {"WWW-Authenticate": f'Signature realm="{self.config.subscriber_id}",headers="(created) (expires) digest"'})
        if context.get("action") != action:
            return _nack(400, env.INVALID_REQUEST,
                         f"context.action is {context.get('action')!r} but the request was sent to /{action}", "$.context.action")
        violations = validate_message(action, body)
        if context.get("version", env.CORE_VERSION) not in env.ACCEPTED_VERSIONS:
            violations.append(SchemaViolation("$.context.version", f"{str(context.get('version'))[:20]!r}: this "
                                              f"node speaks Beckn core {' and '.join(env.ACCEPTED_VERSIONS)}"))
        if violations:
            return _nack(400, env.INVALID_REQUEST,
                         "core 1.1.1 schema violation: " + "; ".join(str(v) for v in violations[:20]),
                         ",".join(v.path for v in violations))
        missing = env.routing_problems(action, context)
        order_id = env.order_id_problem(action, payload.get("message"))
        if order_id:
            return _nack(400, env.INVALID_REQUEST, f"order ids of at most {env.ORDER_ID_LIMIT} characters (Yuantou "
                         "profile)", order_id)
        if missing:
            return _nack(400, env.INVALID_REQUEST, env.ROUTING_RULES, ",".join(missing))
        now = time.time()
        try:
            expires = env.expiry(context, self.config.request_ttl)
        except ValueError as exc:
            return _nack(400, env.INVALID_REQUEST, str(exc), "$.context.ttl")
        reply_to = None
        if is_callback:
            problem = await self.db.run(lambda c: self._match_callback(c, action, context, payload.get("message"), now))
            if problem:
                path = "$.context.bap_id" if problem.startswith("context.bap_id") else "$.context.message_id"
                return _nack(400, env.INVALID_REQUEST, problem, path)
        else:
            if action != "search" and context.get("bpp_id") != self.config.subscriber_id:
                return _nack(400, env.INVALID_REQUEST,
                             f"context.bpp_id is {context.get('bpp_id')!r}, this node is {self.config.subscriber_id!r}",
                             "$.context.bpp_id")
            if context["bap_uri"].rstrip("/") != auth.signer_key.url.rstrip("/"):  # none listed: nothing matches
                return _nack(400, env.INVALID_REQUEST,
                             f"bap_uri {context['bap_uri']!r} is not the URL registered for {claimed!r}", "$.context.bap_uri")
            if expires < now - self.config.clock_skew_seconds:
                return _nack(400, env.INVALID_REQUEST, "the request's ttl has already run out", "$.context.ttl")
            reply_to = auth.gateway_key.url if auth.gateway_key else context["bap_uri"]
        row = {
            "sender_id": claimed, "action": action, "message_id": context["message_id"],
            "transaction_id": context["transaction_id"], "body": body,
            "authorization": headers.get("authorization"),
            "gateway_authorization": headers.get("x-gateway-authorization"),
            "reply_to": reply_to, "received_at": now, "processed_at": None,
        }
        if not self.config.ledger:
            is_new, _ = await self.inbox.store(row, self.config.subscriber_id, None)
            if is_new is None:
                return _nack(409, env.INVALID_REQUEST, f"message_id {context['message_id']!r} was already received "
                             "with another body", "$.context.message_id")
            self.counters["duplicate"] += not is_new
            return Reply(200, env.ack())
        receipt = sign_receipt(body, self.keys.signing, self.signer.key_id_header, int(now))
        is_new, checkpoint = await self.inbox.store(row, self.config.subscriber_id, receipt)
        if is_new is None:  # the message id is taken by other bytes: the first message counts, nothing is signed
            return _nack(409, env.INVALID_REQUEST, f"message_id {context['message_id']!r} was already received "
                         f"from {claimed!r} with another body; a retry must repeat it byte for byte, a new "
                         "message needs a new message_id", "$.context.message_id")
        self.counters["duplicate"] += not is_new
        headers = {RECEIPT_HEADER: render_receipt(receipt)}
        if checkpoint is not None:  # discovery (search, on_search) gets a receipt but no checkpoint
            headers[CHECKPOINT_HEADER] = render_checkpoint(checkpoint)
        return Reply(200, env.ack(), headers)

    def _checkpoints(self, conn: Connection, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Checkpoint]:
        """Our signed word on the messages we hold of each (counterparty, transaction)."""
        me, now = self.config.subscriber_id, int(time.time())
        return {(other, tx): sign_checkpoint(digests, me, other, tx, self.signer.key_id_header, self.keys.signing, now)
                for (other, tx), digests in transaction_digests(conn, me, wanted).items()}

    def _match_callback(self, conn: Connection, action: str, context: dict, message: Any, now: float) -> str | None:
        """Pair a callback with the request we sent; ``None`` if it may be accepted. A signature proves who sent
        it, not that it may touch what it names: it must be addressed to this node, come from the producer the
        request went to, in the request's transaction; an unsolicited ``on_status`` must be about an order of
        this node placed with its sender (or a transaction this node has with it)."""
        if context.get("bap_id") != self.config.subscriber_id:
            return f"context.bap_id is {context.get('bap_id')!r}; this node is {self.config.subscriber_id!r}"
        sender = context.get("bpp_id")
        request = conn.execute(
            select(outbox.c.expects_callback_until, outbox.c.counterparty_id, outbox.c.transaction_id)
            .where(and_(outbox.c.message_id == context["message_id"], outbox.c.action == action[3:]))
        ).first()
        if request is None:
            if action == "on_status":
                return buyer_logic.unsolicited_status_problem(conn, sender, context["transaction_id"], message)
            return f"no {action[3:]} request with message_id {context['message_id']!r} was sent by this node"
        deadline, counterparty, transaction_id = request
        if counterparty and action != "on_search" and counterparty != sender:
            return f"message_id {context['message_id']!r} was sent to {counterparty!r}, not {sender!r}"
        if transaction_id != context["transaction_id"]:
            return (f"message_id {context['message_id']!r} belongs to transaction {transaction_id!r}, "
                    f"not {context['transaction_id']!r}")
        if deadline is not None and now > deadline:
            return f"callback arrived after the request's ttl ran out ({now - deadline:.1f}s late)"
        return None

    # -- processing ---------------------------------------------------------------------

    def _process_batch(self, conn: Connection, limit: int = 8) -> int:
        # Several workers may process at once: on PostgreSQL each takes rows the others have not
        # locked; on SQLite the transaction's BEGIN IMMEDIATE already lets only one writer in.
        rows = conn.execute(
            select(inbox).where(inbox.c.processed_at.is_(None)).order_by(inbox.c.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).mappings().all()
        for row in rows:
            payload = json.loads(row["body"])
            try:
                with conn.begin_nested():  # one bad message must not undo the others
                    self._process_one(conn, row, payload)
            except OperationalError:
                raise  # deadlock, lock timeout, lost connection: retry the whole batch, refuse nothing
            except Exception:
                log.exception("processing %s %s failed", row["action"], row["message_id"])
                if not row["action"].startswith("on_"):
                    with conn.begin_nested():
                        self._answer(conn, row, payload, {"message": error_message(row["action"], payload.get("message") or {}), "error": BecknError(
                            env.BUSINESS_ERROR, "the producer could not process this request").as_dict()})
            conn.execute(update(inbox).where(inbox.c.id == row["id"]).values(processed_at=time.time()))
        return len(rows)

    def _process_one(self, conn: Connection, row: Any, payload: dict) -> None:
        action = row["action"]
        if action.startswith("on_"):
            buyer_logic.record_callback(conn, action, payload)
            if self.procurement is not None:
                self.procurement.on_callback(conn, action, payload)
            if action == "on_search" and not payload.get("error"):
                catalog = (payload.get("message") or {}).get("catalog")
                if catalog:
                    fresh = buyer_logic.catalog_pieces(payload["context"].get("bpp_id", ""), catalog)
                    self.catalogs.update(fresh)
                    self.catalog_seen.update(dict.fromkeys(fresh, row["received_at"]))
            return
        handler = producer_logic.HANDLERS[action]
        try:
            with conn.begin_nested():  # a refusal leaves no half-made change behind
                message = handler(conn, payload.get("message") or {}, provider=self.provider, context=payload["context"])
            answer: dict[str, Any] = {"message": message}
        except BecknError as exc:
            answer = {"message": error_message(action, payload.get("message") or {}), "error": exc.as_dict()}
        self._answer(conn, row, payload, answer)

    def _answer(self, conn: Connection, row: Any, payload: dict, answer: dict) -> None:
        context = payload["context"]
        answer = {"context": env.callback_context(context, self.config.subscriber_id, self.config.url), **answer}
        body = env.dumps(answer)
        violations = validate_message(answer["context"]["action"], body)
        if violations:  # our own bug: say so loudly, but still answer (a peer waits for it)
            log.error("outgoing %s breaks core 1.1.1: %s", answer["context"]["action"], "; ".join(map(str, violations)))
        enqueue(conn, target_url=row["reply_to"] or context["bap_uri"], action="on_" + row["action"],
                context=answer["context"], body=body, counterparty_id=context["bap_id"])

    async def _process_loop(self) -> None:
        while True:
            self._process_event.clear()
            try:
                n = await self.db.run(self._process_batch)
            except OperationalError as exc:  # e.g. two workers deadlocked on one capacity row: PostgreSQL
                log.warning("processing round will be retried: %s", exc.orig)  # aborted one of them
                n = 0
                await asyncio.sleep(random.uniform(0.01, 0.2))
                continue
            except Exception:
                log.exception("processing round failed")
                n = 0
                await asyncio.sleep(1)
            if n:
                self.counters["processed"] += n
                self.outbox.wake()
                continue
            try:
                await asyncio.wait_for(self._process_event.wait(), timeout=2.0)
            except asyncio.TimeoutError:
                pass

    def offered(self, spec: ProductSpec) -> bool:
        """Whether a producer's catalog we hold lists the product at all."""
        return any(offers_product(piece, spec) for piece in self.catalogs.values())

    def offers_for(self, spec: ProductSpec, window: tuple[float, float], step: Decimal) -> list[Offer]:
        """Every producer's offer of ``spec`` deliverable in ``window``, from the catalogs we hold."""
        return [replace(offer, seen_at=self.catalog_seen.get(key, 0.0)) for key, piece in self.catalogs.items()
                for offer in offers_from_catalog(key[0], piece, spec, window, step)[0]]

    def _pool_terms_for(self, intent: Intent, now: float) -> PoolTerms | None:
        """Open a pool for an intent no open pool takes: the next cut-off, on the producers' catalog terms."""
        schedule = self.config.pool_schedule
        cutoff = schedule.next_cutoff(now)
        offers = self.offers_for(intent.spec, schedule.pickup_window(cutoff), schedule.step)
        return terms_from_offers(intent, offers, schedule, cutoff)

    async def _close_pools_loop(self, every: float = 1.0) -> None:
        """Close pools at their cut-off (or on reaching their target), whatever else the node is doing."""
        while True:
            try:
                closed = await self.db.run(self.pool_desk.close_due)
                for pool_id, outcome in closed:
                    log.info("pool %s closed: %s", pool_id, type(outcome).__name__)
                if closed:
                    self.procurement.pending = True
            except Exception:
                log.exception("closing due pools failed; will retry")
            await asyncio.sleep(every)

    # -- sending our own requests (buyer) and unsolicited callbacks (producer) ---------------

    def queue_request(self, conn: Connection, action: str, message: dict, *, transaction_id: str | None = None,
                      bpp_id: str | None = None, bpp_uri: str | None = None, target_url: str | None = None,
                      ttl: str | None = None) -> dict:
        """Queue a request in the caller's transaction; it leaves through the outbox. Returns its context."""
        context = env.make_context(
            action, domain=self.config.domain, city=self.config.city, country=self.config.country,
            bap_id=self.config.subscriber_id, bap_uri=self.config.url,
            transaction_id=transaction_id or env.new_id(), bpp_id=bpp_id, bpp_uri=bpp_uri,
            ttl=ttl or self.config.request_ttl,
        )
        body = env.dumps({"context": context, "message": message})
        violations = validate_message(action, body)
        if violations:
            raise OutgoingInvalid(violations)
        target = target_url or bpp_uri
        if target is None:
            raise ValueError("no target URL")
        enqueue(conn, target_url=target, action=action, context=context, body=body,
                counterparty_id=bpp_id, expects_callback_until=env.expiry(context))
        return context

    async def send_request(self, action: str, message: dict, **where: Any) -> dict:
        """Queue a request in a transaction of its own and wake the outbox. Returns its context."""
        context = await self.db.run(lambda c: self.queue_request(c, action, message, **where))
        self.outbox.wake()
        return context

    def advance_order(self, conn: Connection, order_id: str, state: str) -> tuple[dict, dict]:
        """Move a sold order along and queue the buyer's unsolicited ``on_status``, in the caller's one transaction
        (never a new state without its message); the buyer is answered where its order came from."""
        order = producer_logic.advance_fulfillment(conn, order_id, state)
        row = conn.execute(select(orders.c.counterparty_id, orders.c.transaction_id)
                           .where(orders.c.order_id == order_id)).one()
        bap_uri = conn.execute(select(inbox.c.reply_to).where(  # checked against the directory when it came
            inbox.c.transaction_id == row.transaction_id, inbox.c.action == "confirm",
            inbox.c.sender_id == row.counterparty_id).order_by(inbox.c.id.desc()).limit(1)).scalar()
        if not bap_uri:
            raise BecknError(env.BUSINESS_ERROR, f"no confirm from {row.counterparty_id} is kept for this order")
        return order, self.queue_unsolicited_status(conn, order, row.counterparty_id, row.transaction_id, bap_uri)

    def queue_unsolicited_status(self, conn: Connection, order: dict, bap_id: str, transaction_id: str,
                                 bap_uri: str) -> dict:
        """Tell the buyer about a change it did not ask about (a fresh message_id, as Beckn requires)."""
        context = env.make_context(
            "on_status", domain=self.config.domain, city=self.config.city, country=self.config.country,
            bap_id=bap_id, bap_uri=bap_uri, transaction_id=transaction_id,
            bpp_id=self.config.subscriber_id, bpp_uri=self.config.url,
        )
        body = env.dumps({"context": context, "message": {"order": order}})
        enqueue(conn, target_url=bap_uri, action="on_status", context=context, body=body, counterparty_id=bap_id)
        return context
