"""Evidence bundles: one transaction's entries, receipts, checkpoints and public keys, checkable offline.

An arbitrator, an auditor or a bank gets a single JSON file and needs nothing else: every
entry's hash and signatures, every receipt, and the counterparty's checkpoints are checked
against the keys in the bundle (each with the period it was valid for, as the directory listed
it when the bundle was made).
"""

from __future__ import annotations

import base64
from typing import Any

from yuantou.ledger.chain import Checkpoint, Entry, KeyHistory, KeyRecord, Receipt, raw_public_key
from yuantou.protocol.keys import load_signing_public

FORMAT = "yuantou-ledger-bundle/1"


MAX_SLACK = 3600  # a bundle cannot claim signatures may fall further outside their keys' periods than a node allows


class BundleError(ValueError):
    """A bundle that cannot be read; the text names the field."""


def export_bundle(node: str, transaction_id: str, entries: list[Entry], checkpoints: list[Checkpoint],
                  keys: KeyHistory) -> dict[str, Any]:
    return {
        "format": FORMAT, "node": node, "transaction_id": transaction_id,
        "entries": [{"height": e.height, "prev_hash": e.prev_hash, "hash": e.hash, "sender": e.sender,
                     "receiver": e.receiver, "action": e.action, "transaction_id": e.transaction_id,
                     "message_id": e.message_id, "authorization": e.authorization,
                     "body": base64.b64encode(e.body).decode(), "recorded_at": e.recorded_at,
                     "receipt": None if e.receipt is None else {"key_id": e.receipt.key_id,
                                                                "signature": e.receipt.signature,
                                                                "signed_at": e.receipt.signed_at}}
                    for e in entries],
        "checkpoints": [{"signer": c.signer, "parties": list(c.parties), "transaction_id": c.transaction_id,
                         "messages": list(c.messages), "signed_at": c.signed_at, "signature": c.signature}
                        for c in checkpoints if c.transaction_id == transaction_id],
        "keys": [{"key_id": r.key_id, "public_key": base64.b64encode(r.public_key).decode(), "valid_from": r.valid_from,
                  "valid_until": r.valid_until} for records in keys.records.values() for r in records],
        "signature_slack": {"early": keys.early, "late": keys.late},
    }


def read_bundle(doc: Any) -> tuple[list[Entry], list[Checkpoint], KeyHistory]:
    """The bundle's entries, checkpoints and keys; ``BundleError`` names the first field that is wrong."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(f"format: expected {FORMAT!r}")
    where = "?"
    try:
        entries = []
        for i, e in enumerate(doc["entries"]):
            where = f"entries[{i}]"
            receipt = e.get("receipt")
            entries.append(Entry(int(e["height"]), e["prev_hash"], e["sender"], e["receiver"], e["action"],
                                 e["transaction_id"], e["message_id"], e["authorization"],
                                 base64.b64decode(e["body"], validate=True), int(e["recorded_at"]),
                                 None if receipt is None else Receipt(receipt["key_id"], receipt["signature"],
                                                                      int(receipt["signed_at"])), e["hash"]))
        checkpoints = []
        for i, c in enumerate(doc["checkpoints"]):
            where = f"checkpoints[{i}]"
            checkpoints.append(Checkpoint(c["signer"], tuple(sorted(c["parties"])), c["transaction_id"],
                                          tuple(c["messages"]), int(c["signed_at"]), c["signature"]))
        where = "signature_slack"
        slack = doc.get("signature_slack") or {}
        keys = KeyHistory(early=min(int(slack.get("early", 0)), MAX_SLACK), late=min(int(slack.get("late", 0)), MAX_SLACK))
        for i, k in enumerate(doc["keys"]):
            where = f"keys[{i}]"
            keys.add(KeyRecord(k["key_id"], raw_public_key(load_signing_public(k["public_key"])), int(k["valid_from"]),
                               int(k["valid_until"])))
    except KeyError as exc:
        raise BundleError(f"{where}: missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{where}: {exc}") from None
    return entries, checkpoints, keys
