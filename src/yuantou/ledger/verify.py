"""Checking a chain (pure): each entry, its links, its signatures and receipt, and every checkpoint held.

``check_run`` checks one stretch of a chain and collects what the checkpoints are held against;
``join`` puts stretches checked apart (in parallel, ``ledger.audit``) together and checks their
seams, so the verdict is the one a single pass gives. ``verify`` is the single pass. Each names the
first thing wrong: at which entry, and why. The checks on what arrives with an ACK (a peer's receipt
or checkpoint) live here too: they are the same rules, applied before anything is kept.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field

from yuantou.ledger.chain import (
    GENESIS,
    Checkpoint,
    Entry,
    KeyHistory,
    Receipt,
    body_context,
    checkpoint_text,
    context_time,
    entry_hash,
    message_digest_with,
    parties_of,
    receipt_text,
    set_digest,
    signed_by,
)
from yuantou.ledger.pair import PairCheckpoint, covered, pair_text
from yuantou.protocol.signing import SignatureError, body_digest, parse_signature_header, signing_string


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a chain: at which entry (or checkpoint) and why."""

    height: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.height}: {self.reason}"


def _context_problem(entry: Entry, context: dict) -> str | None:
    """An entry's ids must be the ones its (signed) body carries: else a receipt could be moved to another id."""
    for name in ("transaction_id", "message_id", "action"):
        if name in context and context[name] != getattr(entry, name):
            return f"its {name} {getattr(entry, name)!r} is not the body's {context[name]!r}"
    return None


def _entry_problem(entry: Entry, digest: str, context: dict, keys: KeyHistory) -> str | None:
    """What is wrong with one entry on its own (``digest``: its body's BLAKE-512, computed once for all checks)."""
    problem = _context_problem(entry, context)
    if problem:
        return problem
    try:
        header = parse_signature_header(entry.authorization)
    except SignatureError as e:
        return f"its Authorization header does not parse ({e})"
    key = keys.at_sent(header.key_id, header.created)
    if key is None:
        return f"no key {header.key_id} was valid at {header.created}"
    if not keys.signs(key, header.signature, signing_string(header.created, header.expires, digest).encode()):
        return f"the sender's signature ({header.key_id}) does not verify over its body"
    if entry.receipt is not None:
        if entry.receipt.key_id.partition("|")[0] != entry.receiver:
            return f"its receipt is signed by {entry.receipt.key_id}, not by its receiver {entry.receiver}"
        signer = keys.at(entry.receipt.key_id, entry.receipt.signed_at)
        if not keys.signs(signer, entry.receipt.signature, receipt_text(digest, entry.receipt.signed_at)):
            return f"the receipt by {entry.receipt.key_id} does not verify"
    return None


def receipt_problem(receipt: Receipt, body: bytes, key: bytes | None, counterparty: str | None) -> str | None:
    """Why a receipt that just came with an ACK cannot be kept (None: it is the counterparty's and verifies)."""
    if counterparty and receipt.key_id.partition("|")[0] != counterparty:
        return f"the receipt is signed by {receipt.key_id}, not by {counterparty}"
    if key is None:
        return f"no key {receipt.key_id} was valid at {receipt.signed_at}"
    if not signed_by(key, receipt.signature, receipt_text(body_digest(body), receipt.signed_at)):
        return f"the receipt by {receipt.key_id} does not verify over the message sent"
    return None


def arriving_checkpoint_problem(cp: Checkpoint, key: bytes | None, us: str, counterparty: str | None,
                                transaction_id: str, sent_digest: str) -> str | None:
    """Why a checkpoint that came with an ACK cannot be kept: it must be the counterparty's, on this transaction
    between the two of us, verify, and hold the message it acknowledges (``sent_digest``)."""
    if counterparty and cp.signer.partition("|")[0] != counterparty:
        return f"the checkpoint is signed by {cp.signer}, not by {counterparty}"
    if us not in cp.parties or (counterparty and counterparty not in cp.parties) or cp.transaction_id != transaction_id:
        return f"the checkpoint is on {cp.parties[0]}–{cp.parties[1]}, transaction {cp.transaction_id}, not this one"
    if key is None:
        return f"no key {cp.signer} was valid at {cp.signed_at}"
    if not signed_by(key, cp.signature, checkpoint_text(cp)):
        return f"the checkpoint by {cp.signer} does not verify"
    if sent_digest not in cp.messages:
        return "the checkpoint does not hold the message it acknowledges"
    return None


@dataclass
class Run:
    """What checking one stretch of a chain found: its first problem, and what joining it to the stretches
    beside it and checking checkpoints against it need (its ends, and the message digests checkpoints name)."""

    start: int  # the place its first entry should stand at
    first_height: int | None = None  # the height its first entry says it has
    count: int = 0
    first_prev_hash: str | None = None
    last_hash: str | None = None
    problem: Problem | None = None
    shared: dict[tuple[tuple[str, str], str], tuple[int, set[str]]] = field(default_factory=dict)
    pairs: dict[tuple[str, str], list[tuple[int | None, str]]] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    one_sided: int = 0


def check_run(entries: Iterable[Entry], keys: KeyHistory, start: int = 0, prev_hash: str | None = GENESIS,
              wanted: Container[tuple[tuple[str, str], str]] = (), excerpt: bool = False,
              pairs: Container[tuple[str, str]] = (), heights: Container[int] = ()) -> Run:
    """Check a stretch of a chain whose first entry should stand at place ``start`` and link to ``prev_hash``
    (None: not known here, ``join`` checks it): each entry's place, link, hash and signatures. Stops at the first
    problem. Collects the digests of the messages of each (parties, transaction) in ``wanted``, the (timestamp,
    digest) of every message between each pair of parties in ``pairs``, and the hash at each of ``heights``
    (what checkpoints are checked against).

    ``excerpt``: the entries are some of a chain (one transaction's, in an evidence bundle), in order but not
    adjacent, so each is checked against its own hash and signatures, not linked to the one before it."""
    run = Run(start)
    previous = prev_hash
    last_height = -1
    for entry in entries:
        position = start + run.count
        if run.first_height is None:
            run.first_height = entry.height
        if excerpt:
            if entry.height <= last_height:
                run.problem = Problem(entry.height, "is out of order in the excerpt")
        elif entry.height != position:
            run.problem = _misplaced(position, entry.height)
        elif previous is not None and entry.prev_hash != previous:
            run.problem = Problem(position, _UNLINKED)
        digest = body_digest(entry.body)
        if run.problem is None and entry_hash(entry, digest) != entry.hash:
            run.problem = Problem(entry.height, "its contents do not match its hash (it was changed)")
        if run.problem is None:
            context = body_context(entry.body)
            problem = _entry_problem(entry, digest, context, keys)
            message = message_digest_with(entry, digest)
            if problem is None and entry.digest and entry.digest != message:
                problem = "its stored message digest is not its message's (it was changed)"
            if problem:
                run.problem = Problem(entry.height, problem)
        if run.problem is not None:
            return run
        if run.count == 0:
            run.first_prev_hash = entry.prev_hash
        run.count += 1
        run.last_hash = previous = entry.hash
        last_height = entry.height
        run.one_sided += entry.receipt is None
        parties = parties_of(entry)
        if parties is not None and (parties, entry.transaction_id) in wanted:
            held = run.shared.get((parties, entry.transaction_id))
            digests = held[1] if held else set()
            digests.add(message)
            run.shared[(parties, entry.transaction_id)] = (entry.height, digests)
        if parties is not None and parties in pairs:
            run.pairs.setdefault(parties, []).append((context_time(context), message))
        if entry.height in heights:
            run.hashes[entry.height] = entry.hash
    return run


def _misplaced(position: int, height: int | None) -> Problem:
    return Problem(position, f"stands at place {position} but says it is entry {height} "
                             "(an entry was removed, inserted or moved)")


_UNLINKED = "does not link to the entry before it (an entry was changed, removed, inserted or moved)"


def join(runs: Iterable[Run]) -> Run:
    """Consecutive stretches of one chain, checked apart (in parallel), as one: the first problem in any of them
    or at a seam (a stretch that does not link to the one before, or one that ended early: entries missing)."""
    whole = Run(0)
    for run in runs:
        if run.count == 0 and run.problem is None:
            continue  # nothing stood in this stretch
        if run.start != whole.count:  # the stretches before ended early: the next entry stands where one is missing
            whole.problem = _misplaced(whole.count, run.first_height)
            return whole
        if run.count and whole.count and run.first_prev_hash != whole.last_hash:
            whole.problem = Problem(run.start, _UNLINKED)
            return whole
        whole.count += run.count
        whole.last_hash = run.last_hash or whole.last_hash
        whole.one_sided += run.one_sided
        for key, (height, digests) in run.shared.items():
            held = whole.shared.get(key)
            whole.shared[key] = (height, digests | held[1]) if held else (height, digests)
        for pair, messages in run.pairs.items():
            whole.pairs.setdefault(pair, []).extend(messages)
        whole.hashes.update(run.hashes)
        if run.problem is not None:
            whole.problem = run.problem
            return whole
    return whole


def checkpoint_signed(cp: Checkpoint, keys: KeyHistory) -> bool:
    return keys.signs(keys.at(cp.signer, cp.signed_at), cp.signature, checkpoint_text(cp))


def checkpoint_problem(checkpoints: Iterable[Checkpoint], run: Run, keys: KeyHistory,
                       signed: Sequence[bool] | None = None) -> Problem | None:
    """The first checkpoint that does not verify, or that names a message this chain does not hold as signed.
    ``signed``: whether each checkpoint's signature verifies, if already checked (in parallel, ``ledger.audit``)."""
    for i, cp in enumerate(checkpoints):
        where, held = run.shared.get((cp.parties, cp.transaction_id), (run.start + run.count, set()))
        if not (signed[i] if signed is not None else checkpoint_signed(cp, keys)):
            return Problem(where, f"the checkpoint by {cp.signer} on transaction {cp.transaction_id} does not verify")
        missing = [m for m in cp.messages if m not in held]
        if missing:
            return Problem(where, f"{len(missing)} of the {len(cp.messages)} messages of transaction "
                                  f"{cp.transaction_id} that {cp.signer} signed for are not in this chain as signed "
                                  "(removed or altered)")
    return None


def verify(chain: Sequence[Entry], keys: KeyHistory, checkpoints: Iterable[Checkpoint] = (),
           excerpt: bool = False, pair_checkpoints: Iterable[PairCheckpoint] = (), owner: str | None = None) -> Problem | None:
    """None if the chain, every signature and receipt in it and every checkpoint hold; else the first problem.
    ``pair_checkpoints`` (``ledger.pair``) are checked too; ``owner``: whose chain it is (its own pair checkpoints
    name heights and hashes of this chain)."""
    checkpoints, pair_checkpoints = list(checkpoints), list(pair_checkpoints)
    run = check_run(chain, keys, 0, None if excerpt else GENESIS,
                    {(cp.parties, cp.transaction_id) for cp in checkpoints}, excerpt,
                    {cp.parties for cp in pair_checkpoints}, {cp.height for cp in pair_checkpoints})
    return (run.problem or checkpoint_problem(checkpoints, run, keys)
            or pair_problem(pair_checkpoints, run, keys, owner))


def pair_problem(checkpoints: Iterable[PairCheckpoint], run: Run, keys: KeyHistory, owner: str | None) -> Problem | None:
    """The first pair checkpoint this chain (``owner``'s, checked into ``run``) does not live up to: one that does
    not verify, a set of messages it no longer holds as signed, or, for ``owner``'s own, a head hash its chain no
    longer has at that height (rewritten below it, or cut short)."""
    end = run.start + run.count
    for cp in checkpoints:
        other = next((p for p in cp.parties if p != cp.signer.partition("|")[0]), cp.parties[1])
        if not keys.signs(keys.at(cp.signer, cp.signed_at), cp.signature, pair_text(cp)):
            return Problem(end, f"the pair checkpoint by {cp.signer} (up to {cp.until}) does not verify")
        digests = covered(run.pairs.get(cp.parties, ()), cp.until)
        if (len(digests), set_digest(digests)) != (cp.count, cp.messages):
            return Problem(end, f"{cp.signer} signed for {cp.count} messages between {cp.parties[0]} and "
                                f"{cp.parties[1]} up to {cp.until}; this chain holds {len(digests)}"
                                f"{' others' if len(digests) == cp.count else ''} (removed or altered)")
        if owner is not None and cp.signer.partition("|")[0] == owner and cp.height >= 0:
            if cp.height >= end:
                return Problem(end, f"the chain ends before entry {cp.height}, whose hash it signed in its "
                                    f"checkpoint with {other} (cut short)")
            if run.hashes.get(cp.height) != cp.head_hash:
                return Problem(cp.height, f"is not the entry whose hash it signed in its checkpoint with {other} "
                                          "(the chain was rewritten at or below it)")
    return None
