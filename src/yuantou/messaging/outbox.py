"""The durable outbox: every message we owe a peer leaves from here, with retries.

Rows are written in the same transaction as the state change that produced them;
this sender signs each at send time (fresh ``created``/``expires``), retries with
exponential backoff and jitter on network errors and 5xx, and stops on an ACK or a
NACK. Receivers de-duplicate by ``message_id``, so at-least-once delivery here
gives exactly-once processing there. A message its peer answered is appended to the ledger with
the signature it went out with, the peer's receipt and the peer's checkpoint on the transaction so
far, in the transaction that records it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.engine import Connection

from yuantou.ledger.chain import (
    CHECKPOINT_HEADER,
    RECEIPT_HEADER,
    RELAYED,
    Checkpoint,
    Receipt,
    digest_of_message,
    parse_checkpoint,
    parse_receipt,
    raw_public_key,
)
from yuantou.ledger.store import append_entries, save_checkpoint
from yuantou.ledger.verify import arriving_checkpoint_problem, receipt_problem
from yuantou.protocol import capped_http
from yuantou.protocol.keys import KeyPair
from yuantou.protocol.registry_client import SubscriberKey
from yuantou.protocol.signing import ALGORITHM, SignatureError, body_digest, parse_signature_header, sign
from yuantou.store.db import Database
from yuantou.store.tables import outbox

log = logging.getLogger(__name__)
RESIGN_MARGIN_SECONDS = 60  # a stored signature with less validity left than this is made again before a send


@dataclass(frozen=True)
class Signer:
    """Signs bodies as one subscriber (``subscriber_id|key_id|ed25519``)."""

    subscriber_id: str
    key_id: str
    keys: KeyPair
    validity_seconds: int = 300

    def __call__(self, body: bytes) -> str:
        return sign(body, self.keys.signing, self.subscriber_id, self.key_id,
                    validity_seconds=self.validity_seconds)

    @property
    def key_id_header(self) -> str:
        """The ``keyId`` its signatures carry."""
        return f"{self.subscriber_id}|{self.key_id}|{ALGORITHM}"


def enqueue(
    conn: Connection,
    *,
    target_url: str,
    action: str,
    context: dict,
    body: bytes,
    counterparty_id: str | None,
    expects_callback_until: float | None = None,
) -> None:
    """Add one outgoing message inside the caller's transaction."""
    now = time.time()
    conn.execute(
        outbox.insert().values(
            target_url=target_url, action=action, message_id=context["message_id"],
            transaction_id=context["transaction_id"], counterparty_id=counterparty_id, body=body,
            created_at=now, expects_callback_until=expects_callback_until, attempts=0,
            next_attempt_at=now, state="pending",
        )
    )


@dataclass(frozen=True)
class Sent:
    """One delivery attempt: what came of it, and for a message the peer answered, how it was signed and the
    peer's receipt (None from a peer that does not counter-sign)."""

    row_id: int
    outcome: str  # delivered | nacked | retry
    error: str | None
    authorization: str | None = None
    receipt: Receipt | None = None
    checkpoint: Checkpoint | None = None  # the peer's word on the transaction so far
    refused: str | None = None  # why a receipt or checkpoint the peer sent was not kept


class KeyResolver(Protocol):
    async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None: ...


def backoff(attempts: int, base: float = 0.2, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base·2^attempts)]."""
    return random.uniform(0, min(cap, base * (2**attempts))) + 0.05


class OutboxSender:
    """Background task draining the outbox."""

    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        signer: Signer,
        keys: KeyResolver,
        *,
        max_attempts: int = 30,
        batch: int = 32,
        concurrency: int = 32,
        lease_seconds: float = 30.0,
        on_result: Callable[[dict, str], None] | None = None,
        ledger: bool = True,
    ) -> None:
        self.db, self.http, self.signer = db, http, signer
        self.keys = keys  # to check peers' receipts and checkpoints as they arrive
        self.ledger = ledger
        self.max_attempts, self.batch = max_attempts, batch
        self.on_result = on_result
        self.lease_seconds = lease_seconds
        # A bounded number of posts in flight: httpx's pool scans every waiting request on each
        # event, so handing it hundreds at once costs more CPU than the sends themselves.
        self._in_flight = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def _due(self, conn: Connection) -> list[dict]:
        """Claim the rows due now: their next attempt moves a lease ahead, so another worker
        process leaves them alone, and a sender that dies mid-post has them retried after the lease.

        Each is signed here, once, and its signature committed with the claim, before any byte is sent: a
        message sent again after a crash is the same request, not the same message signed anew. Only a
        signature about to expire is made again (a retry minutes later)."""
        now = time.time()
        rows = [dict(r) for r in conn.execute(
            select(outbox)
            .where(and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now))
            .order_by(outbox.c.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True)
        ).mappings()]
        if rows:
            conn.execute(update(outbox).where(outbox.c.id.in_([r["id"] for r in rows]))
                         .values(next_attempt_at=now + self.lease_seconds))
            stale = [r for r in rows if not self._still_good(r["authorization"], now)]
            for row in stale:
                row["authorization"] = self.signer(row["body"])
            if stale:
                conn.execute(update(outbox).where(outbox.c.id == bindparam("row_id")).values(
                    authorization=bindparam("signature")),
                    [{"row_id": r["id"], "signature": r["authorization"]} for r in stale])
        return rows

    def _still_good(self, authorization: str | None, now: float) -> bool:
        """A stored signature by our current key that stays valid long enough for this attempt to arrive."""
        if not authorization:
            return False
        try:
            header = parse_signature_header(authorization)
        except SignatureError:
            return False
        return header.key_id == self.signer.key_id_header and header.expires - now > RESIGN_MARGIN_SECONDS

    def release_claims(self, conn: Connection) -> None:
        """Make every pending row due now; only for a sole sender starting up (no one else holds a lease)."""
        conn.execute(update(outbox).where(outbox.c.state == "pending").values(next_attempt_at=time.time()))

    def _next_due_in(self, conn: Connection) -> float | None:
        nxt = conn.execute(
            select(outbox.c.next_attempt_at).where(outbox.c.state == "pending")
            .order_by(outbox.c.next_attempt_at).limit(1)
        ).scalar()
        return None if nxt is None else max(0.0, nxt - time.time())

    async def _send(self, row: dict) -> Sent:
        url = row["target_url"].rstrip("/") + "/" + row["action"]
        authorization = row["authorization"] or self.signer(row["body"])
        headers = {"Content-Type": "application/json", "Authorization": authorization}
        try:
            async with self._in_flight:
                resp = await capped_http.request(self.http, "POST", url, content=row["body"], headers=headers,
                                                 timeout=10)
        except httpx.HTTPError as exc:
            return Sent(row["id"], "retry", f"{type(exc).__name__}: {exc}")
        try:
            status = resp.json()["message"]["ack"]["status"]
        except (ValueError, KeyError, TypeError):
            status = None
        # network trouble, overload and 401 (a key not yet visible to the peer) are worth retrying
        if resp.status_code >= 500 or resp.status_code in (401, 408, 429):
            return Sent(row["id"], "retry", f"HTTP {resp.status_code}: {resp.text[:300]}")
        receipt, checkpoint, refused = await self._countersigned(
            row, parse_receipt(resp.headers.get(RECEIPT_HEADER)), parse_checkpoint(resp.headers.get(CHECKPOINT_HEADER)))
        if refused:
            log.warning("%s %s to %s: %s", row["action"], row["message_id"], row["target_url"], refused)
        if resp.status_code < 300 and status == "ACK":
            return Sent(row["id"], "delivered", None, authorization, receipt, checkpoint, refused)
        return Sent(row["id"], "nacked", f"HTTP {resp.status_code}: {resp.text[:500]}", authorization, receipt,
                    checkpoint, refused)

    async def _countersigned(self, row: dict, receipt: Receipt | None,
                             checkpoint: Checkpoint | None) -> tuple[Receipt | None, Checkpoint | None, str | None]:
        """Keep the peer's receipt and checkpoint only if they are the peer's own and verify, so that a bad one is
        refused on arrival (the entry is then one-sided) rather than found by ``ledger verify`` later."""
        if not self.ledger:
            return None, None, None
        counterparty = row["counterparty_id"]
        problems = []

        async def key(key_id: str, when: int) -> bytes | None:
            """The key, if the directory lists it as valid at ``when`` (as ``ledger verify`` will ask later)."""
            subscriber, _, rest = key_id.partition("|")
            found = await self.keys.key(subscriber, rest.rpartition("|")[0])
            if found is None or not found.valid_from <= when <= found.valid_until:
                return None
            return raw_public_key(found.public_key)

        if receipt is not None:
            problem = receipt_problem(receipt, row["body"], await key(receipt.key_id, receipt.signed_at), counterparty)
            if problem:
                problems.append(problem)
                receipt = None
        if checkpoint is not None and row["action"] in RELAYED:
            checkpoint = None  # checkpoints leave discovery out (ours send none); a peer's cannot hold it
        if checkpoint is not None:
            sent = digest_of_message(self.signer.subscriber_id, counterparty or row["target_url"], row["action"],
                                     row["transaction_id"], row["message_id"], body_digest(row["body"]))
            problem = arriving_checkpoint_problem(checkpoint, await key(checkpoint.signer, checkpoint.signed_at),
                                                  self.signer.subscriber_id, counterparty, row["transaction_id"], sent)
            if problem:
                problems.append(problem)
                checkpoint = None
        return receipt, checkpoint, "; ".join(problems) or None

    def _record(self, conn: Connection, results: list[Sent], rows: dict[int, dict]) -> None:
        """Each attempt's outcome; a message that reached its peer (ACK or NACK) goes to the ledger with the
        signature it went with and the peer's receipt, in the same transaction."""
        now = time.time()
        entries: list[dict] = []
        for sent in results:
            row = rows[sent.row_id]
            attempts = row["attempts"] + 1
            values: dict = {"attempts": attempts, "last_error": sent.error or sent.refused}
            if sent.outcome == "delivered":
                values.update(state="delivered", delivered_at=now)
            elif sent.outcome == "nacked":
                values.update(state="nacked", delivered_at=now)
            elif attempts >= self.max_attempts:
                values.update(state="dead")
            else:
                values.update(next_attempt_at=now + backoff(attempts))
            conn.execute(update(outbox).where(outbox.c.id == sent.row_id).values(**values))
            if sent.authorization is not None and self.ledger:
                entries.append(dict(sender=self.signer.subscriber_id,
                                    receiver=row["counterparty_id"] or row["target_url"], action=row["action"],
                                    transaction_id=row["transaction_id"], message_id=row["message_id"],
                                    authorization=sent.authorization, body=row["body"], recorded_at=int(now),
                                    receipt=sent.receipt))
            if sent.checkpoint is not None:
                save_checkpoint(conn, sent.checkpoint)
        append_entries(conn, entries)

    async def run_once(self) -> int:
        rows = await self.db.run(self._due)
        if not rows:
            return 0
        results = await asyncio.gather(*(self._send(r) for r in rows))
        by_id = {r["id"]: r for r in rows}
        await self.db.run(lambda c: self._record(c, list(results), by_id))
        for sent in results:
            row = by_id[sent.row_id]
            if sent.outcome != "retry":
                self.sent += 1
                if self.on_result:
                    self.on_result(row, sent.outcome)
            else:
                log.info("outbox %s to %s: will retry (%s)", row["action"], row["target_url"], sent.error)
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                n = await self.run_once()
                if n:
                    continue
                wait = await self.db.run(self._next_due_in)
            except Exception:  # keep the sender alive whatever one round hit
                log.exception("outbox round failed")
                wait = 1.0
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(wait if wait is not None else 5.0, 5.0))
            except TimeoutError:
                pass
