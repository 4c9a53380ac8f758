"""Nodes under outside probes: a signature proves who sent a message, not what the sender may touch. Every
probe comes from ``stranger.Stranger`` (cryptography and the standard library only) as raw bytes, against real
nodes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import storage
from sqlalchemy import select
from stranger import Stranger, post, post_streamed, wait_until

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.store.db import Database
from yuantou.store.tables import outbox

CLI = [sys.executable, "-m", "yuantou.cli"]
ORCHARD_ID = "orchard.yuantou.local"


def strict_json(text: str | bytes):  # noqa: ANN201
    """JSON as a browser reads it: ``Infinity`` and ``NaN`` are errors."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} in JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    network = LocalNetwork(tmp_path_factory.mktemp("node-probes"), database=storage())
    try:
        network.start_directory()
        started = [network.add_node(key, ["producer"], catalog_document(key, *PRODUCERS[key]), wait=False)
                   for key in ("orchard", "mill")]
        started.append(network.add_node("buyer1", ["buyer"], wait=False))
        network.wait_started(started)
        yield network
    finally:
        network.stop()


@pytest.fixture(scope="module")
def rogue(net):
    """A stranger registered as a buyer and a producer (self-signed subscriptions, answered challenges)."""
    stranger = Stranger("rogue.probe")
    for role in ("BAP", "BPP"):
        answer = stranger.subscribe(net.directory.url, role)
        assert answer.status == 200, answer.body
    yield stranger
    stranger.close()


@pytest.fixture(scope="module")
def placed(net):
    """An order buyer1 placed with the orchard through its API."""
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "pear", "bpp_id": ORCHARD_ID})
    (found,) = buyer.callbacks(sent["message_id"], wait=10, count=1)
    provider = found["payload"]["message"]["catalog"]["providers"][0]
    item = next(i for i in provider["items"] if i["id"] == "pear-snow")
    done = order_flow(buyer, sent["transaction_id"], ORCHARD_ID, provider["id"],
                      [{"id": item["id"], "quantity": 7, "unit": "kg"}], item["fulfillment_ids"][0])
    order = done["message"]["order"]
    return {"buyer": buyer, "transaction_id": sent["transaction_id"], "order_id": order["id"],
            "window": item["fulfillment_ids"][0]}


def buyer_orders(placed) -> dict[str, dict]:  # noqa: ANN001
    return {o["order_id"]: o for o in placed["buyer"].get("/api/orders")}


def beckn(proc) -> str:  # noqa: ANN001
    return proc.url + "/beckn"


# -- identity and authorization --------------------------------------------------------------------------

def test_a_producer_cannot_touch_another_producers_order(net, rogue, placed):
    buyer1 = net.buyers["buyer1"]
    order_id, transaction_id = placed["order_id"], placed["transaction_id"]
    hijack = {"id": order_id, "status": "CANCELLED", "quote": {"price": {"currency": "CNY", "value": "99999.00"}}}
    attempts = {
        "another producer's live order": rogue.context("on_status", rogue.subscriber_id, rogue.url,
                                                       bap_id=buyer1.subscriber_id, bap_uri=beckn(buyer1),
                                                       transaction_id=transaction_id),
        "a phantom order": rogue.context("on_status", rogue.subscriber_id, rogue.url, bap_id=buyer1.subscriber_id,
                                         bap_uri=beckn(buyer1)),
        "a callback addressed to another buyer": rogue.context("on_status", rogue.subscriber_id, rogue.url,
                                                               bap_id="buyer2.yuantou.local", bap_uri=beckn(buyer1),
                                                               transaction_id=transaction_id),
    }
    for what, context in attempts.items():
        order = hijack if what != "a phantom order" else {"id": str(uuid.uuid4()), "status": "COMPLETE"}
        answer = rogue.send(beckn(buyer1) + "/on_status", {"context": context, "message": {"order": order}})
        assert answer.status == 400 and answer.ack == "NACK", (what, answer)
    assert "buyer2.yuantou.local" in answer.error["message"] and answer.error["paths"] == "$.context.bap_id"
    orders = buyer_orders(placed)
    assert set(orders) == {order_id}, "no phantom order"
    assert orders[order_id]["status"] == "ACTIVE" and orders[order_id]["counterparty"] == ORCHARD_ID
    # the producer the order was placed with still moves it on
    orchard = net.producers["orchard"].client()
    assert orchard.post(f"/orders/{order_id}/fulfillment", json={"state": "Accepted"}).status_code == 200
    assert wait_until(lambda: "Accepted" in json.dumps(buyer_orders(placed)[order_id]["order"]), timeout=15)


def test_only_the_buyer_that_placed_an_order_may_ask_about_it_or_cancel_it(net, rogue, placed):
    orchard = net.producers["orchard"]
    for action, message in (("status", {"order_id": placed["order_id"]}),
                            ("cancel", {"order_id": placed["order_id"], "cancellation_reason_id": "001"})):
        context = rogue.context(action, ORCHARD_ID, beckn(orchard), transaction_id=placed["transaction_id"])
        assert rogue.send(beckn(orchard) + f"/{action}", {"context": context, "message": message}).ack == "ACK"
        answer = wait_until(lambda: [c for c in rogue.callbacks(f"on_{action}")
                                     if c["payload"]["context"]["message_id"] == context["message_id"]])
        assert answer[0]["payload"]["error"]["code"] == "30010", answer[0]["payload"]
        assert "order" not in json.dumps(answer[0]["payload"]["message"]) or \
            answer[0]["payload"]["message"]["order"] == {"id": placed["order_id"]}
    assert buyer_orders(placed)[placed["order_id"]]["status"] == "ACTIVE"


def test_a_message_id_reused_with_other_bytes_is_refused_signing_nothing(net, rogue):
    orchard = net.producers["orchard"]
    context = rogue.context("status", ORCHARD_ID, beckn(orchard))
    first = json.dumps({"context": context, "message": {"order_id": "first-order"}}).encode()
    second = json.dumps({"context": context, "message": {"order_id": "second-order"}}).encode()
    answer = rogue.send(beckn(orchard) + "/status", first)
    assert answer.ack == "ACK" and "x-yuantou-receipt" in answer.headers
    conflict = rogue.send(beckn(orchard) + "/status", second)
    assert conflict.status == 409 and conflict.ack == "NACK" and conflict.error["paths"] == "$.context.message_id"
    assert "another body" in conflict.error["message"]
    assert "x-yuantou-receipt" not in conflict.headers, "nothing is signed over bytes that were never stored"
    retry = rogue.send(beckn(orchard) + "/status", first)  # a true retry, freshly signed: still fine
    assert retry.ack == "ACK" and "x-yuantou-receipt" in retry.headers
    mine = lambda: [c for c in rogue.callbacks("on_status")  # noqa: E731
                    if c["payload"]["context"]["message_id"] == context["message_id"]]
    assert wait_until(mine)
    time.sleep(0.5)  # a second callback, if any were made, would be on its way by now
    assert [c["payload"]["message"]["order"]["id"] for c in mine()] == ["first-order"]


def test_malformed_key_ids_and_duplicate_keys_are_refused_on_arrival(net, rogue):
    orchard = net.producers["orchard"]
    payload = {"context": rogue.context("search", ORCHARD_ID, beckn(orchard)), "message": {"intent": {}}}
    for key_id in ("rogue.probe||ed25519", "rogue.probe|ed25519", "|stranger-k1|ed25519",
                   'rogue.probe|stranger k1|ed25519'):
        answer = rogue.send(beckn(orchard) + "/search", payload, key_id_field=key_id)
        assert answer.status == 401 and "keyId" in answer.error["message"], (key_id, answer)
    body = json.dumps({"context": payload["context"], "message": {"intent": {}}})
    twice = (body[:-1] + ',"\\u0063ontext":' + json.dumps({**payload["context"], "bap_id": "x"}) + "}").encode()
    answer = rogue.send(beckn(orchard) + "/search", twice)
    assert answer.status == 400 and "'context' appears twice" in answer.error["message"]


def test_a_node_finds_keys_in_an_ondc_style_registry(net):
    """Deployed registries answer /lookup with ``subscriber_url`` and ``ukId`` only; a node reads those too."""
    asker = Stranger("ondc-asker.probe")
    now = time.time()

    class Registry(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            criteria = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            entry = {"subscriber_id": asker.subscriber_id, "subscriber_url": asker.url, "ukId": asker.key_id,
                     "br_id": "br-1", "type": "BAP", "domain": "yuantou:agri", "city": "std:0571", "country": "CHN",
                     "signing_public_key": asker.signing_public, "encr_public_key": asker.encryption_public,
                     "valid_from": datetime.fromtimestamp(now - 60, UTC).isoformat(),
                     "valid_until": datetime.fromtimestamp(now + 3600, UTC).isoformat(),
                     "status": "SUBSCRIBED", "created": "2026-01-01T00:00:00.000Z",
                     "updated": "2026-01-01T00:00:00.000Z"}
            wanted = criteria.get("subscriber_id") in (None, asker.subscriber_id) and criteria.get(
                "ukId", criteria.get("key_id")) in (None, asker.key_id)
            out = json.dumps([entry] if wanted else []).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    registry = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    threading.Thread(target=registry.serve_forever, daemon=True).start()
    node = net.add_node("ondc-user", ["producer"], catalog_document("orchard", *PRODUCERS["orchard"]),
                        extra={"directory_url": f"http://127.0.0.1:{registry.server_port}"})
    try:
        context = asker.context("search", node.subscriber_id, beckn(node))
        answer = asker.send(beckn(node) + "/search", {"context": context, "message": {"intent": {}}})
        assert answer.ack == "ACK", answer.body
        assert wait_until(lambda: asker.callbacks("on_search")), "the callback went to the subscriber_url"
        # the registered subscriber_url is known, so a request naming another bap_uri is refused
        elsewhere = asker.context("search", node.subscriber_id, beckn(node), bap_uri="http://127.0.0.1:9/beckn")
        moved = asker.send(beckn(node) + "/search", {"context": elsewhere, "message": {"intent": {}}})
        assert moved.status == 400 and moved.error["paths"] == "$.context.bap_uri"
    finally:
        net.kill(node)
        registry.shutdown()
        asker.close()


def test_signatures_may_be_back_dated_but_never_expired(net):
    orchard = net.producers["orchard"]
    late = Stranger("late.probe")  # registered valid from about now
    try:
        assert late.subscribe(net.directory.url, "BAP").status == 200
        payload = lambda: {"context": late.context("search", ORCHARD_ID, beckn(orchard)),  # noqa: E731
                           "message": {"intent": {}}}
        now = int(time.time())
        assert late.send(beckn(orchard) + "/search", payload(), created=now - 60).ack == "ACK"  # protocol-server
        too_early = late.send(beckn(orchard) + "/search", payload(), created=now - 600, expires=now + 60)
        assert too_early.status == 401 and "validity period" in too_early.error["message"]
        expired = late.send(beckn(orchard) + "/search", payload(), created=now - 400, expires=now - 30)
        assert expired.status == 401 and "expired" in expired.error["message"]
    finally:
        late.close()


def test_core_versions_1_1_0_and_1_1_1_are_taken_and_1_1_1_is_sent(net, rogue):
    orchard = net.producers["orchard"]
    for version, ack in (("1.1.0", "ACK"), ("1.1.1", "ACK"), ("2.0.0", "NACK"), ("0.9.4", "NACK")):
        context = rogue.context("search", ORCHARD_ID, beckn(orchard), version=version)
        answer = rogue.send(beckn(orchard) + "/search", {"context": context, "message": {"intent": {}}})
        assert answer.ack == ack, (version, answer)
        if ack == "NACK":
            assert answer.error["paths"] == "$.context.version"
        else:
            (callback,) = wait_until(lambda: [c for c in rogue.callbacks("on_search")
                                              if c["payload"]["context"]["message_id"] == context["message_id"]])
            assert callback["payload"]["context"]["version"] == "1.1.1"


# -- availability ----------------------------------------------------------------------------------------

def test_a_peer_answering_with_too_much_is_not_read(net):
    """A callback's answer is an ACK; one of megabytes is not read into the node's memory but retried as a failure."""
    orchard = net.producers["orchard"]
    flood = Stranger("flood-answer.probe")
    try:
        assert flood.subscribe(net.directory.url, "BAP").status == 200
        flood.answer_padding = 4 << 20
        context = flood.context("search", ORCHARD_ID, beckn(orchard))
        assert flood.send(beckn(orchard) + "/search", {"context": context, "message": {"intent": {}}}).ack == "ACK"
        db = Database(orchard.db_url)
        try:
            last_error = lambda: db.transaction(lambda c: c.execute(  # noqa: E731
                select(outbox.c.last_error).where(outbox.c.message_id == context["message_id"])).scalar())
            assert wait_until(lambda: "bytes" in (last_error() or ""), timeout=15), last_error()
        finally:
            db.close()
        assert httpx.get(orchard.url + "/health", timeout=5).status_code == 200
    finally:
        flood.close()


def test_ids_and_codes_longer_than_their_store_are_refused_on_arrival(net, rogue, placed):
    buyer1 = net.buyers["buyer1"]
    context = rogue.context("on_status", rogue.subscriber_id, rogue.url, bap_id=buyer1.subscriber_id,
                            bap_uri=beckn(buyer1), transaction_id=placed["transaction_id"])
    long_order = rogue.send(beckn(buyer1) + "/on_status", {"context": context, "message": {
        "order": {"id": "o" * 300, "status": "ACTIVE"}}})
    assert long_order.status == 400 and long_order.error["paths"] == "$.message.order.id"
    long_ids = rogue.send(beckn(buyer1) + "/on_status", {"context": {**context, "message_id": "m" * 65},
                                                          "message": {"order": {"id": "x", "status": "ACTIVE"}}})
    assert long_ids.status == 400 and "$.context.message_id" in long_ids.error["paths"]
    country = rogue.subscription(net.directory.url, "BAP")
    country["location"]["country"]["code"] = "CHINA-LONG"
    answer = rogue.send(net.directory.url + "/subscribe", country)
    assert answer.status == 400 and answer.error["paths"] == "$.location.country.code"


def test_deep_and_oversized_bodies_are_refused_before_they_are_read(net, rogue):
    orchard, buyer1 = net.producers["orchard"], net.buyers["buyer1"]
    deep = b'{"a":' * 1000 + b"1" + b"}" * 1000
    for url in (beckn(orchard) + "/search", beckn(orchard) + "/yuantou/checkpoint", beckn(buyer1) + "/on_search"):
        answer = post(url, deep, {"Authorization": rogue.sign(deep)})
        assert answer.status == 400 and answer.ack == "NACK" and "nested" in answer.error["message"], (url, answer)
    api = post(buyer1.url + "/api/pools", deep, {"Authorization": f"Bearer {buyer1.token}"})
    assert api.status == 400 and "nested" in api.json()["detail"]

    before = orchard.client().get("/summary").json()["inbox"]
    context = rogue.context("select", ORCHARD_ID, beckn(orchard))
    big = json.dumps({"context": context, "message": {"order": {"provider": {"id": "orchard-provider"}, "items": [
        {"id": "pear-snow", "descriptor": {"name": "x" * 2_000_000}}]}}}).encode()
    signed = {"Authorization": rogue.sign(big)}
    # declared too long: refused from its Content-Length, before a byte of the body is sent
    assert post_streamed(beckn(orchard) + "/select", {**signed, "Content-Length": str(len(big))}, []) == 413
    # no length declared (chunked): refused as soon as it passes the limit, the rest never read
    chunks = [big[i:i + 65536] for i in range(0, (1 << 20) + 65536 * 2, 65536)]
    assert post_streamed(beckn(orchard) + "/select", signed, chunks, chunked=True) == 413
    assert orchard.client().get("/summary").json()["inbox"] == before, "nothing of either was stored"
    search = json.dumps({"context": rogue.context("search", "", ""), "padding": "y" * 5_000_000}).encode()
    assert post_streamed(net.directory.url + "/search", {"Authorization": rogue.sign(search),
                                                         "Content-Length": str(len(search))}, []) == 413


def test_huge_numbers_are_refused_at_once_and_the_node_stays_up(net, rogue):
    buyer1, orchard = net.buyers["buyer1"], net.producers["orchard"]
    api = buyer1.client()
    intent = {"household": "wang", "item_id": "apple-fuji-a", "min_quantity": "1", "max_quantity": "1e999999",
              "max_price": "9", "pickup_point": "gate-1", "window_start": "2030-01-01T06:00:00Z",
              "window_end": "2030-01-01T20:00:00Z"}
    started = time.monotonic()
    refused = api.post("/intents", json=intent)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "max_quantity"]
    pool = {"item_id": "apple-fuji-a", "pickup_points": ["gate-1"], "window_start": "2030-01-01T06:00:00Z",
            "window_end": "2030-01-01T20:00:00Z", "cutoff": "2029-12-31T12:00:00Z", "bulk_unit": "5",
            "step": "1e-999999", "tiers": [{"min_quantity": "0", "price": "9"}]}
    assert api.post("/pools", json=pool).status_code == 422
    for bad in ({"step": 1e999}, {"bulk_unit": 10**40}, {"tiers": [{"min_quantity": "0", "price": "1e999"}]}):
        body = json.dumps({**pool, "step": "1", **bad}).replace("Infinity", "1e999").encode()
        assert post(buyer1.url + "/api/pools", body, {"Authorization": f"Bearer {buyer1.token}"}).status == 422, bad
    assert time.monotonic() - started < 5 and httpx.get(buyer1.url + "/health", timeout=2).status_code == 200
    # a Beckn quantity of 4,000 digits: ACKed (the schema takes any decimal string), refused in the callback
    context = rogue.context("select", ORCHARD_ID, beckn(orchard))
    select = {"context": context, "message": {"order": {"provider": {"id": "orchard-provider"}, "items": [
        {"id": "pear-snow", "quantity": {"selected": {"measure": {"unit": "kg", "value": "9" * 4000}}}}]}}}
    assert rogue.send(beckn(orchard) + "/select", select).ack == "ACK"
    (answer,) = wait_until(lambda: [c for c in rogue.callbacks("on_select")
                                    if c["payload"]["context"]["message_id"] == context["message_id"]])
    assert answer["payload"]["error"]["paths"] == "$.message.order.items[0].quantity.selected"
    # capacity 1e999 in the catalog: refused by name; the catalog stays readable JSON
    item = {"id": "plum", "name": "Plums", "unit": "kg", "price": 5, "windows": [
        {"id": "w1", "start": "2030-01-01T06:00:00Z", "end": "2030-01-01T20:00:00Z", "capacity": "1e999"}]}
    put = orchard.client().put("/catalog/items", json=[item])
    assert put.status_code == 422 and "windows[0].capacity" in put.json()["detail"]
    strict_json(orchard.client().get("/catalog").text)


def test_a_long_poll_takes_seconds_not_nan_and_never_holds_a_stop(net):
    api = net.buyers["buyer1"].client()
    for wait in ("nan", "inf", "-1", "61"):
        assert api.get("/messages/none", params={"wait": wait}).status_code == 422, wait
    assert api.get("/messages/none", params={"wait": "0.1"}).json() == []
    # a node stops within seconds even while a client waits on a long poll
    node = net.add_node("poller", ["buyer"])
    try:
        client = httpx.Client(base_url=node.url, headers={"Authorization": f"Bearer {node.token}"}, timeout=90)
        threading.Thread(target=lambda: client.get("/api/messages/none", params={"wait": 60}), daemon=True).start()
        time.sleep(0.5)  # the poll is in: nothing to await but its being sent
        started = time.monotonic()
        os.killpg(node.process.pid, signal.SIGTERM)
        node.process.wait(30)
        assert time.monotonic() - started < 15
    finally:
        net.kill(node)


def test_demand_series_and_history_are_bounded_and_paged(net):
    orchard = net.producers["orchard"].client()
    assert orchard.get("/demand/series", params={"until": "4318-02-07"}).status_code == 422
    today = date.today()
    for day in ("0001-01-01", (today + timedelta(days=30)).isoformat()):
        refused = orchard.post("/demand/history", json=[{"product": "p", "region": "r", "day": day, "quantity": 1}])
        assert refused.status_code == 422 and "body[0].day" in refused.json()["detail"], day
    rows = [{"product": f"paged-{k}", "region": "r", "day": (today - timedelta(days=d)).isoformat(), "quantity": 1}
            for k in range(3) for d in (1, 2)]
    assert orchard.post("/demand/history", json=rows).json() == {"imported": 6}
    page = orchard.get("/demand/series", params={"limit": 2, "days": 10}).json()
    assert len(page["series"]) == 2 and page["next_offset"] == 2 and page["total_series"] >= 3
    rest = orchard.get("/demand/series", params={"limit": 2, "offset": 2, "days": 10}).json()
    assert not set(rest["series"]) & set(page["series"])
    assert all(len(v) <= 10 for v in page["series"].values())
    assert orchard.get("/demand/series", params={"days": 100_000}).status_code == 422


def test_forecast_bands_without_a_bound_are_null_not_infinity(net):
    orchard = net.producers["orchard"]
    api = NodeClient(orchard.url, orchard.token)
    today = date.today()
    api.post("/api/demand/history", [{"product": "short-history", "region": "r",
                                       "day": (today - timedelta(days=d)).isoformat(), "quantity": d % 3}
                                      for d in range(1, 15)])
    job = api.post("/api/forecast/run", {"horizon": 7, "levels": [80, 95], "windows": 1})
    api.wait_job(job)
    raw = httpx.get(orchard.url + "/api/forecast", headers={"Authorization": f"Bearer {orchard.token}"}).text
    run = strict_json(raw)
    series = next(s for s in run["series"] if s["id"] == "short-history/r")
    assert len(series["mean"]) == 7
    panel = httpx.get(orchard.url + "/dashboard/panel/forecast", headers={
        "Authorization": f"Bearer {orchard.token}", "HX-Request": "true"}).text
    assert "Infinity" not in panel and "NaN" not in panel


def test_fulfillment_refusals_say_why_and_keep_the_connection(net, rogue, placed):
    orchard = net.producers["orchard"]
    with httpx.Client(base_url=orchard.url + "/api", headers={"Authorization": f"Bearer {orchard.token}"},
                      timeout=10) as api:
        unknown = api.post("/orders/no-such-order/fulfillment", json={"state": "Packed"})
        assert unknown.status_code == 404 and "not found" in unknown.json()["detail"]
        nonsense = api.post(f"/orders/{placed['order_id']}/fulfillment", json={"state": "Teleported"})
        assert nonsense.status_code == 422 and "unknown fulfillment state" in nonsense.json()["detail"]
        move = lambda state, reason="": api.post(f"/orders/{placed['order_id']}/fulfillment",  # noqa: E731
                                                 json={"state": state, "reason": reason})
        assert move("Packed").status_code == 200  # (an earlier test of this module accepted it)
        twice = move("Packed")  # a double click: refused, and the buyer is not told twice
        assert twice.status_code == 409 and "already Packed" in twice.json()["detail"]
        back = move("Accepted")
        assert back.status_code == 409 and "cannot go back to Accepted" in back.json()["detail"]
        long_reason = move("Refused", "x" * 201)
        assert long_reason.status_code == 422
        refused = move("Refused", "hail damaged the crop")
        assert refused.status_code == 200
        assert refused.json()["order"]["cancellation"]["reason"]["descriptor"]["name"] == "hail damaged the crop"
        after = move("Packed")
        assert after.status_code == 409 and "Refused and moves no more" in after.json()["detail"]
        assert api.get("/summary").status_code == 200  # the same keep-alive connection still serves
    assert wait_until(lambda: buyer_orders(placed)[placed["order_id"]]["status"] == "CANCELLED", timeout=15)


def test_a_cancellation_reason_code_comes_back_as_the_reasons_id(net):
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "rice", "bpp_id": "mill.yuantou.local"})
    (found,) = buyer.callbacks(sent["message_id"], wait=10, count=1)
    provider = found["payload"]["message"]["catalog"]["providers"][0]
    item = next(i for i in provider["items"] if i["id"] == "rice-jasmine-10kg")
    done = order_flow(buyer, sent["transaction_id"], "mill.yuantou.local", provider["id"],
                      [{"id": item["id"], "quantity": 2, "unit": "bag"}], item["fulfillment_ids"][0])
    order_id = done["message"]["order"]["id"]
    cancel = buyer.post(f"/api/orders/{order_id}/cancel", {"reason": "the pool fell through", "reason_id": "004"})
    reason = buyer.one_callback(cancel["message_id"])["message"]["order"]["cancellation"]["reason"]
    assert reason == {"id": "004", "descriptor": {"name": "the pool fell through"}}


# -- data ------------------------------------------------------------------------------------------------

def test_a_restart_keeps_sold_capacity_and_api_edits(net):
    mill = net.producers["mill"]
    api = NodeClient(mill.url, mill.token)

    def left() -> float:
        item = next(i for i in api.get("/api/catalog")["providers"][0]["items"] if i["id"] == "apple-fuji-b")
        return float(item["quantity"]["available"]["measure"]["value"])

    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "juicing", "bpp_id": "mill.yuantou.local"})
    (found,) = buyer.callbacks(sent["message_id"], wait=10, count=1)
    provider = found["payload"]["message"]["catalog"]["providers"][0]
    window = next(i for i in provider["items"] if i["id"] == "apple-fuji-b")["fulfillment_ids"][0]
    full = left()
    order_flow(buyer, sent["transaction_id"], "mill.yuantou.local", provider["id"],
               [{"id": "apple-fuji-b", "quantity": 40, "unit": "kg"}], window)
    assert left() == full - 40
    api.put("/api/catalog/items", [{"id": "plum", "name": "Plums", "unit": "kg", "price": 5, "windows": []}])
    net.kill(mill, signal.SIGTERM)
    net.start_node(mill)
    assert left() == full - 40, "a restart forgets nothing sold"
    assert "plum" in {i["id"] for i in api.get("/api/catalog")["providers"][0]["items"]}, "nor what the API added"
    done = subprocess.run(CLI + ["node", "import-catalog", "--config", str(mill.config_path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert left() == full - 40, "re-reading the file still counts what orders hold"
    assert "plum" in {i["id"] for i in api.get("/api/catalog")["providers"][0]["items"]}


# -- web session -----------------------------------------------------------------------------------------

def test_each_node_has_its_own_revocable_session_and_pages_cannot_be_framed(net):
    orchard, buyer1 = net.producers["orchard"], net.buyers["buyer1"]
    jar = httpx.Client(timeout=10)  # one browser: both nodes share the host's cookies
    for proc in (orchard, buyer1):
        assert jar.post(proc.url + "/login", data={"secret": proc.token}).status_code == 303
    names = [c.name for c in jar.cookies.jar]
    assert len(set(names)) == 2, names
    for proc in (orchard, buyer1):
        page = jar.get(proc.url + "/dashboard")
        assert page.status_code == 200 and 'name="secret"' not in page.text, "the dashboard, not the login form"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    stolen = {c.name: c.value for c in jar.cookies.jar}
    jar.post(orchard.url + "/logout")
    replay = httpx.get(orchard.url + "/dashboard", cookies=stolen, follow_redirects=False)
    assert replay.status_code == 303 and "/login" in replay.headers["location"], "a logged-out cookie stays out"
    assert httpx.get(buyer1.url + "/dashboard", cookies=stolen, follow_redirects=False).status_code == 200


def test_the_ledgers_still_verify_after_the_probes(net):
    for proc in (net.producers["orchard"], net.buyers["buyer1"]):
        done = subprocess.run(CLI + ["ledger", "verify", "--config", str(proc.config_path)], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr


def test_nodes_in_tests_run_under_a_memory_cap(net):
    """A runaway request fails its test instead of the machine: every process the tests start is capped."""
    limits = open(f"/proc/{net.producers['orchard'].process.pid}/limits").read()
    (line,) = [row for row in limits.splitlines() if row.startswith("Max address space")]
    assert int(line.split()[3]) == int(os.environ["YUANTOU_PROCESS_MEMORY_MB"]) << 20
