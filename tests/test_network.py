"""End to end on real processes: a directory, three producers, two buyers, on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from beckn_peer import ack_status, context, post_signed, wait_for
from sqlalchemy import select

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.store.db import Database
from yuantou.store.tables import inbox, outbox


def stored_messages(proc) -> list[tuple[str, dict]]:  # noqa: ANN001
    db = Database(proc.db_url)
    try:
        rows = db.transaction(lambda c: [(r.action, r.body) for r in c.execute(select(inbox.c.action, inbox.c.body))]
                              + [(r.action, r.body) for r in c.execute(select(outbox.c.action, outbox.c.body))])
    finally:
        db.close()
    return [(a, json.loads(b)) for a, b in rows]


@pytest.fixture(scope="module")
def flows(network):
    """Two complete flows through the gateway, plus status, a producer update and a cancel."""
    buyer = NodeClient(network.buyers["buyer1"].url, network.buyers["buyer1"].token)
    results = {}
    sent = buyer.post("/api/search", {"query": "apple"})
    found = buyer.callbacks(sent["message_id"], wait=10, count=3)
    results["search"] = found
    offers = {cb["from"]: cb["payload"]["message"]["catalog"]["providers"][0] for cb in found}
    orchard = offers["orchard.yuantou.local"]
    item = orchard["items"][0]
    confirm = order_flow(buyer, sent["transaction_id"], "orchard.yuantou.local", orchard["id"],
                         [{"id": item["id"], "quantity": 40, "unit": "kg"}], item["fulfillment_ids"][0])
    results["confirm"] = confirm
    order_id = confirm["message"]["order"]["id"]
    st = buyer.post(f"/api/orders/{order_id}/status")
    results["status"] = buyer.one_callback(st["message_id"])
    NodeClient(network.producers["orchard"].url, network.producers["orchard"].token).post(f"/api/orders/{order_id}/fulfillment", {"state": "Packed"})
    results["packed"] = wait_for(lambda: [o for o in buyer.get("/api/orders")
                                          if o["order"]["fulfillments"][0]["state"]["descriptor"]["code"] == "Packed"])
    cancel = buyer.post(f"/api/orders/{order_id}/cancel", {"reason": "test"})
    results["cancel"] = buyer.one_callback(cancel["message_id"])
    results["order_id"] = order_id
    return results


def test_search_reaches_matching_producers_through_the_gateway(flows, network):
    # every producer in the city answers (an ACK obliges a callback); only two sell apples
    assert {cb["from"] for cb in flows["search"]} == {"orchard.yuantou.local", "mill.yuantou.local", "dairy.yuantou.local"}
    selling = set()
    for cb in flows["search"]:
        assert cb["payload"]["context"]["bpp_id"] == cb["from"]
        items = cb["payload"]["message"]["catalog"]["providers"][0]["items"]
        assert all("apple" in i["descriptor"]["name"].lower() for i in items)
        if items:
            selling.add(cb["from"])
    assert selling == {"orchard.yuantou.local", "mill.yuantou.local"}


def test_order_confirmed_then_updated_then_cancelled(flows, network):
    order = flows["confirm"]["message"]["order"]
    assert order["status"] == "ACTIVE"
    assert order["quote"]["price"]["value"] == "340"  # 40 kg × 8.5
    assert flows["status"]["message"]["order"]["id"] == order["id"]
    assert flows["packed"], "unsolicited on_status from the producer did not reach the buyer"
    assert flows["cancel"]["message"]["order"]["status"] == "CANCELLED"
    held = {o["order_id"]: o["status"] for o in NodeClient(network.buyers["buyer1"].url, network.buyers["buyer1"].token).get("/api/orders")}
    assert held[order["id"]] == "CANCELLED"
    catalog = NodeClient(network.producers["orchard"].url, network.producers["orchard"].token).get("/api/catalog")
    tag = catalog["providers"][0]["items"][0]["tags"][0]["list"]
    assert all(float(t["value"]) == 600 for t in tag), "cancelling must give the capacity back"


def test_every_message_of_the_flow_validates_against_the_official_schema(flows, network, official_schema):
    checked = 0
    for proc in list(network.producers.values()) + list(network.buyers.values()):
        for action, payload in stored_messages(proc):
            assert official_schema(action, payload, formats=True) == [], (proc.name, action)
            checked += 1
    assert checked > 20


def test_gateway_keeps_no_transaction(flows, network):
    db = Database(network.directory_db)
    try:
        tables = {t: db.transaction(lambda c, t=t: c.execute(select(t)).all()) for t in (inbox, outbox)}
    finally:
        db.close()
    assert all(rows == [] for rows in tables.values())


def ledger_verify(proc) -> subprocess.CompletedProcess:  # noqa: ANN001
    return subprocess.run([sys.executable, "-m", "yuantou.cli", "ledger", "verify", "--config", str(proc.config_path)],
                          capture_output=True, text=True, timeout=120)


def test_both_ledgers_hold_the_flow_counter_signed_and_verify(flows, network):
    from yuantou.ledger.chain import message_digest
    from yuantou.ledger.store import read_chain

    buyer, orchard = network.buyers["buyer1"], network.producers["orchard"]
    chains = {}
    for proc in (buyer, orchard):
        db = Database(proc.db_url)
        try:
            chains[proc.name] = db.transaction(read_chain)
        finally:
            db.close()
    tx = flows["confirm"]["context"]["transaction_id"]
    ours = {(e.action, e.message_id): e for e in chains["buyer1"] if e.transaction_id == tx}
    theirs = {(e.action, e.message_id): e for e in chains["orchard"] if e.transaction_id == tx}
    between = {k: e for k, e in ours.items() if "orchard.yuantou.local" in (e.sender, e.receiver)}
    actions = {a for a, _ in between}
    assert {"select", "on_select", "init", "on_init", "confirm", "on_confirm", "status", "on_status", "cancel",
            "on_cancel"} <= actions
    for key, entry in between.items():  # the same message, byte for byte, at both ends
        assert key in theirs, key
        assert message_digest(entry) == message_digest(theirs[key])
        if key[0] in ("search", "on_search"):
            continue  # relayed by the gateway, which gives no receipt: one-sided at the sender
        assert entry.receipt is not None and theirs[key].receipt is not None, key  # point to point: counter-signed
        assert entry.receipt.key_id.startswith(entry.receiver + "|"), key
    # each side holds the other's checkpoint on the transaction, and it covers what that side received
    from yuantou.ledger.store import read_checkpoints

    db = Database(buyer.db_url)
    try:
        held = [cp for cp in db.transaction(read_checkpoints) if cp.transaction_id == tx
                and cp.signer.startswith("orchard.yuantou.local|")]
    finally:
        db.close()
    assert len(held) == 1 and len(held[0].messages) >= 8
    for proc in (buyer, orchard):
        done = ledger_verify(proc)
        assert done.returncode == 0, done.stderr
        assert f"ledger of {proc.subscriber_id}: {len(chains[proc.name])} entries verify" in done.stdout


def test_a_changed_ledger_row_is_named_by_verify(flows, network):
    from sqlalchemy import update

    from yuantou.store.tables import ledger_entries

    orchard = network.producers["orchard"]
    db = Database(orchard.db_url)
    try:
        original = db.transaction(lambda c: c.execute(select(ledger_entries.c.body).where(
            ledger_entries.c.height == 2)).scalar_one())
        db.transaction(lambda c: c.execute(update(ledger_entries).where(ledger_entries.c.height == 2)
                                           .values(body=original.replace(b"apple", b"appla", 1) + b" ")))
        done = ledger_verify(orchard)
        assert done.returncode == 1 and "BROKEN at entry 2: its contents do not match its hash" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        db.transaction(lambda c: c.execute(update(ledger_entries).where(ledger_entries.c.height == 2)
                                           .values(body=original)))
        db.close()
    assert ledger_verify(orchard).returncode == 0


def test_an_evidence_bundle_is_checked_offline_and_a_changed_one_is_named(flows, network, tmp_path):
    import base64

    orchard = network.producers["orchard"]
    tx = flows["confirm"]["context"]["transaction_id"]
    cli = [sys.executable, "-m", "yuantou.cli", "ledger"]
    out = tmp_path / "bundle.json"
    done = subprocess.run(cli + ["export", "--config", str(orchard.config_path), "--transaction", tx, "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    assert doc["checkpoints"] and {k["key_id"].split("|")[0] for k in doc["keys"]} >= {
        "orchard.yuantou.local", "buyer1.yuantou.local"}
    check = lambda path: subprocess.run(cli + ["check", str(path)], capture_output=True, text=True,  # noqa: E731
                                        timeout=60, env={"PATH": "/usr/bin:/bin", "NO_PROXY": "*"})
    ok = check(out)
    assert ok.returncode == 0 and f"entries of transaction {tx} from orchard.yuantou.local verify" in ok.stdout, ok.stderr
    confirm = next(e for e in doc["entries"] if e["action"] == "confirm")
    body = base64.b64decode(confirm["body"]).replace(b'"CHN"', b'"CHM"', 1)
    assert body != base64.b64decode(confirm["body"])
    confirm["body"] = base64.b64encode(body).decode()
    (tmp_path / "changed.json").write_text(json.dumps(doc))
    changed = check(tmp_path / "changed.json")
    assert changed.returncode == 1 and f"BROKEN at entry {confirm['height']}" in changed.stderr
    (tmp_path / "junk.json").write_text('{"format": "yuantou-ledger-bundle/1", "entries": [{}]}')
    junk = check(tmp_path / "junk.json")
    assert junk.returncode == 2 and "entries[0]: missing 'height'" in junk.stderr and "Traceback" not in junk.stderr


def test_same_signed_request_twice_is_processed_once(network, peer):
    orchard = network.producers["orchard"]
    payload = {"context": context("search", peer, orchard), "message": {"intent": {"item": {"descriptor": {"name": "pear"}}}}}
    body = json.dumps(payload).encode()
    first = post_signed(orchard.url + "/beckn/search", body, peer)
    second = post_signed(orchard.url + "/beckn/search", body, peer)
    assert ack_status(first) == ack_status(second) == "ACK"
    mid = payload["context"]["message_id"]
    assert wait_for(lambda: peer.callbacks("on_search", mid))
    time.sleep(0.5)
    assert len(peer.callbacks("on_search", mid)) == 1


def _signed_search(peer, network) -> tuple[str, bytes]:  # noqa: ANN001
    orchard = network.producers["orchard"]
    payload = {"context": context("search", peer, orchard), "message": {"intent": {}}}
    return orchard.url + "/beckn/search", json.dumps(payload).encode()


def test_missing_bad_expired_and_unknown_signatures_get_401(network, peer):
    url, body = _signed_search(peer, network)
    r = httpx.post(url, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers and ack_status(r) == "NACK"
    _, spaced = _signed_search(peer, network)
    r = post_signed(url, spaced + b" ", peer, extra_headers={})  # signature over other bytes
    assert r.status_code == 200  # trailing space is part of what was signed: fine
    good = post_signed(url, body, peer).request.headers["Authorization"]
    r = httpx.post(url, content=body[:-1] + b" }",
                   headers={"Authorization": good, "Content-Type": "application/json"})
    assert r.status_code == 401 and "does not verify" in r.text
    now = int(time.time())
    r = post_signed(url, body, peer, created=now - 600, expires=now - 300)
    assert r.status_code == 401 and "expired" in r.text
    r = post_signed(url, body, peer, created=now + 300, expires=now + 600)
    assert r.status_code == 401 and "future" in r.text
    r = post_signed(url, body, peer, created=now - 2, expires=now - 2)  # within the 5 s skew
    assert r.status_code == 200
    r = post_signed(url, body, peer, sign_as="stranger.example")
    assert r.status_code == 401 and "no valid key" in r.text


def test_bad_gateway_signature_gets_proxy_authenticate(network, peer):
    url, body = _signed_search(peer, network)
    forged = post_signed(url, body, peer).request.headers["Authorization"].replace(peer.subscriber_id, "directory.local")
    r = post_signed(url, body, peer, extra_headers={"X-Gateway-Authorization": forged})
    assert r.status_code == 401 and "Proxy-Authenticate" in r.headers and "WWW-Authenticate" not in r.headers


def test_schema_errors_nack_with_code_and_paths(network, peer):
    orchard = network.producers["orchard"]
    ctx = context("select", peer, orchard)
    ctx["message_id"] = 42  # a number where the schema asks for a string (a non-UUID string it takes: format annotates)
    payload = {"context": ctx, "message": {"order": {"items": [{"id": 5}]}}}
    r = post_signed(orchard.url + "/beckn/select", payload, peer)
    assert r.status_code == 400 and ack_status(r) == "NACK"
    err = r.json()["error"]
    assert err["code"].startswith("3")
    assert set(err["paths"].split(",")) == {"$.context.message_id", "$.message.order.items[0].id"}


def test_action_outside_the_roles_gets_a_clear_nack(network, peer):
    buyer = network.buyers["buyer1"]
    payload = {"context": context("confirm", peer, buyer), "message": {"order": {}}}
    r = post_signed(buyer.url + "/beckn/confirm", payload, peer)
    assert ack_status(r) == "NACK" and r.json()["error"]["code"] == "40001"
    assert "buyer node" in r.json()["error"]["message"]


def test_business_refusals_come_back_in_the_callback(network, peer):
    orchard = network.producers["orchard"]
    cases = {
        "unknown": ({"id": "durian", "quantity": {"selected": {"count": 1}}}, "30004"),
        "too-much": ({"id": "pear-snow", "quantity": {"selected": {"count": 10**6}}}, "40002"),
    }
    for name, (item, code) in cases.items():
        payload = {"context": context("select", peer, orchard), "message": {"order": {"items": [item]}}}
        assert ack_status(post_signed(orchard.url + "/beckn/select", payload, peer)) == "ACK"
        cb = wait_for(lambda: peer.callbacks("on_select", payload["context"]["message_id"]))
        assert cb[0]["payload"]["error"]["code"] == code, name


def test_callbacks_are_matched_and_bounded_by_ttl(network, peer):
    buyer = network.buyers["buyer1"]
    client = NodeClient(buyer.url, buyer.token)
    # a callback no request asked for
    ctx = context("on_select", peer, buyer)
    ctx.update(bap_id=buyer.subscriber_id, bap_uri=buyer.url + "/beckn", bpp_id=peer.subscriber_id, bpp_uri=peer.url)
    r = post_signed(buyer.url + "/beckn/on_select", {"context": ctx, "message": {}}, peer)
    assert ack_status(r) == "NACK" and "no select request" in r.json()["error"]["message"]
    # an unsolicited on_status about no order of this node, in no transaction it has with the sender: refused
    ctx["action"] = "on_status"
    status = {"context": ctx, "message": {"order": {"id": "x", "status": "ACTIVE"}}}
    r = post_signed(buyer.url + "/beckn/on_status", status, peer)
    assert ack_status(r) == "NACK" and "no transaction" in r.json()["error"]["message"]
    # a real request with a 1 s ttl, answered late
    sent = client.post("/api/search", {"query": "anything", "bpp_id": peer.subscriber_id})
    request = wait_for(lambda: peer.callbacks("search", sent["message_id"]))[0]["payload"]
    # in a transaction the buyer has with the peer, an unsolicited on_status is welcome
    status["context"] = dict(ctx, transaction_id=request["context"]["transaction_id"], message_id=str(uuid.uuid4()))
    assert ack_status(post_signed(buyer.url + "/beckn/on_status", status, peer)) == "ACK"
    reply_ctx = dict(request["context"], action="on_search", bpp_id=peer.subscriber_id, bpp_uri=peer.url)
    on_time = post_signed(buyer.url + "/beckn/on_search", {"context": reply_ctx, "message": {"catalog": {}}}, peer)
    assert ack_status(on_time) == "ACK"
    ttl_s = 30  # the node's default request ttl
    db = Database(buyer.db_url)
    try:
        db.transaction(lambda c: c.execute(outbox.update().where(outbox.c.message_id == sent["message_id"])
                                           .values(expects_callback_until=time.time() - 1)))
    finally:
        db.close()
    late = post_signed(buyer.url + "/beckn/on_search", {"context": reply_ctx, "message": {"catalog": {}}}, peer)
    assert ack_status(late) == "NACK" and "ttl" in late.json()["error"]["message"], ttl_s


def test_two_parties_bundles_agree_and_a_dropped_message_is_named(flows, network, tmp_path):
    """Both ends export the transaction; held against each other they agree. The orchard's operator then drops
    the buyer's confirm and the checkpoints that name it: the bundle still checks, but compare names the drop."""
    tx = flows["confirm"]["context"]["transaction_id"]
    cli = [sys.executable, "-m", "yuantou.cli", "ledger"]
    paths = {}
    for proc in (network.buyers["buyer1"], network.producers["orchard"]):
        paths[proc.name] = tmp_path / f"{proc.name}.json"
        done = subprocess.run(cli + ["export", "--config", str(proc.config_path), "--transaction", tx,
                                     "--out", str(paths[proc.name])], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    agree = subprocess.run(cli + ["compare", str(paths["buyer1"]), str(paths["orchard"])], capture_output=True,
                           text=True, timeout=60)
    assert agree.returncode == 0, agree.stdout + agree.stderr
    assert f"buyer1.yuantou.local and orchard.yuantou.local agree on transaction {tx}" in agree.stdout

    doc = json.loads(paths["orchard"].read_text())
    confirm = next(e for e in doc["entries"] if e["action"] == "confirm")
    doc["entries"] = [e for e in doc["entries"] if e is not confirm]
    doc["checkpoints"] = []
    (tmp_path / "dropped.json").write_text(json.dumps(doc))
    assert subprocess.run(cli + ["check", str(tmp_path / "dropped.json")], capture_output=True).returncode == 0
    differ = subprocess.run(cli + ["compare", str(paths["buyer1"]), str(tmp_path / "dropped.json")],
                            capture_output=True, text=True, timeout=60)
    assert differ.returncode == 1, differ.stdout
    assert (f"dropped: confirm {confirm['message_id']}: buyer1.yuantou.local holds orchard.yuantou.local's receipt"
            in differ.stdout)
    assert "unsigned-for: checkpoint" in differ.stdout and "orchard.yuantou.local signed for" in differ.stdout
    assert "disagree on transaction" in differ.stderr
