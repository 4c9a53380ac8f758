"""Periodic checkpoints between two parties, across all their transactions (pure).

A per-transaction checkpoint rides on every ACK; a pair checkpoint is exchanged every few minutes
with each counterparty, so that a transaction long closed is still covered and a chain cannot be
cut or forked unseen. Each side signs the same set: every point-to-point message between the two
whose Beckn ``context.timestamp`` (identical bytes at both ends) is at or before a cut-off a little
in the past, so that messages still in flight do not make the two sides disagree. Each also signs
its own chain's height and head hash at that moment: the other side holds that, and a chain later
rewritten below that height no longer has that hash there.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yuantou.ledger.chain import Entry, body_context, context_time, ed25519_sign, message_digest, parties_of, set_digest


@dataclass(frozen=True)
class PairCheckpoint:
    signer: str  # key id
    parties: tuple[str, str]  # subscriber ids, sorted
    until: int  # covers the messages between them timestamped at or before this (Unix seconds)
    count: int
    messages: str  # BLAKE2b-256 over their sorted message digests
    height: int  # the signer's chain when it signed: its height and head hash
    head_hash: str
    signed_at: int
    signature: str = ""


def pair_text(cp: PairCheckpoint) -> bytes:
    return (f"yuantou-pair-checkpoint\nsigner: {cp.signer}\nparties: {cp.parties[0]} {cp.parties[1]}\n"
            f"until: {cp.until}\ncount: {cp.count}\nmessages: {cp.messages}\nheight: {cp.height}\n"
            f"head: {cp.head_hash}\nsigned_at: {cp.signed_at}").encode()


def covered(messages: Iterable[tuple[int | None, str]], until: int) -> list[str]:
    """The digests of the (timestamp, digest) messages a checkpoint cut off at ``until`` covers."""
    return [digest for when, digest in messages if when is not None and when <= until]


def shared(chain: Iterable[Entry], parties: tuple[str, str], until: int) -> list[str]:
    """The message digests of what ``chain`` holds between the two parties, timestamped at or before ``until``."""
    return covered(((context_time(body_context(e.body)), message_digest(e)) for e in chain if parties_of(e) == parties),
                   until)


def sign_pair(messages: Iterable[Entry], head: tuple[int, str] | None, me: str, other: str, until: int, signer: str,
              key: Ed25519PrivateKey, signed_at: int) -> PairCheckpoint:
    """Our checkpoint with ``other``: the ``messages`` we hold with it up to ``until``, and our chain's ``head``
    (height, hash) as it stands."""
    parties = tuple(sorted((me, other)))
    digests = shared(messages, parties, until)  # type: ignore[arg-type]
    cp = PairCheckpoint(signer, parties, until, len(digests), set_digest(digests),  # type: ignore[arg-type]
                        -1 if head is None else head[0], "" if head is None else head[1], signed_at)
    return replace(cp, signature=base64.b64encode(ed25519_sign(key, pair_text(cp))).decode("ascii"))


def to_json(cp: PairCheckpoint) -> dict[str, Any]:
    return asdict(cp) | {"parties": list(cp.parties)}


def from_json(doc: Any) -> PairCheckpoint:
    """A pair checkpoint from its JSON form; ValueError names the field that is wrong."""
    if not isinstance(doc, dict):
        raise ValueError("$: a pair checkpoint must be a JSON object")
    kinds = {"signer": str, "parties": list, "until": int, "count": int, "messages": str, "height": int,
             "head_hash": str, "signed_at": int, "signature": str}
    for name, kind in kinds.items():
        if not isinstance(doc.get(name), kind) or isinstance(doc.get(name), bool):
            raise ValueError(f"$.{name}: expected {kind.__name__}")
    if len(doc["parties"]) != 2 or not all(isinstance(p, str) for p in doc["parties"]):
        raise ValueError("$.parties: expected two subscriber ids")
    return PairCheckpoint(**{k: doc[k] for k in kinds} | {"parties": tuple(sorted(doc["parties"]))})


def agrees(mine: PairCheckpoint, theirs: PairCheckpoint) -> bool:
    """Both sides signed the same set of messages between them."""
    return (mine.parties, mine.until, mine.count, mine.messages) == (theirs.parties, theirs.until, theirs.count,
                                                                    theirs.messages)
