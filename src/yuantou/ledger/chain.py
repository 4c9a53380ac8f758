"""The ledger's records, without I/O: hash-chained entries, receipts, keys with their periods, and checkpoints.

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

``ledger.verify`` checks a chain against all of this; ``ledger.pair`` adds checkpoints across
transactions.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from nacl.bindings import crypto_sign_seed_keypair

from yuantou.ledger import sodium
from yuantou.protocol.signing import body_digest

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
    return sodium.signature(text, _sodium_secret(private_key))


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


# built once: ``json.dumps`` with options builds an encoder on every call
_CANONICAL = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_COMPACT = json.JSONEncoder(separators=(",", ":")).encode
_quote, _quote_ascii = json.encoder.encode_basestring, json.encoder.encode_basestring_ascii  # the encoders' own


def canonical(entry: Entry, digest: str | None = None) -> bytes:
    """The bytes an entry's hash covers: every field but the hash, in a fixed order and encoding (``digest``:
    its body's BLAKE-512, if already computed): the JSON array of them, compact, not ASCII-escaped."""
    digest = digest or body_digest(entry.body)
    r = entry.receipt
    if type(entry.height) is int and type(entry.recorded_at) is int and (r is None or type(r.signed_at) is int):
        try:  # written out with the encoder's own quoting: an entry hashes in 10 µs, not 14 (a check hashes each)
            receipt = "null" if r is None else f"[{_quote(r.key_id)},{_quote(r.signature)},{r.signed_at}]"
            return (f"[{entry.height},{_quote(entry.prev_hash)},{_quote(entry.sender)},{_quote(entry.receiver)},"
                    f"{_quote(entry.action)},{_quote(entry.transaction_id)},{_quote(entry.message_id)},"
                    f"{_quote(entry.authorization)},{_quote(digest)},{entry.recorded_at},{receipt}]").encode()
        except TypeError:
            pass  # a field that is not text (e.g. read from a doctored bundle): encoded as JSON encodes it
    receipt_fields = None if r is None else [r.key_id, r.signature, r.signed_at]
    fields = [entry.height, entry.prev_hash, entry.sender, entry.receiver, entry.action,
              entry.transaction_id, entry.message_id, entry.authorization, digest, entry.recorded_at, receipt_fields]
    return _CANONICAL(fields).encode()


def entry_hash(entry: Entry, digest: str | None = None) -> str:
    return hashlib.blake2b(canonical(entry, digest), digest_size=32).hexdigest()


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
    """Every key each subscriber has had, so that an old entry verifies under the key of its day; and the secrets
    of the checking node's own keys, so that its own signatures (half of those in its chain) are checked by
    signing again (``signs``)."""

    records: dict[str, list[KeyRecord]] = field(default_factory=dict)
    secrets: dict[bytes, bytes] = field(default_factory=dict)  # public key → libsodium secret key
    # how far a sender's signature may say it was made before its key's period began (other stacks back-date
    # ``created``) and after it ended (clock skew): what the node took on arrival, ``ledger verify`` takes too
    early: int = 0
    late: int = 0

    def add(self, record: KeyRecord) -> None:
        self.records.setdefault(record.key_id, []).append(record)

    def hold(self, private_key: Ed25519PrivateKey) -> None:
        """Check this key's signatures by signing again."""
        self.secrets[raw_public_key(private_key.public_key())] = _sodium_secret(private_key)

    def signs(self, key: bytes | None, signature_b64: str, text: bytes) -> bool:
        """``signed_by``, with the same verdict in less time for a key whose secret is held: Ed25519 signing is
        deterministic (RFC 8032), so a signature equal to the one the key makes of ``text`` now is valid, and
        signing costs 2.2–2.4× less than verifying with libsodium here; one that differs is verified as usual."""
        secret = self.secrets.get(key) if key is not None else None
        if secret is not None:
            try:
                if sodium.signature(text, secret) == base64.b64decode(signature_b64, validate=True):
                    return True
            except ValueError:
                return False
        return signed_by(key, signature_b64, text)

    def at(self, key_id: str, when: int) -> bytes | None:
        """The key ``key_id`` named at ``when`` (receipts and checkpoints: signed by a node at its own time)."""
        for record in self.records.get(key_id, ()):
            if record.valid_from <= when <= record.valid_until:
                return record.public_key
        return None

    def at_sent(self, key_id: str, created: int) -> bytes | None:
        """The key a sender's ``Authorization`` names, with the slack the receiving node allowed (``early``,
        ``late``); a key in its period exactly is preferred."""
        exact = self.at(key_id, created)
        if exact is not None or not (self.early or self.late):
            return exact
        for record in self.records.get(key_id, ()):
            if record.valid_from - self.early <= created <= record.valid_until + self.late:
                return record.public_key
        return None


def message_digest(entry: Entry) -> str:
    """What sender and receiver both hold of a message, hashed alike on both sides. Not the signature header:
    a retry after a lost ACK may go out signed afresh, while the receiver keeps the first copy."""
    return message_digest_with(entry, body_digest(entry.body))


def message_digest_with(entry: Entry, digest: str) -> str:
    """``message_digest``, given the body's BLAKE-512 already computed."""
    return digest_of_message(entry.sender, entry.receiver, entry.action, entry.transaction_id, entry.message_id,
                             digest)


def digest_of_message(sender: str, receiver: str, action: str, transaction_id: str, message_id: str,
                      body_digest_b64: str) -> str:
    """BLAKE2b-256 of the compact, ASCII-escaped JSON array of these fields."""
    try:  # written out as ``canonical`` is
        text = (f"[{_quote_ascii(sender)},{_quote_ascii(receiver)},{_quote_ascii(action)},"
                f"{_quote_ascii(transaction_id)},{_quote_ascii(message_id)},{_quote_ascii(body_digest_b64)}]")
    except TypeError:
        text = _COMPACT([sender, receiver, action, transaction_id, message_id, body_digest_b64])
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """A party's signed word on the messages it held, exchanged with one counterparty in one transaction."""

    signer: str  # key id
    parties: tuple[str, str]  # subscriber ids, sorted
    transaction_id: str
    messages: tuple[str, ...]  # the message digests, sorted
    signed_at: int
    signature: str = ""


def set_digest(digests: Iterable[str]) -> str:
    """One digest for a set of message digests (what transaction and pair checkpoints sign)."""
    return hashlib.blake2b("\n".join(sorted(digests)).encode(), digest_size=32).hexdigest()


def checkpoint_text(cp: Checkpoint) -> bytes:
    digest = set_digest(cp.messages)
    return (f"yuantou-checkpoint\nsigner: {cp.signer}\nparties: {cp.parties[0]} {cp.parties[1]}\n"
            f"transaction: {cp.transaction_id}\ncount: {len(cp.messages)}\nmessages: {digest}\n"
            f"signed_at: {cp.signed_at}").encode()


def checkpoint_for(chain: Iterable[Entry], a: str, b: str, transaction_id: str, signer: str,
                   private_key: Ed25519PrivateKey, signed_at: int) -> Checkpoint:
    """Sign the messages of ``transaction_id`` between ``a`` and ``b`` as ``chain`` holds them."""
    low, high = sorted((a, b))
    return sign_checkpoint((message_digest(e) for e in _between(chain, (low, high), transaction_id)), a, b,
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


def parties_of(entry: Entry) -> tuple[str, str] | None:
    """The two parties a point-to-point message is between, sorted; None for discovery the gateway relays."""
    return None if entry.action in RELAYED else tuple(sorted((entry.sender, entry.receiver)))  # type: ignore[return-value]


def _between(chain: Iterable[Entry], parties: tuple[str, str], transaction_id: str) -> list[Entry]:
    """The point-to-point messages of a transaction between two parties (what checkpoints cover)."""
    return [e for e in chain if e.transaction_id == transaction_id and parties_of(e) == parties]


def signed_by(key: bytes | None, signature_b64: str, text: bytes) -> bool:
    """Ed25519 through libsodium, 1.3–2× OpenSSL's speed here: verifying a chain is two checks an entry."""
    if key is None:
        return False
    try:
        return sodium.verifies(base64.b64decode(signature_b64, validate=True), text, key)
    except ValueError:  # not base64
        return False


_CONTEXT_FIRST = b'{"context":'
_DECODER = json.JSONDecoder()


def body_context(body: bytes) -> dict:
    """A Beckn body's ``context`` ({} if it has none, or is not JSON). A body that opens with its context and
    names no other has only that object decoded (a third of the bytes, and a chain check reads a context an
    entry); any other body is decoded whole, where a repeated key counts as its last copy."""
    try:
        if body.startswith(_CONTEXT_FIRST) and body.count(b'"context"') == 1:
            try:
                context = _DECODER.raw_decode(body.decode("utf-8"), len(_CONTEXT_FIRST))[0]
                return context if isinstance(context, dict) else {}
            except ValueError:
                pass  # e.g. a space after the colon: decode it whole
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
