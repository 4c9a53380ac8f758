"""Agreeing pair checkpoints with counterparties, every few minutes (the I/O around ``ledger.pair``).

Either side may start: it signs its checkpoint with the other (the messages between them up to a
cut-off a little in the past, and its chain's head) and posts it, signed like any Beckn request,
to the other's ``/yuantou/checkpoint`` beside its Beckn endpoints. The other computes its own over
the same cut-off; if both signed the same set it answers with its checkpoint and both keep the
pair. If not (a message still in flight, or one side missing one) it answers 409 with what it
holds, and the next round tries again. A plain Beckn peer answers 404 and is left alone.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import httpx
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from yuantou.ledger.chain import raw_public_key, signed_by
from yuantou.ledger.pair import PairCheckpoint, agrees, from_json, pair_text, sign_pair, to_json
from yuantou.ledger.store import counterparties, head, read_between, read_pair_checkpoints, save_pair_checkpoint
from yuantou.messaging.core import Messenger
from yuantou.protocol import capped_http, json_guard
from yuantou.protocol import envelope as env
from yuantou.protocol.auth import AuthFailure, authenticate
from yuantou.protocol.registry_client import first_valid

log = logging.getLogger(__name__)
PATH = "/yuantou/checkpoint"  # under the node's Beckn URL


def own_checkpoint(node: Messenger, conn: Connection, other: str, until: int) -> PairCheckpoint:
    me = node.config.subscriber_id
    return sign_pair(read_between(conn, me, other), head(conn), me, other, until, node.signer.key_id_header,
                     node.keys.signing, int(time.time()))


async def _signed_by_its_owner(node: Messenger, cp: PairCheckpoint, owner: str) -> str | None:
    """Why ``cp`` is not ``owner``'s own valid signature (None if it is)."""
    subscriber, _, rest = cp.signer.partition("|")
    if subscriber != owner:
        return f"it is signed by {cp.signer}, not by {owner}"
    key = await node.registry.key(subscriber, rest.rpartition("|")[0])
    if key is None or not key.valid_from <= cp.signed_at <= key.valid_until:
        return f"no key {cp.signer} was valid at {cp.signed_at}"
    if not signed_by(raw_public_key(key.public_key), cp.signature, pair_text(cp)):
        return f"its signature by {cp.signer} does not verify"
    return None


async def exchange_with(node: Messenger, other: str, until: int) -> str:
    """Agree a pair checkpoint with ``other``; what came of it, in words."""
    me = node.config.subscriber_id
    mine, held = await node.db.run(lambda c: (own_checkpoint(node, c, other, until), read_pair_checkpoints(c)))
    previous = next((cp for cp in held if cp.signer == node.signer.key_id_header and cp.parties == mine.parties), None)
    if mine.count == 0 or (previous is not None and previous.messages == mine.messages):
        return "nothing new"
    try:
        listed = first_valid(await node.registry.lookup(subscriber_id=other), time.time())
        if listed is None:
            return "not in the directory"
        body = env.dumps(to_json(mine))
        resp = await capped_http.request(node.http, "POST", listed.url.rstrip("/") + PATH, content=body, timeout=10,
                                         headers={"Content-Type": "application/json", "Authorization": node.signer(body)})
    except (httpx.HTTPError, ValueError) as exc:
        return f"unreachable: {exc}"
    if resp.status_code == 404:
        return "not a Yuantou peer (no checkpoint endpoint)"
    if resp.status_code != 200:
        return f"not agreed ({resp.status_code}): {resp.text[:300]}"
    try:
        theirs = from_json(json_guard.loads(resp.content))
    except ValueError as exc:
        return f"its answer is not a pair checkpoint: {exc}"
    problem = await _signed_by_its_owner(node, theirs, other)
    if problem is None and not agrees(mine, theirs):
        problem = f"it signed for {theirs.count} messages up to {theirs.until}, we hold {mine.count}"
    if problem:
        log.warning("pair checkpoint from %s refused: %s", other, problem)
        return f"refused: {problem}"

    def keep(conn: Connection) -> None:
        save_pair_checkpoint(conn, mine)
        save_pair_checkpoint(conn, theirs)

    await node.db.run(keep)
    node.counters["pair_checkpoints"] += 1
    log.info("pair checkpoint with %s: %d messages up to %d (%s)", other, mine.count, until, me)
    return "agreed"


async def exchange_all(node: Messenger) -> dict[str, str]:
    """One round: every counterparty we share messages with."""
    until = int(time.time()) - node.config.checkpoint_settle_seconds
    others = await node.db.run(lambda c: counterparties(c, node.config.subscriber_id))
    return {other: await exchange_with(node, other, until) for other in sorted(others)}


async def answer(node: Messenger, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """A counterparty's pair checkpoint: ours in return if we hold the same messages with it."""
    try:
        auth = await authenticate(body, headers, node.registry, skew=node.config.clock_skew_seconds,
                                  backdating=node.config.signature_backdating_seconds)
    except AuthFailure as exc:
        return 401, {"error": f"unauthorized: {exc.reason}"}
    sender = auth.signer.subscriber_id
    try:
        theirs = from_json(json_guard.loads(body))
    except ValueError as exc:
        return 400, {"error": f"not a pair checkpoint: {exc}", "path": str(exc).partition(":")[0]}
    me = node.config.subscriber_id
    if set(theirs.parties) != {me, sender}:
        return 400, {"error": f"the checkpoint is between {theirs.parties[0]} and {theirs.parties[1]}, "
                              f"not {sender} and {me}", "path": "$.parties"}
    if theirs.until > time.time():
        return 400, {"error": f"until {theirs.until} is in the future", "path": "$.until"}
    problem = await _signed_by_its_owner(node, theirs, sender)
    if problem:
        return 400, {"error": f"the checkpoint cannot be kept: {problem}", "path": "$.signature"}
    mine = await node.db.run(lambda c: own_checkpoint(node, c, sender, theirs.until))
    if not agrees(mine, theirs):
        return 409, {"error": f"we hold {mine.count} messages with {sender} up to {theirs.until}; "
                              f"the checkpoint signs for {theirs.count}", "count": mine.count}

    def keep(conn: Connection) -> None:
        save_pair_checkpoint(conn, mine)
        save_pair_checkpoint(conn, theirs)

    await node.db.run(keep)
    node.counters["pair_checkpoints"] += 1
    return 200, to_json(mine)


async def keep_agreeing(messenger: Messenger) -> None:
    """Agree a pair checkpoint with each counterparty every ``checkpoint_every_seconds`` (jittered, so that
    two nodes started together do not both start every round)."""
    while True:
        await asyncio.sleep(messenger.config.checkpoint_every_seconds * random.uniform(0.8, 1.2))
        try:
            messenger.pair_outcomes = await exchange_all(messenger)
        except OperationalError as exc:
            log.warning("pair checkpoints skipped this round: %s", exc)
