"""The ledger's rules: random histories between two parties verify; every kind of tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.ledger.chain import (
    Entry,
    KeyHistory,
    KeyRecord,
    Receipt,
    append,
    body_context,
    canonical,
    checkpoint_for,
    digest_of_message,
    seal,
    sign_receipt,
    signed_by,
)
from yuantou.ledger.verify import Problem, verify
from yuantou.protocol.signing import sign

FARM, SHOP = "farm.example", "shop.example"
ROTATED_AT = 1_000_500  # the farm's key changes here: entries before verify under the old one
OLD, NEW, SHOP_KEY = (Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32) for i in (1, 2, 3))


def keys() -> KeyHistory:
    history = KeyHistory()
    history.add(KeyRecord(f"{FARM}|k1|ed25519", OLD.public_key(), 0, ROTATED_AT - 1))
    history.add(KeyRecord(f"{FARM}|k2|ed25519", NEW.public_key(), ROTATED_AT, 2_000_000))
    history.add(KeyRecord(f"{SHOP}|s1|ed25519", SHOP_KEY.public_key(), 0, 2_000_000))
    return history


def signer(party: str, when: int) -> tuple[Ed25519PrivateKey, str, str]:
    if party == SHOP:
        return SHOP_KEY, "s1", f"{SHOP}|s1|ed25519"
    return (OLD, "k1", f"{FARM}|k1|ed25519") if when < ROTATED_AT else (NEW, "k2", f"{FARM}|k2|ed25519")


def history(messages: list[tuple[bool, int, bool, int]]) -> list[Entry]:
    """The farm's chain: each message (farm sends?, transaction, receipted?, seconds later)."""
    chain: list[Entry] = []
    when = 1_000_000
    for i, (farm_sends, tx, receipted, later) in enumerate(messages):
        when += later
        sender, receiver = (FARM, SHOP) if farm_sends else (SHOP, FARM)
        stamp = datetime.fromtimestamp(when, UTC).isoformat().replace("+00:00", "Z")
        body = json.dumps({"context": {"transaction_id": f"t{tx}", "message_id": f"m{i}", "timestamp": stamp},
                           "message": {"quantity": i}}).encode()
        key, unique, _ = signer(sender, when)
        receipt = None
        if receipted:
            rkey, _, rid = signer(receiver, when)
            receipt = sign_receipt(body, rkey, rid, when)
        chain.append(append(chain, sender=sender, receiver=receiver, action="confirm" if i % 2 else "on_confirm",
                            transaction_id=f"t{tx}", message_id=f"m{i}",
                            authorization=sign(body, key, sender, unique, created=when), body=body,
                            recorded_at=when, receipt=receipt))
    return chain


def checkpoints(chain: list[Entry]) -> list:
    """The shop's signed word on every transaction, as the farm would hold it."""
    return [checkpoint_for(chain, FARM, SHOP, tx, f"{SHOP}|s1|ed25519", SHOP_KEY, chain[-1].recorded_at)
            for tx in sorted({e.transaction_id for e in chain})]


def resealed(chain: list[Entry]) -> list[Entry]:
    """What an operator rewriting history would do: renumber, relink and rehash everything."""
    out: list[Entry] = []
    for e in chain:
        out.append(seal(replace(e, height=len(out), prev_hash=out[-1].hash if out else "0" * 64)))
    return out


def flip(data: bytes, at: int) -> bytes:
    at %= len(data)
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


messages = st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.booleans(), st.integers(1, 400)),
                    min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(messages)
def test_an_untouched_history_verifies_across_a_key_rotation(msgs: list) -> None:
    chain = history(msgs)
    assert verify(chain, keys(), checkpoints(chain)) is None
    assert all(e.one_sided == (not m[2]) for e, m in zip(chain, msgs))


@settings(max_examples=150, deadline=None)
@given(messages, st.integers(0, 10 ** 6), st.integers(0, 10 ** 6),
       st.sampled_from(["body", "authorization", "receipt", "field", "delete", "swap", "insert"]), st.booleans())
def test_every_edit_of_the_chain_is_named_at_the_first_entry_it_breaks(msgs: list, i: int, at: int, kind: str,
                                                                       own_keys: bool) -> None:
    """``own_keys``: the check is the farm's own, holding its secrets, so its signatures are checked by signing
    again; the verdict must be the same."""
    chain = history(msgs)
    i %= len(chain)
    tampered = list(chain)
    if kind == "body":
        tampered[i] = replace(chain[i], body=flip(chain[i].body, at))
    elif kind == "authorization":
        tampered[i] = replace(chain[i], authorization=chain[i].authorization.replace('signature="', 'signature="A', 1))
    elif kind == "receipt":
        if chain[i].receipt is None:
            return
        tampered[i] = replace(chain[i], receipt=replace(chain[i].receipt, signed_at=chain[i].receipt.signed_at + 1))
    elif kind == "field":
        tampered[i] = replace(chain[i], message_id=chain[i].message_id + "x")
    elif kind == "delete":
        if i == len(chain) - 1:
            return  # dropping the last entry leaves a valid chain: the checkpoints' test catches it
        del tampered[i]
    elif kind == "swap":
        j = (i + 1 + at % (len(chain) - 1)) % len(chain)
        tampered[i], tampered[j] = chain[j], chain[i]
    elif kind == "insert":
        tampered.insert(i, chain[at % len(chain)])
    # the first place where the stored chain differs from the genuine one
    expected = next(k for k in range(len(tampered)) if k >= len(chain) or tampered[k] != chain[k])
    checking = keys()
    if own_keys:
        checking.hold(OLD)
        checking.hold(NEW)
    problem = verify(tampered, checking)
    assert isinstance(problem, Problem) and problem.height == expected, (kind, problem)


def randomised_signature(key: Ed25519PrivateKey, text: bytes) -> str:
    """A valid Ed25519 signature with a random nonce: not the one deterministic signing makes."""
    import hashlib
    import os

    from nacl.bindings import (
        crypto_core_ed25519_scalar_add,
        crypto_core_ed25519_scalar_mul,
        crypto_core_ed25519_scalar_reduce,
        crypto_scalarmult_ed25519_base_noclamp,
    )

    seed = key.private_bytes_raw()
    a = bytearray(hashlib.sha512(seed).digest()[:32])
    a[0] &= 248
    a[31] = (a[31] & 127) | 64
    public = key.public_key().public_bytes_raw()
    r = crypto_core_ed25519_scalar_reduce(os.urandom(64))
    big_r = crypto_scalarmult_ed25519_base_noclamp(r)
    h = crypto_core_ed25519_scalar_reduce(hashlib.sha512(big_r + public + text).digest())
    a_reduced = crypto_core_ed25519_scalar_reduce(bytes(a) + bytes(32))
    s = crypto_core_ed25519_scalar_add(r, crypto_core_ed25519_scalar_mul(h, a_reduced))
    return base64.b64encode(big_r + s).decode()


def test_checking_by_signing_again_gives_the_verifiers_verdict() -> None:
    """A held secret only short-cuts a signature equal to the deterministic one: any other valid signature
    still verifies, and a wrong one still fails."""
    text = b"(created): 1\n(expires): 2\ndigest: BLAKE-512=abc"
    public = NEW.public_key().public_bytes_raw()
    held = KeyHistory()
    held.hold(NEW)
    deterministic = base64.b64encode(NEW.sign(text)).decode()
    other = randomised_signature(NEW, text)
    assert other != deterministic
    for signature, valid in ((deterministic, True), (other, True), (randomised_signature(OLD, text), False),
                             (deterministic[:-4] + "AAA=", False), ("not base64!", False)):
        assert signed_by(public, signature, text) is valid, signature
        assert held.signs(public, signature, text) is valid, signature
    assert held.signs(OLD.public_key().public_bytes_raw(), deterministic, text) is False  # a key it does not hold
    assert held.signs(public, deterministic, text + b"x") is False


@settings(max_examples=100, deadline=None)
@given(messages, st.integers(0, 10 ** 6), st.integers(0, 10 ** 6),
       st.sampled_from(["truncate", "delete", "alter"]))
def test_a_rewritten_chain_is_caught_by_the_counterpartys_checkpoints(msgs: list, i: int, at: int, kind: str) -> None:
    chain = history(msgs)
    held = checkpoints(chain)
    i %= len(chain)
    if kind == "truncate":
        rewritten = chain[:i]
    elif kind == "delete":
        rewritten = resealed(chain[:i] + chain[i + 1:])
    else:  # different bytes, re-signed with the farm's own key: valid, but not what the shop saw
        e = chain[i]
        if e.sender != FARM:
            return
        body = e.body.replace(b'"quantity": ', b'"quantity": 1')
        key, unique, _ = signer(FARM, e.recorded_at)
        rewritten = resealed(chain[:i] + [replace(e, body=body, receipt=None, authorization=sign(
            body, key, FARM, unique, created=e.recorded_at))] + chain[i + 1:])
    assert verify(rewritten, keys()) is None  # internally consistent: only the checkpoints can tell
    problem = verify(rewritten, keys(), held)
    assert isinstance(problem, Problem) and "transaction" in problem.reason, (kind, problem)


def test_a_replaced_key_and_a_wrong_period_are_named() -> None:
    chain = history([(True, 0, True, 10), (False, 0, True, 10), (True, 1, False, 600), (False, 1, True, 5)])
    assert verify(chain, keys()) is None
    forged = keys()
    forged.records[f"{FARM}|k2|ed25519"] = [KeyRecord(f"{FARM}|k2|ed25519", Ed25519PrivateKey.generate().public_key(),
                                                      ROTATED_AT, 2_000_000)]
    problem = verify(chain, forged)
    assert problem == Problem(2, f"the sender's signature ({FARM}|k2|ed25519) does not verify over its body")
    early = keys()
    early.records[f"{FARM}|k1|ed25519"] = [replace(early.records[f"{FARM}|k1|ed25519"][0], valid_until=1_000_005)]
    assert verify(chain, early) == Problem(0, f"no key {FARM}|k1|ed25519 was valid at 1000010")
    receipt_key = keys()
    receipt_key.records[f"{SHOP}|s1|ed25519"] = [replace(receipt_key.records[f"{SHOP}|s1|ed25519"][0],
                                                         public_key=Ed25519PrivateKey.generate().public_key())]
    problem = verify(chain, receipt_key)
    assert problem is not None and problem.height == 0 and "receipt" in problem.reason
    assert str(problem).startswith("entry 0: ")


def test_a_receipt_by_anyone_but_the_receiver_is_named() -> None:
    """A receipt is the receiver's word; one by a third party (even a valid signature) proves nothing, and the
    keys a check fetches are the senders' and receivers'."""
    chain = history([(True, 0, True, 10), (False, 0, True, 10)])
    third = sign_receipt(chain[0].body, SHOP_KEY, f"{FARM}|k1|ed25519", chain[0].recorded_at)
    moved = resealed([replace(chain[0], receipt=third), chain[1]])
    assert verify(moved, keys()) == Problem(0, f"its receipt is signed by {FARM}|k1|ed25519, not by its receiver {SHOP}")


def test_an_entry_whose_ids_are_not_its_bodys_is_named() -> None:
    chain = history([(True, 0, True, 10), (False, 0, True, 10)])
    moved = resealed([chain[0], replace(chain[1], message_id="m7")])
    assert verify(moved, keys()) == Problem(1, "its message_id 'm7' is not the body's 'm1'")


def test_a_forged_checkpoint_is_refused() -> None:
    chain = history([(True, 0, True, 10), (False, 0, True, 10)])
    [cp] = checkpoints(chain)
    assert verify(chain, keys(), [cp]) is None
    problem = verify(chain, keys(), [replace(cp, messages=cp.messages[:1])])
    assert problem is not None and "does not verify" in problem.reason


def test_receipts_and_checkpoints_travel_as_headers_and_parse_back() -> None:
    from yuantou.ledger.chain import parse_checkpoint, parse_receipt, render_checkpoint, render_receipt

    chain = history([(True, 0, True, 10), (False, 0, True, 10), (True, 1, True, 10)])
    for cp in checkpoints(chain):
        assert parse_checkpoint(render_checkpoint(cp)) == cp
    assert parse_receipt(render_receipt(chain[0].receipt)) == chain[0].receipt
    assert parse_checkpoint('keyId="x"') is None and parse_receipt("") is None


@pytest.mark.parametrize("header", ["", "Bearer x", 'Signature keyId="a|b|ed25519"'])
def test_an_unparsable_signature_header_is_named(header: str) -> None:
    chain = history([(True, 0, True, 10)])
    broken = [seal(replace(chain[0], authorization=header))]
    problem = verify(broken, keys())
    assert problem is not None and problem.height == 0 and "Authorization header does not parse" in problem.reason


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=3), max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=4), json_values, st.booleans())
def test_a_bodys_context_read_alone_is_the_one_decoding_it_whole_gives(context: dict, message, compact: bool) -> None:
    """``body_context`` decodes only the context of a compact Beckn body; it must read what ``json.loads`` reads,
    whatever the message holds (another "context" key included)."""
    separators = (",", ":") if compact else (", ", ": ")
    body = json.dumps({"context": context, "message": message}, separators=separators, ensure_ascii=False).encode()
    assert body_context(body) == json.loads(body)["context"]


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)  # control characters too
_FIELD = _TEXT | st.integers(-2**70, 2**70) | st.booleans() | st.none() | st.floats(allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(_TEXT, min_size=8, max_size=8), st.integers(-2**70, 2**70), st.integers(0, 2**70) | _FIELD,
       st.none() | st.tuples(_TEXT, _TEXT, _FIELD), _FIELD, st.lists(_TEXT, min_size=6, max_size=6))
def test_entry_hashes_and_message_digests_are_the_json_encodings_of_their_fields(texts, height, recorded_at, receipt,
                                                                                 odd, ids) -> None:
    """An entry's hash covers the compact JSON array of its fields and a message digest the ASCII-escaped one; both
    are written out by hand for speed, and must be those bytes for any field values, text or not (a doctored
    bundle can hold anything), or every chain and checkpoint already kept would stop verifying."""
    prev, sender, receiver, action, tx, mid, auth, digest = texts
    digest = "d" + digest  # an empty one means "not computed yet": the body's is taken
    entry = Entry(height, prev, sender, receiver, action, tx, mid, auth, b"{}", recorded_at,
                  None if receipt is None else Receipt(*receipt))
    fields = [height, prev, sender, receiver, action, tx, mid, auth, digest, recorded_at,
              None if receipt is None else list(receipt)]
    assert canonical(entry, digest) == json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    doctored = replace(entry, action=odd)
    assert canonical(doctored, digest) == json.dumps([*fields[:4], odd, *fields[5:]], separators=(",", ":"),
                                                     ensure_ascii=False).encode()
    for fields in (ids, [*ids[:2], odd, *ids[3:]]):
        expected = hashlib.blake2b(json.dumps(fields, separators=(",", ":")).encode(), digest_size=32).hexdigest()
        assert digest_of_message(*fields) == expected
