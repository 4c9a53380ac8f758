"""A household's receipt: its line as the organiser's node commits to it, signed with the node's own key.

Trust without a centre reaches the consumer too: the household keeps the receipt, and anyone can check
it offline against the organiser's public key (``yuantou receipt check``), without asking the node.
The signed text is the receipt's fields as canonical JSON (sorted keys, no spaces, UTF-8), so the check
needs nothing but the receipt, the key and Ed25519.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yuantou.protocol.keys import KeyError_, load_signing_public

FIELDS = ("organiser", "intent_id", "household", "pool_id", "item", "quantity", "unit", "unit_price", "amount",
          "currency", "pickup_point", "pickup_window", "allocated_at")


class ReceiptProblem(ValueError):
    """What is wrong with a receipt, in words a household can act on."""


def signed_text(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_receipt(fields: dict[str, Any], key: Ed25519PrivateKey, key_id: str) -> dict[str, Any]:
    missing = [f for f in FIELDS if f not in fields]
    if missing:
        raise ValueError(f"a receipt needs {', '.join(missing)}")
    receipt = {f: fields[f] for f in FIELDS}
    return {"receipt": receipt, "key_id": key_id,
            "signature": base64.b64encode(key.sign(signed_text(receipt))).decode()}


def check_receipt(document: Any, public_key: str) -> dict[str, Any]:
    """The receipt's fields if ``public_key`` (base64 Ed25519) signed exactly them; else ``ReceiptProblem``."""
    if not isinstance(document, dict) or not isinstance(document.get("receipt"), dict):
        raise ReceiptProblem("not a receipt: expected an object with receipt, key_id and signature")
    receipt = document["receipt"]
    missing = [f for f in FIELDS if f not in receipt]
    if missing:
        raise ReceiptProblem(f"receipt: missing {', '.join(missing)}")
    extra = sorted(set(receipt) - set(FIELDS))
    if extra:
        raise ReceiptProblem(f"receipt: {', '.join(extra)} is not a receipt field")
    try:
        signature = base64.b64decode(str(document.get("signature", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ReceiptProblem("signature: not base64") from None
    try:
        key = load_signing_public(public_key, "the organiser's public key")
    except KeyError_ as exc:
        raise ReceiptProblem(str(exc)) from None
    try:
        key.verify(signature, signed_text(receipt))
    except InvalidSignature:
        raise ReceiptProblem("the signature does not match: this receipt was changed, or another key signed "
                             "it") from None
    return receipt
