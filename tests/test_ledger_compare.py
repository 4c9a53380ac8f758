"""Holding two parties' records of a transaction against each other (the pure rules behind `ledger compare`)."""

from __future__ import annotations

import json
from dataclasses import replace

from tests.test_ledger_chain import FARM, SHOP, checkpoints, history, keys, signer
from yuantou.ledger.chain import append, checkpoint_for, seal, sign_receipt
from yuantou.ledger.compare import Side, compare
from yuantou.ledger.verify import verify
from yuantou.protocol.signing import sign

FLOW = [(True, 0, True, 1), (False, 0, True, 1), (True, 0, False, 1), (False, 0, True, 1)]  # one transaction


def both() -> tuple[Side, Side]:
    """The farm's record and the shop's, of the same four messages (the same entries, as each holds them)."""
    farm = history(FLOW)
    shop = []
    for e in farm:  # the shop holds the same messages; its chain links them its own way
        shop.append(append(shop, **{k: getattr(e, k) for k in ("sender", "receiver", "action", "transaction_id",
                                                              "message_id", "authorization", "body", "recorded_at",
                                                              "receipt")}))
    farm_cps = checkpoints(farm)  # the shop's word, held by the farm
    key, _, key_id = signer(FARM, farm[-1].recorded_at)
    shop_cps = [checkpoint_for(shop, FARM, SHOP, "t0", key_id, key, farm[-1].recorded_at)]
    return Side(FARM, farm, farm_cps), Side(SHOP, shop, shop_cps)


def test_records_of_the_same_messages_agree() -> None:
    farm, shop = both()
    assert verify(farm.entries, keys(), farm.checkpoints) is None and verify(shop.entries, keys(), shop.checkpoints) is None
    assert compare(farm, shop) == [] and compare(shop, farm) == []


def test_a_receipted_message_missing_at_its_receiver_is_a_drop_and_an_unreceipted_one_is_undelivered() -> None:
    farm, shop = both()
    sent_receipted, sent_bare = farm.entries[0], farm.entries[2]  # farm → shop, with and without a receipt
    assert sent_receipted.receipt is not None and sent_bare.receipt is None
    shop = Side(SHOP, [e for e in shop.entries if e.message_id not in (sent_receipted.message_id,
                                                                       sent_bare.message_id)], [])
    found = {(d.kind, d.message_id) for d in compare(farm, shop)}
    assert ("dropped", sent_receipted.message_id) in found and ("undelivered", sent_bare.message_id) in found
    assert any(d.kind == "unsigned-for" for d in compare(farm, shop))  # the shop signed for what it no longer holds


def test_a_message_missing_at_its_sender_is_named() -> None:
    farm, shop = both()
    received = farm.entries[1]  # shop → farm
    shop = Side(SHOP, [e for e in shop.entries if e.message_id != received.message_id], [])
    (divergence,) = [d for d in compare(farm, shop) if d.kind != "unsigned-for"]
    assert divergence.message_id == received.message_id and "does not hold it as sent" in divergence.detail


def test_two_bodies_signed_under_one_message_id_are_different_bytes() -> None:
    """The farm signed two versions of one message (equivocation): each side's record verifies, compare shows it."""
    farm, shop = both()
    first = farm.entries[0]
    key, unique, _ = signer(FARM, first.recorded_at)
    other_body = json.dumps({"context": {"transaction_id": "t0", "message_id": first.message_id},
                             "message": {"quantity": 999}}).encode()
    rkey, _, rid = signer(SHOP, first.recorded_at)
    changed = seal(replace(shop.entries[0], body=other_body, receipt=sign_receipt(other_body, rkey, rid,
                                                                                  first.recorded_at),
                           authorization=sign(other_body, key, FARM, unique, created=first.recorded_at)))
    shop_entries = [changed] + shop.entries[1:]  # compare reads each message, not the links (checked apart)
    assert verify([changed], keys(), excerpt=True) is None
    (divergence,) = [d for d in compare(farm, Side(SHOP, shop_entries, [])) if d.message_id == first.message_id]
    assert divergence.kind == "different" and "different bytes under the same message id" in divergence.detail
