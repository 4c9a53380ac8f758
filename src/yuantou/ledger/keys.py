"""The keys a chain's signatures need, from the directory, with the periods they were valid for.

Every key a subscriber has registered is looked up, whatever its validity today, so an entry signed
before a rotation still verifies under the key of its day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import httpx

from yuantou.ledger.chain import Checkpoint, Entry, KeyHistory, KeyRecord, raw_public_key
from yuantou.protocol.keys import KeyError_
from yuantou.protocol.registry_client import RegistryClient, parse_subscription
from yuantou.protocol.signing import ALGORITHM

LOOKUPS_AT_ONCE = 8  # a node that traded with hundreds of peers looks their keys up side by side, not in turn


def parties(chain: Iterable[Entry], checkpoints: Iterable[Checkpoint] = ()) -> set[str]:
    """Every subscriber that sent, received, counter-signed or checkpointed an entry: whose keys a check needs."""
    found = {cp.signer.partition("|")[0] for cp in checkpoints}
    for entry in chain:
        found |= {entry.sender, entry.receiver}
        if entry.receipt is not None:
            found.add(entry.receipt.key_id.partition("|")[0])
    return found


async def key_history(registry: RegistryClient, subscribers: Iterable[str], early: int = 0,
                      late: int = 0) -> KeyHistory:
    """Every key each subscriber has registered (rotated-out ones too), with the period it was valid for;
    ``early``, ``late``: the slack senders' signatures had on arrival (``KeyHistory``)."""
    history = KeyHistory(early=early, late=late)
    ordered = sorted(subscribers)
    gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def lookup(subscriber: str) -> list[dict]:
        async with gate:
            try:
                return await registry.lookup(subscriber_id=subscriber)
            except (httpx.HTTPError, ValueError):
                return []  # verify names the entries these keys would have verified

    for subscriber, entries in zip(ordered, await asyncio.gather(*(lookup(s) for s in ordered))):
        seen = set()
        for entry in entries:
            if entry.get("status", "SUBSCRIBED") != "SUBSCRIBED":
                continue  # a key whose owner never proved it holds it signs for nothing
            try:
                key = parse_subscription(entry)
            except (KeyError, KeyError_, TypeError, ValueError, AttributeError):
                continue
            key_id = f"{subscriber}|{key.key_id}|{ALGORITHM}"
            if (key_id, key.valid_from, key.valid_until) in seen:
                continue  # one subscriber in several roles lists the same key more than once
            seen.add((key_id, key.valid_from, key.valid_until))
            history.add(KeyRecord(key_id, raw_public_key(key.public_key), int(key.valid_from), int(min(key.valid_until, 2 ** 62))))
    return history
