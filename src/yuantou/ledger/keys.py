"""The keys a chain's signatures need, from the directory, with the periods they were valid for.

Every key a subscriber has registered is looked up by its id, whatever its validity today, so an
entry signed before a rotation still verifies under the key of its day.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from yuantou.ledger.chain import Checkpoint, Entry, KeyHistory, KeyRecord
from yuantou.protocol.keys import KeyError_
from yuantou.protocol.registry_client import RegistryClient, parse_subscription
from yuantou.protocol.signing import SignatureError, parse_signature_header


def key_ids(chain: Iterable[Entry], checkpoints: Iterable[Checkpoint] = ()) -> set[str]:
    """Every ``subscriber|key|ed25519`` that signed an entry, a receipt or a checkpoint."""
    ids = {cp.signer for cp in checkpoints}
    for entry in chain:
        try:
            ids.add(parse_signature_header(entry.authorization).key_id)
        except SignatureError:
            pass  # verify names it
        if entry.receipt is not None:
            ids.add(entry.receipt.key_id)
    return ids


async def key_history(registry: RegistryClient, ids: Iterable[str]) -> KeyHistory:
    history = KeyHistory()
    for key_id in sorted(ids):
        subscriber, _, rest = key_id.partition("|")
        unique = rest.rpartition("|")[0]
        criteria = {"subscriber_id": subscriber, **({"key_id": unique} if unique else {})}
        try:
            entries = await registry.lookup(**criteria)
        except (httpx.HTTPError, ValueError):
            continue  # verify names the entries this key would have verified
        seen = set()
        for entry in entries:
            try:
                key = parse_subscription(entry)
            except (KeyError, KeyError_):
                continue
            if (key.valid_from, key.valid_until) in seen:
                continue  # one subscriber in several roles lists the same key more than once
            seen.add((key.valid_from, key.valid_until))
            history.add(KeyRecord(key_id, key.public_key, int(key.valid_from),
                                  int(min(key.valid_until, 2 ** 62))))
    return history
