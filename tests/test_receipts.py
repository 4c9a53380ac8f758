"""Households' receipts: signed by the organiser's key over exactly their fields, checked with nothing else."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from yuantou.buyer.receipts import FIELDS, ReceiptProblem, check_receipt, sign_receipt
from yuantou.protocol.keys import public_key_b64

KEY = Ed25519PrivateKey.generate()
PUBLIC = public_key_b64(KEY.public_key())
LINE = {"organiser": "gate3.yuantou.local", "intent_id": "intent-1", "household": "王家 flat 3", "pool_id": "pool-9",
        "item": "apple-fuji-a", "quantity": "3", "unit": "kg", "unit_price": "8.00", "amount": "24.00",
        "currency": "CNY", "pickup_point": "gate-3", "pickup_window": ["2031-05-02T01:00:00Z", "2031-05-02T10:00:00Z"],
        "allocated_at": "2031-05-01T12:00:00Z"}


@given(st.fixed_dictionaries({f: st.text(max_size=30) for f in FIELDS}))
def test_what_the_key_signed_checks_and_any_change_does_not(fields: dict[str, str]) -> None:
    document = sign_receipt(fields, KEY, "gate3|k1|ed25519")
    assert check_receipt(document, PUBLIC) == fields
    for name in FIELDS:
        forged = {**document, "receipt": {**document["receipt"], name: fields[name] + "x"}}
        with pytest.raises(ReceiptProblem, match="does not match"):
            check_receipt(forged, PUBLIC)


def test_another_key_or_a_malformed_receipt_is_named() -> None:
    document = sign_receipt(LINE, KEY, "gate3|k1|ed25519")
    other = public_key_b64(Ed25519PrivateKey.generate().public_key())
    with pytest.raises(ReceiptProblem, match="another key"):
        check_receipt(document, other)
    with pytest.raises(ReceiptProblem, match="missing amount"):
        check_receipt({**document, "receipt": {k: v for k, v in document["receipt"].items() if k != "amount"}}, PUBLIC)
    with pytest.raises(ReceiptProblem, match="discount is not a receipt field"):
        check_receipt({**document, "receipt": {**document["receipt"], "discount": "1"}}, PUBLIC)
    with pytest.raises(ReceiptProblem, match="signature: not base64"):
        check_receipt({**document, "signature": "%%%"}, PUBLIC)
    with pytest.raises(ReceiptProblem, match="public key"):
        check_receipt(document, base64.b64encode(b"short").decode())
    with pytest.raises(ReceiptProblem, match="not a receipt"):
        check_receipt(["receipt"], PUBLIC)
