"""The messaging core of a node: its signing key, store, inbox and outbox (``running`` starts them with the
processor and the pair checkpoints).

Every node has one, whatever its roles. It knows the wire and the ledger, and asks the roles it
serves (``roles.RequestHandler`` for a producer, ``roles.CallbackHandler`` for a buyer) to act on
what arrives. ``queue_request`` and ``queue_unsolicited_status`` put our own messages in the outbox,
in the caller's transaction, so that a change and the message that tells of it commit together.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from sqlalchemy.engine import Connection

from yuantou.ledger.chain import Checkpoint, sign_checkpoint
from yuantou.ledger.store import transaction_digests
from yuantou.messaging.inbox import InboxWriter
from yuantou.messaging.outbox import OutboxSender, Signer, enqueue
from yuantou.messaging.roles import CallbackHandler, RequestHandler
from yuantou.messaging.settings import MessagingSettings
from yuantou.messaging.traffic import TrafficLog
from yuantou.protocol import envelope as env
from yuantou.protocol.keys import KeyPair
from yuantou.protocol.registry_client import RegistryClient
from yuantou.protocol.validation import SchemaViolation, validate_message
from yuantou.store.db import Database

log = logging.getLogger(__name__)
OUTBOX_CONNECTIONS = 8


class OutgoingInvalid(ValueError):
    """A message we were asked to send would break the core schema (usually bad API input)."""

    def __init__(self, violations: list[SchemaViolation]) -> None:
        super().__init__("; ".join(map(str, violations)))
        self.violations = violations


class Messenger:
    """One node's messaging: who it is, how it signs, and the store its messages live in."""

    def __init__(self, settings: MessagingSettings, keys: KeyPair, key_id: str, db: Database,
                 http: httpx.AsyncClient | None = None) -> None:
        self.config = settings
        self.keys = keys
        self.db = db
        self.http = http or httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        self.registry = RegistryClient(settings.directory_url, self.http)
        self.signer = Signer(settings.subscriber_id, key_id, keys)
        self.inbox = InboxWriter(self.db, on_stored=self.wake_processor,
                                 checkpoints=self.transaction_checkpoints if settings.ledger else None,
                                 ledger=settings.ledger)
        # The outbox gets its own small pool: httpx's per-request cost grows with the connections it
        # juggles (measured ~0.6 ms/post at 4, ~2.5 ms at 32), and callbacks need no more.
        self.outbox_http = httpx.AsyncClient(limits=httpx.Limits(
            max_connections=OUTBOX_CONNECTIONS, max_keepalive_connections=OUTBOX_CONNECTIONS))
        self.outbox = OutboxSender(self.db, self.outbox_http, self.signer, self.registry,
                                   max_attempts=settings.outbox_max_attempts, concurrency=OUTBOX_CONNECTIONS,
                                   ledger=settings.ledger)
        self.requests: RequestHandler | None = None  # set by the producer role
        self.callbacks: CallbackHandler | None = None  # set by the buyer role
        self.counters: dict[str, int] = {"ack": 0, "nack": 0, "unauthorized": 0, "duplicate": 0, "processed": 0,
                                         "pair_checkpoints": 0}
        self.pair_outcomes: dict[str, str] = {}  # counterparty → how the last pair checkpoint round went
        self.traffic = TrafficLog()
        self.process_event = asyncio.Event()

    def wake_processor(self) -> None:
        self.process_event.set()

    def use_key(self, key_id: str, keys: KeyPair) -> None:
        """From now on, sign requests, receipts and checkpoints with this key."""
        self.keys = keys
        self.signer = Signer(self.config.subscriber_id, key_id, keys)
        self.outbox.signer = self.signer
        log.info("now signing as %s", self.signer.key_id_header)

    def transaction_checkpoints(self, conn: Connection, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Checkpoint]:
        """Our signed word on the messages we hold of each (counterparty, transaction)."""
        me, now = self.config.subscriber_id, int(time.time())
        return {(other, tx): sign_checkpoint(digests, me, other, tx, self.signer.key_id_header, self.keys.signing, now)
                for (other, tx), digests in transaction_digests(conn, me, wanted).items()}

    # -- sending our own requests (buyer) and unsolicited callbacks (producer) ---------------

    def queue_request(self, conn: Connection, action: str, message: dict[str, Any], *,
                      transaction_id: str | None = None, bpp_id: str | None = None, bpp_uri: str | None = None,
                      target_url: str | None = None, ttl: str | None = None) -> dict[str, Any]:
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

    async def send_request(self, action: str, message: dict[str, Any], *, transaction_id: str | None = None,
                           bpp_id: str | None = None, bpp_uri: str | None = None,
                           target_url: str | None = None) -> dict[str, Any]:
        """Queue a request in a transaction of its own and wake the outbox. Returns its context."""
        context = await self.db.run(lambda c: self.queue_request(
            c, action, message, transaction_id=transaction_id, bpp_id=bpp_id, bpp_uri=bpp_uri, target_url=target_url))
        self.outbox.wake()
        return context

    def queue_unsolicited_status(self, conn: Connection, order: dict[str, Any], bap_id: str, transaction_id: str,
                                 bap_uri: str) -> dict[str, Any]:
        """Tell a buyer about a change it did not ask about (a fresh message_id, as Beckn requires)."""
        context = env.make_context(
            "on_status", domain=self.config.domain, city=self.config.city, country=self.config.country,
            bap_id=bap_id, bap_uri=bap_uri, transaction_id=transaction_id,
            bpp_id=self.config.subscriber_id, bpp_uri=self.config.url,
        )
        body = env.dumps({"context": context, "message": {"order": order}})
        enqueue(conn, target_url=bap_uri, action="on_status", context=context, body=body, counterparty_id=bap_id)
        return context
