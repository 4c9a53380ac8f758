"""Two parties' evidence on one transaction, held against each other (pure).

Each side's bundle can verify on its own and still disagree with the other's: a message one side
says it sent that the other never holds, or the same message id under different bytes. What each
divergence proves depends on what the bundles carry: a receipt or a checkpoint signed by the
other side is its own word that it held the message, so a message it receipted but no longer
holds was dropped by it; a message with no receipt was perhaps never delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

from yuantou.ledger.chain import Checkpoint, Entry, message_digest, parties_of
from yuantou.protocol.signing import body_digest


@dataclass(frozen=True)
class Side:
    """One party's bundle on the transaction: whose it is, its entries and the checkpoints it holds."""

    node: str
    entries: list[Entry]
    checkpoints: list[Checkpoint]


@dataclass(frozen=True)
class Divergence:
    kind: str  # dropped | undelivered | unreceipted | different | unsigned-for
    action: str
    message_id: str
    detail: str

    def __str__(self) -> str:
        return f"{self.action} {self.message_id}: {self.detail}"


def _between(side: Side, other: str) -> dict[tuple[str, str], Entry]:
    """The point-to-point messages ``side`` holds with ``other``, by (action, message id): a callback shares its
    request's message id, so the action tells them apart."""
    pair = tuple(sorted((side.node, other)))
    return {(e.action, e.message_id): e for e in side.entries if parties_of(e) == pair}


def compare(a: Side, b: Side) -> list[Divergence]:
    """Every way the two records of the transaction disagree, in the order the messages stand in ``a``'s
    record (then those only ``b`` holds)."""
    ours, theirs = _between(a, b.node), _between(b, a.node)
    found: list[Divergence] = []
    for key in list(ours) + [k for k in theirs if k not in ours]:
        mine, other = ours.get(key), theirs.get(key)
        if mine is not None and other is not None:
            if message_digest(mine) != message_digest(other):
                found.append(Divergence("different", *key, _difference(mine, other, a.node, b.node)))
            continue
        held_by, missing_at, entry = (a, b, mine) if mine is not None else (b, a, other)
        assert entry is not None  # the key came from one side or the other
        sender = entry.sender
        if entry.receiver == missing_at.node and sender == held_by.node:  # sent by one, absent at its receiver
            if entry.receipt is not None:
                found.append(Divergence("dropped", *key, f"{held_by.node} holds {missing_at.node}'s receipt for it "
                                                         f"(signed at {entry.receipt.signed_at}), but "
                                                         f"{missing_at.node}'s record does not hold it"))
            else:
                found.append(Divergence("undelivered", *key, f"{held_by.node} says it sent it to {missing_at.node}, "
                                                             f"which never receipted it and does not hold it"))
        else:  # received by one, absent at its sender
            found.append(Divergence("unreceipted" if entry.receipt is None else "dropped", *key,
                                    f"{held_by.node} holds it as received from {missing_at.node}, "
                                    f"whose record does not hold it as sent"))
    for holder, signer in ((a, b), (b, a)):
        digests = {message_digest(e) for e in _between(signer, holder.node).values()}
        for cp in holder.checkpoints:
            if cp.signer.partition("|")[0] != signer.node:
                continue
            gone = [m for m in cp.messages if m not in digests]
            if gone:
                found.append(Divergence("unsigned-for", "checkpoint", str(cp.signed_at),
                                        f"{signer.node} signed for {len(cp.messages)} messages at {cp.signed_at}; "
                                        f"{len(gone)} of them are not in its record now"))
    return found


def _difference(mine: Entry, other: Entry, a: str, b: str) -> str:
    for name in ("sender", "receiver", "transaction_id"):
        if getattr(mine, name) != getattr(other, name):
            return f"{a} holds {name} {getattr(mine, name)!r}, {b} holds {getattr(other, name)!r}"
    return (f"different bytes under the same message id: {a} holds body BLAKE-512={body_digest(mine.body)[:16]}…, "
            f"{b} holds {body_digest(other.body)[:16]}… (each as signed by {mine.sender})")
