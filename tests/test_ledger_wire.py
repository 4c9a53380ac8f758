"""The ledger on the wire, against a real producer node on loopback and a hand-driven peer.

The node counter-signs what it receives; what a peer sends back with its ACK (a receipt and a
checkpoint) is checked on arrival: kept if it is the peer's and verifies, refused (and said why) if
not, and a peer that does not counter-sign at all leaves one-sided entries. Whatever the peer does,
the node's own ledger still verifies.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from json import loads

import pytest
from beckn_peer import ack_status, context, post_signed, wait_for
from conftest import Peer, storage
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from yuantou.devnet.localnet import LocalNetwork, catalog_document
from yuantou.ledger.chain import (
    CHECKPOINT_HEADER,
    RECEIPT_HEADER,
    Checkpoint,
    checkpoint_text,
    digest_of_message,
    message_digest,
    parse_checkpoint,
    parse_receipt,
    raw_public_key,
    render_checkpoint,
    render_receipt,
    sign_receipt,
)
from yuantou.ledger.store import read_chain, read_checkpoints
from yuantou.ledger.verify import receipt_problem
from yuantou.protocol.signing import body_digest
from yuantou.store.db import Database
from yuantou.store.tables import outbox


@pytest.fixture(scope="module")
def orchard(tmp_path_factory):
    net = LocalNetwork(tmp_path_factory.mktemp("ledger-wire"), database=storage())
    catalog = catalog_document("orchard", "Hillside Orchard", [("apple", "Apples", "fruit", "kg", 8.5, 10_000)])
    try:
        net.start_directory()
        node = net.add_node("orchard", ["producer"], catalog)
        peer = Peer("shop.ledger.test")
        net.register(peer.subscriber_id, peer.url, ["BAP"], peer.keys, peer.key_id)
        yield net, node, peer, catalog["items"][0]["windows"][0]["id"]
        peer.close()
    finally:
        net.stop()


def countersign(peer: Peer, key: Ed25519PrivateKey, holds_message: bool = True, signed_at: int | None = None):  # noqa: ANN201
    """ACK headers as a Yuantou peer sends them: its receipt and its checkpoint on the message (signed with
    ``key`` at ``signed_at``, now by default; a checkpoint without the message when ``holds_message`` is False)."""
    key_id = f"{peer.subscriber_id}|{peer.key_id}|ed25519"

    def headers(body: bytes) -> dict:
        when = int(time.time()) if signed_at is None else signed_at
        ctx = loads(body)["context"]
        digest = digest_of_message(ctx["bpp_id"], peer.subscriber_id, ctx["action"], ctx["transaction_id"],
                                   ctx["message_id"], body_digest(body if holds_message else body + b" "))
        cp = Checkpoint(key_id, tuple(sorted((ctx["bpp_id"], peer.subscriber_id))), ctx["transaction_id"],
                        (digest,), when)
        cp = Checkpoint(cp.signer, cp.parties, cp.transaction_id, cp.messages, cp.signed_at,
                        base64.b64encode(key.sign(checkpoint_text(cp))).decode())
        return {RECEIPT_HEADER: render_receipt(sign_receipt(body, key, key_id, when)),
                CHECKPOINT_HEADER: render_checkpoint(cp)}

    return headers


def confirm(peer: Peer, node, window: str) -> tuple[dict, object]:  # noqa: ANN001
    payload = {"context": context("confirm", peer, node), "message": {"order": {
        "provider": {"id": "orchard-provider"},
        "items": [{"id": "apple", "quantity": {"selected": {"count": 2}}, "fulfillment_ids": [window]}]}}}
    return payload, post_signed(node.url + "/beckn/confirm", payload, peer)


def ledger_of(node) -> tuple[list, list, list]:  # noqa: ANN001
    db = Database(node.db_url)
    try:
        return db.transaction(lambda c: (read_chain(c), read_checkpoints(c),
                                         [dict(r._mapping) for r in c.execute(select(outbox))]))
    finally:
        db.close()


@pytest.mark.parametrize("peer_does", ["counter-signs", "forges", "backdates", "does-not-counter-sign"])
def test_what_a_peer_acks_with_is_checked_on_arrival_and_the_ledger_still_verifies(orchard, peer_does: str):
    net, node, peer, window = orchard
    peer.ack_headers = {"counter-signs": countersign(peer, peer.keys.signing),
                        "forges": countersign(peer, Ed25519PrivateKey.generate(), holds_message=False),
                        "backdates": countersign(peer, peer.keys.signing, signed_at=1_700_000_000),
                        "does-not-counter-sign": lambda body: {}}[peer_does]
    payload, resp = confirm(peer, node, window)
    assert ack_status(resp) == "ACK", resp.text
    tx, mid = payload["context"]["transaction_id"], payload["context"]["message_id"]

    # the node's ACK counter-signs the confirm: a receipt under its key, and its checkpoint holding the message
    receipt = parse_receipt(resp.headers[RECEIPT_HEADER])
    cp = parse_checkpoint(resp.headers[CHECKPOINT_HEADER])
    assert receipt.key_id == f"{node.subscriber_id}|orchard-k1|ed25519"
    assert receipt_problem(receipt, resp.request.content, raw_public_key(node.keys.signing.public_key()),
                           node.subscriber_id) is None
    assert cp.transaction_id == tx and set(cp.parties) == {node.subscriber_id, peer.subscriber_id}
    assert digest_of_message(peer.subscriber_id, node.subscriber_id, "confirm", tx, mid,
                             body_digest(resp.request.content)) in cp.messages

    assert wait_for(lambda: peer.callbacks("on_confirm", mid))

    def sent_entry():  # noqa: ANN202
        chain, _, _ = ledger_of(node)
        return next((e for e in chain if e.action == "on_confirm" and e.message_id == mid), None)

    entry = wait_for(sent_entry)
    assert entry is not None and entry.receiver == peer.subscriber_id
    _, checkpoints, rows = ledger_of(node)
    theirs = [c for c in checkpoints if c.transaction_id == tx and c.signer.startswith(peer.subscriber_id + "|")]
    row = next(r for r in rows if r["message_id"] == mid and r["action"] == "on_confirm")
    assert row["state"] == "delivered"
    if peer_does == "counter-signs":
        assert entry.receipt is not None and entry.receipt.key_id.startswith(peer.subscriber_id + "|")
        assert len(theirs) == 1 and message_digest(entry) in theirs[0].messages
        assert row["last_error"] is None
    elif peer_does == "forges":  # refused on arrival: one-sided, no checkpoint kept, and the outbox says why
        assert entry.one_sided and not theirs
        assert "receipt" in row["last_error"] and "does not verify" in row["last_error"]
        assert "checkpoint" in row["last_error"]
    elif peer_does == "backdates":  # signed with its key, but dated before the directory lists that key
        assert entry.one_sided and not theirs
        assert "no key shop.ledger.test|peer-k1|ed25519 was valid at 1700000000" in row["last_error"]
    else:
        assert entry.one_sided and not theirs and row["last_error"] is None
    done = subprocess.run([sys.executable, "-m", "yuantou.cli", "ledger", "verify", "--config", str(node.config_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
