"""No ACKed message is lost: kill -9 a producer while confirms stream in, restart it, count callbacks."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from beckn_peer import ack_status, context, post_signed, wait_for
from conftest import Peer, storage
from sqlalchemy import select

from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.store.db import Database
from yuantou.store.tables import orders


@pytest.mark.parametrize("workers", [pytest.param(1, marks=pytest.mark.sqlite_only), 2],
                         ids=["one-process", "two-workers"])  # on PostgreSQL, two workers cover one
def test_kill_9_mid_stream_loses_no_acked_confirm(tmp_path, workers):
    """With two worker processes the same checks also prove no confirm is processed twice."""
    net = LocalNetwork(tmp_path, database=storage())
    peer = Peer("streamer.yuantou.local")
    try:
        net.start_directory()
        name, items = PRODUCERS["orchard"]
        orchard = net.add_node("orchard", ["producer"], catalog_document("orchard", name, items),
                              extra={"workers": workers})
        net.register(peer.subscriber_id, peer.url, ["BAP"], peer.keys, peer.key_id)
        peer.ack_delay = 0.2  # a slow peer: the kill finds callbacks it has taken but not yet answered
        catalog = orchard.client().get("/catalog").json()["providers"][0]
        item = next(i for i in catalog["items"] if i["id"] == "pear-snow")  # sold by the kg, no bulk unit
        acked: list[str] = []
        refused = 0
        stop = threading.Event()

        def stream() -> None:
            nonlocal refused
            n = 0
            while not stop.is_set() and n < 400:
                n += 1
                payload = {"context": context("confirm", peer, orchard), "message": {"order": {
                    "provider": {"id": catalog["id"]},
                    "items": [{"id": item["id"], "quantity": {"selected": {"count": 1}},
                               "fulfillment_ids": [item["fulfillment_ids"][n % 3]]}]}}}
                try:
                    resp = post_signed(orchard.url + "/beckn/confirm", payload, peer)
                except httpx.HTTPError:
                    refused += 1
                    time.sleep(0.01)
                    continue
                if ack_status(resp) == "ACK":
                    acked.append(payload["context"]["message_id"])

        sender = threading.Thread(target=stream)
        sender.start()
        wait_for(lambda: len(acked) >= 60, timeout=30, interval=0.005)
        net.kill(orchard)  # SIGKILL to the whole process group, mid-stream
        killed_at = len(acked)
        time.sleep(0.5)
        net.start_node(orchard)
        wait_for(lambda: len(acked) >= killed_at + 60, timeout=30)
        stop.set()
        sender.join(30)

        assert killed_at >= 60 and len(acked) > killed_at and refused > 0, (killed_at, len(acked), refused)
        # every ACKed confirm gets its callback; redeliveries (if any) carry the same answer
        def answered() -> bool:
            got = {cb["payload"]["context"]["message_id"] for cb in peer.callbacks("on_confirm")}
            return set(acked) <= got
        assert wait_for(answered, timeout=60), "some ACKed confirms never got an on_confirm"
        by_message: dict[str, set[str]] = {}
        copies: dict[str, set[tuple[bytes, str]]] = {}
        for cb in peer.callbacks("on_confirm"):
            order = cb["payload"]["message"]["order"]
            message_id = cb["payload"]["context"]["message_id"]
            by_message.setdefault(message_id, set()).add(order.get("id", ""))
            copies.setdefault(message_id, set()).add((cb["body"], cb["headers"]["Authorization"]))
        assert all(len(ids) == 1 for ids in by_message.values()), {m: ids for m, ids in by_message.items() if len(ids) > 1}
        # exactly one on_confirm per confirm: one body, one signature. A crash after the peer answered but before
        # the answer was recorded sends it again, byte for byte (a retry any Beckn peer dedupes by message_id),
        # never the same message signed anew
        assert all(len(c) == 1 for c in copies.values()), [m for m, c in copies.items() if len(c) > 1]
        db = Database(orchard.db_url)
        try:
            rows = db.transaction(lambda c: c.execute(select(orders.c.order_id, orders.c.body)).all())
        finally:
            db.close()
        order_ids = {r.order_id for r in rows}
        callback_orders = {next(iter(ids)) for m, ids in by_message.items() if m in set(acked)}
        assert callback_orders <= order_ids
        assert len(rows) == len(by_message), "each processed confirm makes exactly one order"
        assert all(json.loads(r.body)["status"] == "ACTIVE" for r in rows)
    finally:
        peer.close()
        net.stop()
