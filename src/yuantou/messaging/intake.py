"""The server side of the Beckn protocol: parse, authenticate, check roles and schema, match callbacks to the
requests we sent, store durably, then ACK (with a signed receipt and checkpoint when the node keeps a ledger).

Nothing here acts on a message: the processor does, after it is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from yuantou.ledger.chain import CHECKPOINT_HEADER, RECEIPT_HEADER, render_checkpoint, render_receipt, sign_receipt
from yuantou.messaging.core import Messenger
from yuantou.protocol import envelope as env
from yuantou.protocol import json_guard
from yuantou.protocol.auth import AuthFailure, authenticate
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.json_guard import JsonProblem
from yuantou.protocol.validation import CALLBACK_ACTIONS, REQUEST_ACTIONS, SchemaViolation, validate_message
from yuantou.store.tables import outbox


@dataclass
class Reply:
    """An HTTP answer to a Beckn call: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _nack(status: int, code: str, message: str, paths: str | None = None) -> Reply:
    return Reply(status, env.nack(BecknError(code, message, paths)))


class Intake:
    """Takes a node's incoming Beckn calls; ``receive`` is what ``POST /beckn/{action}`` runs."""

    def __init__(self, messenger: Messenger) -> None:
        self.messenger = messenger

    def serves(self, action: str) -> bool:
        if action in REQUEST_ACTIONS:
            return self.messenger.requests is not None
        if action in CALLBACK_ACTIONS:
            return self.messenger.callbacks is not None
        return False

    async def receive(self, action: str, body: bytes, headers: dict[str, str]) -> Reply:
        reply = await self._receive(action, body, headers)
        status = reply.body.get("message", {}).get("ack", {}).get("status")
        counters = self.messenger.counters
        counters["ack" if status == "ACK" else "unauthorized" if reply.status == 401 else "nack"] += 1
        self.messenger.traffic.record(action, headers.get("authorization"), reply.status, reply.body)
        return reply

    async def _receive(self, action: str, body: bytes, headers: dict[str, str]) -> Reply:  # noqa: C901 (one check per rule)
        m = self.messenger
        config = m.config
        if action not in REQUEST_ACTIONS and action not in CALLBACK_ACTIONS:
            return _nack(404, env.INVALID_REQUEST, f"/{action} is not a Beckn core 1.1.1 action")
        if not self.serves(action):
            roles = " and ".join(config.roles)
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
            auth = await authenticate(body, headers, m.registry, skew=config.clock_skew_seconds,
                                      backdating=config.signature_backdating_seconds)
        except AuthFailure as exc:
            return Reply(401, env.nack(BecknError(env.INVALID_REQUEST, f"unauthorized: {exc.reason}")),
                         exc.challenge(config.subscriber_id))
        is_callback = action.startswith("on_")
        claimed = context.get("bpp_id") if is_callback else context.get("bap_id")
        if auth.signer.subscriber_id != claimed:
            who = "bpp_id" if is_callback else "bap_id"
            return Reply(401, env.nack(BecknError(
                env.INVALID_REQUEST, f"signed by {auth.signer.subscriber_id!r} but context.{who} is {claimed!r}",
                f"$.context.{who}")), {"WWW-Authenticate": f'Signature realm="{config.subscriber_id}",headers="(created) (expires) digest"'})
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
            expires = env.expiry(context, config.request_ttl)
        except ValueError as exc:
            return _nack(400, env.INVALID_REQUEST, str(exc), "$.context.ttl")
        reply_to = None
        if is_callback:
            mismatch = await m.db.run(lambda c: self._match_callback(c, action, context, payload.get("message"), now))
            if mismatch:
                path = "$.context.bap_id" if mismatch.startswith("context.bap_id") else "$.context.message_id"
                return _nack(400, env.INVALID_REQUEST, mismatch, path)
        else:
            if action != "search" and context.get("bpp_id") != config.subscriber_id:
                return _nack(400, env.INVALID_REQUEST,
                             f"context.bpp_id is {context.get('bpp_id')!r}, this node is {config.subscriber_id!r}",
                             "$.context.bpp_id")
            if context["bap_uri"].rstrip("/") != auth.signer_key.url.rstrip("/"):  # none listed: nothing matches
                return _nack(400, env.INVALID_REQUEST,
                             f"bap_uri {context['bap_uri']!r} is not the URL registered for {claimed!r}", "$.context.bap_uri")
            if expires < now - config.clock_skew_seconds:
                return _nack(400, env.INVALID_REQUEST, "the request's ttl has already run out", "$.context.ttl")
            reply_to = auth.gateway_key.url if auth.gateway_key else context["bap_uri"]
        row = {
            "sender_id": claimed, "action": action, "message_id": context["message_id"],
            "transaction_id": context["transaction_id"], "body": body,
            "authorization": headers.get("authorization"),
            "gateway_authorization": headers.get("x-gateway-authorization"),
            "reply_to": reply_to, "received_at": now, "processed_at": None,
        }
        if not config.ledger:
            is_new, _ = await m.inbox.store(row, config.subscriber_id, None)
            if is_new is None:
                return _nack(409, env.INVALID_REQUEST, f"message_id {context['message_id']!r} was already received "
                             "with another body", "$.context.message_id")
            m.counters["duplicate"] += not is_new
            return Reply(200, env.ack())
        receipt = sign_receipt(body, m.keys.signing, m.signer.key_id_header, int(now))
        is_new, checkpoint = await m.inbox.store(row, config.subscriber_id, receipt)
        if is_new is None:  # the message id is taken by other bytes: the first message counts, nothing is signed
            return _nack(409, env.INVALID_REQUEST, f"message_id {context['message_id']!r} was already received "
                         f"from {claimed!r} with another body; a retry must repeat it byte for byte, a new "
                         "message needs a new message_id", "$.context.message_id")
        m.counters["duplicate"] += not is_new
        answer_headers = {RECEIPT_HEADER: render_receipt(receipt)}
        if checkpoint is not None:  # discovery (search, on_search) gets a receipt but no checkpoint
            answer_headers[CHECKPOINT_HEADER] = render_checkpoint(checkpoint)
        return Reply(200, env.ack(), answer_headers)

    def _match_callback(self, conn: Connection, action: str, context: dict[str, Any], message: Any,
                        now: float) -> str | None:
        """Pair a callback with the request we sent; ``None`` if it may be accepted. A signature proves who sent
        it, not that it may touch what it names: it must be addressed to this node, come from the producer the
        request went to, in the request's transaction; an unsolicited ``on_status`` must be about an order of
        this node placed with its sender (or a transaction this node has with it)."""
        me = self.messenger.config.subscriber_id
        if context.get("bap_id") != me:
            return f"context.bap_id is {context.get('bap_id')!r}; this node is {me!r}"
        sender = context.get("bpp_id")
        request = conn.execute(
            select(outbox.c.expects_callback_until, outbox.c.counterparty_id, outbox.c.transaction_id)
            .where(and_(outbox.c.message_id == context["message_id"], outbox.c.action == action[3:]))
        ).first()
        if request is None:
            callbacks = self.messenger.callbacks
            if action == "on_status" and callbacks is not None:
                return callbacks.unsolicited_status_problem(conn, sender, context["transaction_id"], message)
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
