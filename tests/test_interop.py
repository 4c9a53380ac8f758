"""Interoperability: the published example messages, re-signed by a test peer, at a real node."""

from __future__ import annotations

import json

import pytest
from beckn_peer import ack_status, post_signed, rewrite_for, wait_for
from conftest import Peer, storage

from yuantou.devnet.localnet import LocalNetwork, window_times

PROVIDER = "./retail.kirana/ind.blr/33@tourism-bpp-infra2.becknprotocol.io.provider"
ITEM = "./retail.kirana/ind.blr/247@tourism-bpp-infra2.becknprotocol.io.item"
ONDC_EXPECTED = {  # what every ONDC AGR11 example breaks for a core 1.1.x node (JSON paths): it speaks 2.0.0
    "version": "$.context.version",
}


@pytest.fixture(scope="module")
def interop(tmp_path_factory):
    net = LocalNetwork(tmp_path_factory.mktemp("interop"), database=storage())
    start, end = window_times(1)
    catalog = {"provider": {"id": PROVIDER, "name": "Kirana from the Beckn sandbox"}, "items": [
        {"id": ITEM, "name": "Isothermal Stainless Steel Hiking Flask", "unit": "piece", "price": 250,
         "currency": "INR", "windows": [{"id": "f1", "start": start, "end": end, "capacity": 100}]}]}
    try:
        net.start_directory()
        kirana = net.add_node("kirana", ["producer"], catalog)
        buyer = net.add_node("buyer", ["buyer"])
        peer = Peer("sandbox-peer.local")
        net.register(peer.subscriber_id, peer.url, ["BAP", "BPP"], peer.keys, peer.key_id)
        yield net, kirana, buyer, peer
        peer.close()
    finally:
        net.stop()


def test_retail_sandbox_requests_are_acked_and_answered(interop, beckn_dir, official_schema):
    net, kirana, _, peer = interop
    folder = beckn_dir / "examples/retail-1.1.0-beckn-sandbox/request"
    sent = {}
    for path in sorted(folder.glob("request.*.json")):
        payload = rewrite_for(json.loads(path.read_text()), peer, kirana)
        action = payload["context"]["action"]
        resp = post_signed(f"{kirana.url}/beckn/{action}", payload, peer)
        assert ack_status(resp) == "ACK", (path.name, resp.text)
        sent[action] = payload["context"]["message_id"]
    assert len(sent) == 10
    for action, mid in sent.items():
        cb = wait_for(lambda: peer.callbacks("on_" + action, mid))
        assert cb, f"no on_{action}"
        payload = cb[0]["payload"]
        assert official_schema("on_" + action, payload, formats=True) == []
        if action in ("select", "init"):
            assert "error" not in payload, payload
            assert payload["message"]["order"]["items"][0]["id"] == ITEM
    # the example's confirm carries the sandbox's own quote (a different price): refused as a stale quote
    confirm = peer.callbacks("on_confirm", sent["confirm"])[0]["payload"]
    assert confirm.get("error", {}).get("code") in (None, "40003")
    status = peer.callbacks("on_status", sent["status"])[0]["payload"]
    assert status["error"]["code"] == "30010"  # the sandbox's order id is not an order of ours


def test_ondc_agri_flow_is_nacked_with_the_core_rules_it_breaks(interop, beckn_dir):
    net, kirana, buyer, peer = interop
    folder = beckn_dir / "examples/ondc-agri-output-AGR11-2.0.0"
    for path in sorted(folder.glob("*.json")):
        original = json.loads(path.read_text())
        action = original["context"]["action"]
        if action.startswith("on_"):
            payload = json.loads(json.dumps(original))
            payload["context"].update(bap_id=buyer.subscriber_id, bap_uri=buyer.url + "/beckn",
                                      bpp_id=peer.subscriber_id, bpp_uri=peer.url)
            target = buyer
        else:
            payload, target = rewrite_for(original, peer, kirana), kirana
        resp = post_signed(f"{target.url}/beckn/{action}", payload, peer)
        assert ack_status(resp) == "NACK", path.name
        error = resp.json()["error"]
        assert error["code"] == "30000"
        paths = set(error["paths"].split(","))
        assert set(ONDC_EXPECTED.values()) <= paths, (path.name, paths)
        if payload["message"].get("order", {}).get("status") == "In-Progress":
            assert "$.message.order.status" in paths
        if action == "on_search":
            assert "$.message.catalog.providers[0].ttl" in paths
