"""The ledger's rules, without I/O: hash-chained entries, receipts, checkpoints, and their verification.

Each entry is one signed Beckn message a node sent or received: the raw body, the
``Authorization`` header that signs it, and, when the counterparty counter-signed it, their
receipt (an Ed25519 signature over the same BLAKE2b-512 body digest the Beckn signature covers).
Entry n's hash is BLAKE2b-256 over a canonical encoding of its fields and entry n − 1's hash, so
changing, dropping, inserting or reordering any entry changes every hash after it. Two parties'
chains interleave different traffic, so what they can both sign is the *set* of messages they
exchanged in a transaction: a checkpoint is a party's signature over (the two parties, the
transaction, the sorted digests of the messages it holds), each message digest taken over what
both sides hold alike (sender, receiver, action, ids and the body digest).
Holding the other side's checkpoint, neither can later drop or alter a message of that transaction
unseen, even by rewriting its own chain from scratch. (A message slipped in afterwards is not a
checkpoint's to catch: comparing both sides' records is.)

``verify`` walks a chain and names the first entry that fails, and why: its place, its link to the
one before, its hash, the sender's signature (under the key valid when it was made, so rotated keys
still verify old entries), the receipt, or a checkpoint that no longer matches.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from datetime import datetime
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

from yuantou.protocol.signing import SignatureError, body_digest, parse_signature_header, signing_string

GENESIS = "0" * 64


@dataclass(frozen=True)
class Receipt:
    """The receiver's proof of receipt: its key id and its signature over the body's digest."""

    key_id: str  # "subscriber|key|ed25519"
    signature: str  # base64
    signed_at: int


@functools.lru_cache(maxsize=16)
def _sodium_secret(private_key: Ed25519PrivateKey) -> bytes:
    seed = private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return crypto_sign_seed_keypair(seed)[1]


def ed25519_sign(private_key: Ed25519PrivateKey, text: bytes) -> bytes:
    """The same (deterministic) signature as ``private_key.sign``, through libsodium: a third faster here, and
    a node signs a receipt and a checkpoint on every ACK."""
    return crypto_sign(text, _sodium_secret(private_key))[:64]


def receipt_text(digest_b64: str, signed_at: int) -> bytes:
    return f"yuantou-receipt\ndigest: BLAKE-512={digest_b64}\nsigned_at: {signed_at}".encode()


def sign_receipt(body: bytes, private_key: Ed25519PrivateKey, key_id: str, signed_at: int) -> Receipt:
    signature = ed25519_sign(private_key, receipt_text(body_digest(body), signed_at))
    return Receipt(key_id, base64.b64encode(signature).decode("ascii"), signed_at)


RECEIPT_HEADER = "X-Yuantou-Receipt"  # on an ACK: the Yuantou profile's proof of receipt; Beckn peers ignore it
_RECEIPT = re.compile(r'^keyId="([^"]+)",signed_at="(\d+)",signature="([A-Za-z0-9+/=]+)"$')


def render_receipt(receipt: Receipt) -> str:
    return f'keyId="{receipt.key_id}",signed_at="{receipt.signed_at}",signature="{receipt.signature}"'


def parse_receipt(value: str | None) -> Receipt | None:
    """The receipt an ACK carried, or None (a peer that does not counter-sign, or a header that does not parse)."""
    match = _RECEIPT.match((value or "").strip())
    return Receipt(match.group(1), match.group(3), int(match.group(2))) if match else None


@dataclass(frozen=True)
class Entry:
    height: int
    prev_hash: str  # hex
    sender: str  # subscriber ids
    receiver: str
    action: str
    transaction_id: str
    message_id: str
    authorization: str  # the Signature header that signs the body
    body: bytes
    recorded_at: int
    receipt: Receipt | None = None  # None: a peer that does not counter-sign (one-sided)
    hash: str = ""  # hex; filled by ``seal``
    digest: str = ""  # message_digest as the store keeps it (derived, so not hashed; checked by verify)

    @property
    def one_sided(self) -> bool:
        return self.receipt is None


def canonical(entry: Entry) -> bytes:
    """The bytes an entry's hash covers: every field but the hash, in a fixed order and encoding."""
    receipt = None if entry.receipt is None else [entry.receipt.key_id, entry.receipt.signature,
                                                   entry.receipt.signed_at]
    fields = [entry.height, entry.prev_hash, entry.sender, entry.receiver, entry.action,
              entry.transaction_id, entry.message_id, entry.authorization, body_digest(entry.body),
              entry.recorded_at, receipt]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: Entry) -> str:
    return hashlib.blake2b(canonical(entry), digest_size=32).hexdigest()


def seal(entry: Entry) -> Entry:
    return replace(entry, hash=entry_hash(entry))


def append(chain: Sequence[Entry], **fields: object) -> Entry:
    """The next entry of ``chain`` (height and link filled in, hash sealed)."""
    return after(None if not chain else (chain[-1].height, chain[-1].hash), **fields)


def after(head: tuple[int, str] | None, **fields: object) -> Entry:
    """The entry that follows a chain whose head has this (height, hash), or the first one if None."""
    height, prev_hash = (0, GENESIS) if head is None else (head[0] + 1, head[1])
    return seal(Entry(height=height, prev_hash=prev_hash, **fields))  # type: ignore[arg-type]


def raw_public_key(key: Ed25519PublicKey | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class KeyRecord:
    """A public key as the directory lists it, with the period it signs for. The key is kept as its 32 raw bytes:
    that is what libsodium verifies with, and what crosses to the processes of a parallel check."""

    key_id: str
    public_key: bytes
    valid_from: int
    valid_until: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "public_key", raw_public_key(self.public_key))


@dataclass
class KeyHistory:
    """Every key each subscriber has had, so that an old entry verifies under the key of its day."""

    records: dict[str, list[KeyRecord]] = field(default_factory=dict)

    def add(self, record: KeyRecord) -> None:
        self.records.setdefault(record.key_id, []).append(record)

    def at(self, key_id: str, when: int) -> bytes | None:
        for record in self.records.get(key_id, ()):
            if record.valid_from <= when <= record.valid_until:
                return record.public_key
        return None


def message_digest(entry: Entry) -> str:
    """What sender and receiver both hold of a message, hashed alike on both sides. Not the signature header:
    a retry after a lost ACK may go out signed afresh, while the receiver keeps the first copy."""
    return _message_digest(entry, body_digest(entry.body))


def _message_digest(entry: Entry, digest: str) -> str:
    return digest_of_message(entry.sender, entry.receiver, entry.action, entry.transaction_id, entry.message_id,
                             digest)


def digest_of_message(sender: str, receiver: str, action: str, transaction_id: str, message_id: str,
                      body_digest_b64: str) -> str:
    fields = [sender, receiver, action, transaction_id, message_id, body_digest_b64]
    return hashlib.blake2b(json.dumps(fields, separators=(",", ":")).encode(), digest_size=32).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A party's signed word on the messages it held, exchanged with one counterparty in one transaction."""

    signer: str  # key id
    parties: tuple[str, str]  # subscriber ids, sorted
    transaction_id: str
    messages: tuple[str, ...]  # the message digests, sorted
    signed_at: int
    signature: str = ""


def checkpoint_text(cp: Checkpoint) -> bytes:
    digest = hashlib.blake2b("\n".join(cp.messages).encode(), digest_size=32).hexdigest()
    return (f"yuantou-checkpoint\nsigner: {cp.signer}\nparties: {cp.parties[0]} {cp.parties[1]}\n"
            f"transaction: {cp.transaction_id}\ncount: {len(cp.messages)}\nmessages: {digest}\n"
            f"signed_at: {cp.signed_at}").encode()


def checkpoint_for(chain: Iterable[Entry], a: str, b: str, transaction_id: str, signer: str,
                   private_key: Ed25519PrivateKey, signed_at: int) -> Checkpoint:
    """Sign the messages of ``transaction_id`` between ``a`` and ``b`` as ``chain`` holds them."""
    parties = tuple(sorted((a, b)))
    return sign_checkpoint((message_digest(e) for e in _between(chain, parties, transaction_id)), a, b,
                           transaction_id, signer, private_key, signed_at)


def sign_checkpoint(digests: Iterable[str], a: str, b: str, transaction_id: str, signer: str,
                    private_key: Ed25519PrivateKey, signed_at: int) -> Checkpoint:
    """Sign these message digests as the ones held of ``transaction_id`` between ``a`` and ``b``."""
    cp = Checkpoint(signer, tuple(sorted((a, b))), transaction_id, tuple(sorted(digests)), signed_at)  # type: ignore[arg-type]
    return replace(cp, signature=base64.b64encode(ed25519_sign(private_key, checkpoint_text(cp))).decode("ascii"))


CHECKPOINT_HEADER = "X-Yuantou-Checkpoint"  # on an ACK: the receiver's checkpoint on the transaction so far
_CHECKPOINT = re.compile(r'^keyId="([^"]+)",parties="([^" ]+) ([^" ]+)",transaction="([^"]*)",signed_at="(\d+)",'
                         r'messages="([0-9a-f ]*)",signature="([A-Za-z0-9+/=]+)"$')


def render_checkpoint(cp: Checkpoint) -> str:
    return (f'keyId="{cp.signer}",parties="{cp.parties[0]} {cp.parties[1]}",transaction="{cp.transaction_id}",'
            f'signed_at="{cp.signed_at}",messages="{" ".join(cp.messages)}",signature="{cp.signature}"')


def parse_checkpoint(value: str | None) -> Checkpoint | None:
    match = _CHECKPOINT.match((value or "").strip())
    if not match:
        return None
    signer, a, b, tx, signed_at, messages, signature = match.groups()
    return Checkpoint(signer, (a, b), tx, tuple(messages.split()), int(signed_at), signature)


RELAYED = frozenset({"search", "on_search"})  # discovery goes through the gateway: no commitment between two parties


def _between(chain: Iterable[Entry], parties: tuple[str, str], transaction_id: str) -> list[Entry]:
    """The point-to-point messages of a transaction between two parties (what checkpoints cover)."""
    return [e for e in chain if e.transaction_id == transaction_id and e.action not in RELAYED
            and tuple(sorted((e.sender, e.receiver))) == parties]


def _shared_key(entry: Entry) -> tuple[tuple[str, str], str] | None:
    """The (parties, transaction) a checkpoint on this entry's message would name; None for relayed discovery."""
    if entry.action in RELAYED:
        return None
    return tuple(sorted((entry.sender, entry.receiver))), entry.transaction_id  # type: ignore[return-value]


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a chain: at which entry (or checkpoint) and why."""

    height: int
    reason: str

    def __str__(self) -> str:
        return f"entry {self.height}: {self.reason}"


def signed_by(key: bytes | None, signature_b64: str, text: bytes) -> bool:
    """Ed25519 through libsodium, about twice as fast here as OpenSSL's: verifying a chain is two checks an entry."""
    if key is None:
        return False
    try:
        crypto_sign_open(base64.b64decode(signature_b64, validate=True) + text, key)
    except (BadSignatureError, ValueError):
        return False
    return True


def body_context(body: bytes) -> dict:
    try:
        context = json.loads(body).get("context")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return {}  # not a Beckn body: the signature check still covers its bytes
    return context if isinstance(context, dict) else {}


def context_time(context: dict) -> int | None:
    """A message's ``context.timestamp`` in Unix seconds (the same bytes at both ends), or None."""
    try:
        return int(datetime.fromisoformat(context["timestamp"].replace("Z", "+00:00")).timestamp())
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


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
    key = keys.at(header.key_id, header.created)
    if key is None:
        return f"no key {header.key_id} was valid at {header.created}"
    if not signed_by(key, header.signature, signing_string(header.created, header.expires, digest).encode()):
        return f"the sender's signature ({header.key_id}) does not verify over its body"
    if entry.receipt is not None:
        signer = keys.at(entry.receipt.key_id, entry.receipt.signed_at)
        if not signed_by(signer, entry.receipt.signature, receipt_text(digest, entry.receipt.signed_at)):
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
        if run.problem is None and entry_hash(entry) != entry.hash:
            run.problem = Problem(entry.height, "its contents do not match its hash (it was changed)")
        if run.problem is None:
            digest = body_digest(entry.body)
            context = body_context(entry.body)
            problem = _entry_problem(entry, digest, context, keys)
            if problem is None and entry.digest and entry.digest != _message_digest(entry, digest):
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
        key = _shared_key(entry)
        if key is not None and key in wanted:
            held = run.shared.get(key)
            digests = held[1] if held else set()
            digests.add(_message_digest(entry, digest))
            run.shared[key] = (entry.height, digests)
        if key is not None and key[0] in pairs:
            run.pairs.setdefault(key[0], []).append((context_time(context), _message_digest(entry, digest)))
        if entry.height in heights:
            run.hashes[entry.height] = entry.hash
    return run


def _misplaced(position: int, height: int) -> Problem:
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


def checkpoint_problem(checkpoints: Iterable[Checkpoint], run: Run, keys: KeyHistory) -> Problem | None:
    """The first checkpoint that does not verify, or that names a message this chain does not hold as signed."""
    for cp in checkpoints:
        where, held = run.shared.get((cp.parties, cp.transaction_id), (run.start + run.count, set()))
        if not signed_by(keys.at(cp.signer, cp.signed_at), cp.signature, checkpoint_text(cp)):
            return Problem(where, f"the checkpoint by {cp.signer} on transaction {cp.transaction_id} does not verify")
        missing = [m for m in cp.messages if m not in held]
        if missing:
            return Problem(where, f"{len(missing)} of the {len(cp.messages)} messages of transaction "
                                  f"{cp.transaction_id} that {cp.signer} signed for are not in this chain as signed "
                                  "(removed or altered)")
    return None


def verify(chain: Sequence[Entry], keys: KeyHistory, checkpoints: Iterable[Checkpoint] = (),
           excerpt: bool = False, pair_checkpoints: Iterable = (), owner: str | None = None) -> Problem | None:
    """None if the chain, every signature and receipt in it and every checkpoint hold; else the first problem.
    ``pair_checkpoints`` (``ledger.pair``) are checked too; ``owner``: whose chain it is (its own pair checkpoints
    name heights and hashes of this chain)."""
    from yuantou.ledger.pair import pair_problem

    checkpoints, pair_checkpoints = list(checkpoints), list(pair_checkpoints)
    run = check_run(chain, keys, 0, None if excerpt else GENESIS,
                    {(cp.parties, cp.transaction_id) for cp in checkpoints}, excerpt,
                    {cp.parties for cp in pair_checkpoints}, {cp.height for cp in pair_checkpoints})
    return (run.problem or checkpoint_problem(checkpoints, run, keys)
            or pair_problem(pair_checkpoints, run, keys, owner))
