"""Rotating a running node's signing key through the directory (old entries verify under the old key, new ones
under the new key, on both ends, and nothing stops), and the pair checkpoints two running nodes agree across it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest
from beckn_peer import wait_for
from conftest import storage

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.ledger.store import read_chain
from yuantou.protocol.signing import parse_signature_header
from yuantou.store.db import Database

CLI = [sys.executable, "-m", "yuantou.cli"]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    network = LocalNetwork(tmp_path_factory.mktemp("rotation"), database=storage())
    try:
        network.start_directory()
        name, items = PRODUCERS["orchard"]
        often = {"checkpoint_every_seconds": 1, "checkpoint_settle_seconds": 0}  # pair checkpoints every second
        network.add_node("orchard", ["producer"], catalog_document("orchard", name, items), extra=often)
        network.add_node("buyer1", ["buyer"], extra=often)
        yield network
    finally:
        network.stop()


def one_order(net: LocalNetwork) -> str:
    """search → … → on_confirm between buyer1 and the orchard; returns the transaction id."""
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "apple"})
    (found,) = buyer.callbacks(sent["message_id"], wait=10, count=1)
    provider = found["payload"]["message"]["catalog"]["providers"][0]
    item = provider["items"][0]
    done = order_flow(buyer, sent["transaction_id"], "orchard.yuantou.local", provider["id"],
                      [{"id": item["id"], "quantity": 5, "unit": "kg"}], item["fulfillment_ids"][0])
    assert done["message"]["order"]["id"], done
    return sent["transaction_id"]


def chain_of(proc) -> list:  # noqa: ANN001
    db = Database(proc.db_url)
    try:
        return db.transaction(read_chain)
    finally:
        db.close()


def test_a_rotated_key_signs_from_then_on_and_both_ledgers_verify_across_it(net: LocalNetwork, tmp_path) -> None:
    orchard, buyer = net.producers["orchard"], net.buyers["buyer1"]
    before = one_order(net)

    same = subprocess.run(CLI + ["node", "rotate-key", "--config", str(orchard.config_path), "--key-id", "orchard-k1"],
                          capture_output=True, text=True, timeout=60)
    assert same.returncode == 2 and "must differ from the current one" in same.stderr and "Traceback" not in same.stderr

    rotated = subprocess.run(CLI + ["node", "rotate-key", "--config", str(orchard.config_path)],
                             capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "now signs with orchard-k2" in rotated.stdout
    assert 'key_id = "orchard-k2"' in orchard.config_path.read_text()
    assert wait_for(lambda: httpx.get(orchard.url + "/health").json()["key_id"]
                    == "orchard.yuantou.local|orchard-k2|ed25519", timeout=15)

    listed = {e["key_id"]: e for e in httpx.post(net.directory.url + "/lookup",
                                                  json={"subscriber_id": "orchard.yuantou.local"}).json()}
    assert set(listed) == {"orchard-k1", "orchard-k2"}
    assert listed["orchard-k1"]["valid_from"] < listed["orchard-k2"]["valid_from"] <= listed["orchard-k1"]["valid_until"]
    assert all(e["status"] == "SUBSCRIBED" for e in listed.values())

    after = one_order(net)
    ours, theirs = chain_of(orchard), chain_of(buyer)

    def keys_used(chain: list, tx: str) -> set[str]:
        """The orchard's key ids on a transaction: its signatures on what it sent, its receipts on what it got."""
        used = {parse_signature_header(e.authorization).unique_key_id for e in chain
                if e.transaction_id == tx and e.sender == "orchard.yuantou.local"}
        used |= {e.receipt.key_id.split("|")[1] for e in chain if e.transaction_id == tx and e.receipt is not None
                 and e.receipt.key_id.startswith("orchard.yuantou.local|")}
        return used

    for chain in (ours, theirs):
        assert keys_used(chain, before) == {"orchard-k1"}
        assert keys_used(chain, after) == {"orchard-k2"}
    for proc in (orchard, buyer):
        done = subprocess.run(CLI + ["ledger", "verify", "--config", str(proc.config_path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    # evidence from before the rotation still checks offline: the bundle carries both keys with their periods
    out = tmp_path / "before.json"
    assert subprocess.run(CLI + ["ledger", "export", "--config", str(buyer.config_path), "--transaction", before,
                                 "--out", str(out)], capture_output=True, timeout=120).returncode == 0
    periods = {k["key_id"] for k in json.loads(out.read_text())["keys"]}
    assert {"orchard.yuantou.local|orchard-k1|ed25519", "orchard.yuantou.local|orchard-k2|ed25519"} <= periods
    check = subprocess.run(CLI + ["ledger", "check", str(out)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


def test_pair_checkpoints_are_agreed_and_catch_a_chain_rewritten_without_a_message(net: LocalNetwork) -> None:
    from sqlalchemy import delete

    from yuantou.ledger.chain import parties_of
    from yuantou.ledger.store import append_entry, read_pair_checkpoints
    from yuantou.store.tables import ledger_checkpoints, ledger_entries, ledger_pair_checkpoints

    orchard, buyer = net.producers["orchard"], net.buyers["buyer1"]
    one_order(net)
    pair = ("buyer1.yuantou.local", "orchard.yuantou.local")

    def agreed(proc) -> bool:  # noqa: ANN001
        """Both parties' checkpoints held, covering every point-to-point message between them."""
        db = Database(proc.db_url)
        try:
            chain, held = db.transaction(lambda c: (read_chain(c), read_pair_checkpoints(c)))
        finally:
            db.close()
        between = sum(parties_of(e) == pair for e in chain)
        signers = {cp.signer.split("|")[0] for cp in held if cp.parties == pair and cp.count == between}
        return signers == set(pair)

    assert wait_for(lambda: agreed(orchard) and agreed(buyer), timeout=30)
    done = subprocess.run(CLI + ["ledger", "verify", "--config", str(orchard.config_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(re.search(r"(\d+) pair checkpoints", done.stdout).group(1)) >= 2  # each side's (one per key it had)

    # the orchard's operator rebuilds its chain without the buyer's first confirm and drops the transaction
    # checkpoints and its own pair checkpoints: the chain links and every signature holds, but the buyer's pair
    # checkpoint, which the orchard cannot re-sign, names what is gone
    net.kill(orchard)
    db = Database(orchard.db_url)
    try:
        chain = db.transaction(read_chain)
        gone = next(e for e in chain if e.action == "confirm")

        def rebuild(c) -> None:  # noqa: ANN001
            c.execute(delete(ledger_entries))
            c.execute(delete(ledger_checkpoints))
            c.execute(delete(ledger_pair_checkpoints).where(ledger_pair_checkpoints.c.signer.like("orchard.%")))
            for e in chain:
                if e is not gone:
                    append_entry(c, sender=e.sender, receiver=e.receiver, action=e.action,
                                 transaction_id=e.transaction_id, message_id=e.message_id,
                                 authorization=e.authorization, body=e.body, recorded_at=e.recorded_at,
                                 receipt=e.receipt)
        db.transaction(rebuild)
    finally:
        db.close()
    broken = subprocess.run(CLI + ["ledger", "verify", "--config", str(orchard.config_path)], capture_output=True,
                            text=True, timeout=120)
    assert broken.returncode == 1, broken.stdout
    assert "buyer1.yuantou.local|buyer1-k1|ed25519 signed for" in broken.stderr and "(removed or altered)" in broken.stderr
