"""Turns stored messages into action: a request into its callback, in the same transaction that marks it done;
a callback into the buyer's records. One bad message never holds up the others."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from yuantou.messaging.core import Messenger
from yuantou.messaging.outbox import enqueue
from yuantou.protocol import envelope as env
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.validation import validate_message
from yuantou.store.tables import inbox

log = logging.getLogger(__name__)


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


class Processor:
    def __init__(self, messenger: Messenger) -> None:
        self.messenger = messenger

    def process_batch(self, conn: Connection, limit: int = 8) -> int:
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
                        self._answer(conn, row, payload, {
                            "message": error_message(row["action"], payload.get("message") or {}),
                            "error": BecknError(env.BUSINESS_ERROR, "the producer could not process this request").as_dict()})
            conn.execute(update(inbox).where(inbox.c.id == row["id"]).values(processed_at=time.time()))
        return len(rows)

    def _process_one(self, conn: Connection, row: Any, payload: dict[str, Any]) -> None:
        action = row["action"]
        if action.startswith("on_"):
            if self.messenger.callbacks is not None:
                self.messenger.callbacks.apply(conn, action, payload, row["received_at"])
            return
        requests = self.messenger.requests
        if requests is None:  # intake refuses requests a node does not serve; kept only if its roles changed
            raise BecknError(env.ACTION_NOT_APPLICABLE, f"this node no longer serves /{action}")
        try:
            with conn.begin_nested():  # a refusal leaves no half-made change behind
                message = requests.answer(conn, action, payload.get("message") or {}, payload["context"])
            answer: dict[str, Any] = {"message": message}
        except BecknError as exc:
            answer = {"message": error_message(action, payload.get("message") or {}), "error": exc.as_dict()}
        self._answer(conn, row, payload, answer)

    def _answer(self, conn: Connection, row: Any, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        context = payload["context"]
        config = self.messenger.config
        answer = {"context": env.callback_context(context, config.subscriber_id, config.url), **answer}
        body = env.dumps(answer)
        violations = validate_message(answer["context"]["action"], body)
        if violations:  # our own bug: say so loudly, but still answer (a peer waits for it)
            log.error("outgoing %s breaks core 1.1.1: %s", answer["context"]["action"], "; ".join(map(str, violations)))
        enqueue(conn, target_url=row["reply_to"] or context["bap_uri"], action="on_" + row["action"],
                context=answer["context"], body=body, counterparty_id=context["bap_id"])

    async def run(self) -> None:
        m = self.messenger
        while True:
            m.process_event.clear()
            try:
                n = await m.db.run(self.process_batch)
            except OperationalError as exc:  # e.g. two workers deadlocked on one capacity row: PostgreSQL
                log.warning("processing round will be retried: %s", exc.orig)  # aborted one of them
                await asyncio.sleep(random.uniform(0.01, 0.2))
                continue
            except Exception:
                log.exception("processing round failed")
                n = 0
                await asyncio.sleep(1)
            if n:
                m.counters["processed"] += n
                m.outbox.wake()
                continue
            try:
                await asyncio.wait_for(m.process_event.wait(), timeout=2.0)
            except TimeoutError:
                pass
