"""A producer moves an order along with its directory down: the new state and the buyer's on_status are one
transaction, sent to the bap_uri the order's confirm came from; and the join fast path compares tokens in
constant time."""

from __future__ import annotations

import asyncio
import signal

from conftest import storage
from stranger import wait_until

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.node.api import pools as pool_api


def test_a_fulfilment_change_reaches_the_buyer_with_the_directory_down(tmp_path):
    net = LocalNetwork(tmp_path, database=storage())
    try:
        net.start_directory()
        started = [net.add_node("orchard", ["producer"], catalog_document("orchard", *PRODUCERS["orchard"]),
                                wait=False), net.add_node("buyer1", ["buyer"], wait=False)]
        net.wait_started(started)
        orchard, buyer = net.producers["orchard"], NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
        sent = buyer.post("/api/search", {"query": "pear", "bpp_id": orchard.subscriber_id})
        provider = buyer.one_callback(sent["message_id"])["message"]["catalog"]["providers"][0]
        item = next(i for i in provider["items"] if i["id"] == "pear-snow")
        done = order_flow(buyer, sent["transaction_id"], orchard.subscriber_id, provider["id"],
                          [{"id": item["id"], "quantity": 3, "unit": "kg"}], item["fulfillment_ids"][0])
        order_id = done["message"]["order"]["id"]
        net.kill(net.directory, signal.SIGKILL)  # nobody to look the buyer's URL up in
        shipped = orchard.client().post(f"/orders/{order_id}/fulfillment", json={"state": "Shipped"})
        assert shipped.status_code == 200, shipped.text
        seen = lambda: next(o for o in buyer.get("/api/orders") if o["order_id"] == order_id)  # noqa: E731
        assert wait_until(lambda: "Shipped" in str(seen()["order"]), timeout=20), seen()
    finally:
        net.stop()


def test_the_join_fast_path_compares_the_token_in_constant_time(monkeypatch):
    compared: list[tuple[bytes, bytes]] = []
    real = pool_api.hmac.compare_digest
    monkeypatch.setattr(pool_api.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    passed: list[dict] = []

    async def app(scope, receive, send) -> None:  # noqa: ANN001  FastAPI, answering the refusal
        passed.append(scope)

    fast = pool_api.JoinFastPath(app, buyer=None, api_token="the-token-of-this-node")
    scope = {"type": "http", "method": "POST", "path": "/api/intents", "headers": [(b"authorization", b"Bearer guess")]}
    asyncio.run(fast(scope, None, None))
    assert compared == [(b"Bearer guess", b"Bearer the-token-of-this-node")] and passed == [scope]
