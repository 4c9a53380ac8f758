"""The directory operator's console against a real directory and real nodes on 127.0.0.1: a suspended subscriber
is refused by the gateway and by lookups until reinstated, a revoked one for good, and stale attempts are cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import storage
from console_scene import console_client, orchard_and_buyer

from yuantou.devnet.client import NodeClient
from yuantou.devnet.localnet import LocalNetwork
from yuantou.directory.registry import Entry, upsert
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import Database

ORCHARD_ID = "orchard.yuantou.local"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    yield from orchard_and_buyer(tmp_path_factory, "operator", storage())


def operator(net: LocalNetwork) -> httpx.Client:
    assert net.directory is not None
    return console_client(net.directory, "/dashboard", timeout=15)


def producers_answering(net: LocalNetwork) -> set[str]:
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "apple"})
    return {c["payload"]["context"]["bpp_id"] for c in buyer.callbacks(sent["message_id"], wait=3, count=10)}


def status_of(net: LocalNetwork, subscriber_id: str) -> set[str]:
    found = httpx.post(net.directory_url + "/lookup", json={"subscriber_id": subscriber_id}).json()
    return {e["status"] for e in found}


def test_a_suspended_producer_is_refused_by_the_gateway_until_it_is_reinstated(net):
    assert producers_answering(net) == {ORCHARD_ID}
    with operator(net) as console:
        listed = console.get("/operator").text
        assert f'data-subscriber="{ORCHARD_ID}"' in listed and 'data-subscriber="buyer1.yuantou.local"' in listed
        suspended = console.post("/operator/act", data={"subscriber_id": ORCHARD_ID, "action": "suspend"})
        assert f"{ORCHARD_ID} is suspended" in suspended.text and status_of(net, ORCHARD_ID) == {"SUSPENDED"}
        assert producers_answering(net) == set()  # the gateway no longer forwards searches to it
        back = console.post("/operator/act", data={"subscriber_id": ORCHARD_ID, "action": "reinstate"})
        assert f"{ORCHARD_ID} is reinstated" in back.text and status_of(net, ORCHARD_ID) == {"SUBSCRIBED"}
    assert producers_answering(net) == {ORCHARD_ID}


def test_a_revoked_subscriber_ends_its_keys_and_cannot_be_reinstated(net):
    net.register("gone.example.cn", "http://127.0.0.1:9/beckn", ["BAP"], KeyPair.generate(), "g1")
    with operator(net) as console:
        revoked = console.post("/operator/act", data={"subscriber_id": "gone.example.cn", "action": "revoke"})
        assert "gone.example.cn is revoked" in revoked.text
        (entry,) = httpx.post(net.directory_url + "/lookup", json={"subscriber_id": "gone.example.cn"}).json()
        assert entry["status"] == "REVOKED"
        assert datetime.fromisoformat(entry["valid_until"].replace("Z", "+00:00")) <= datetime.now(UTC)
        again = console.post("/operator/act", data={"subscriber_id": "gone.example.cn", "action": "reinstate"})
        assert "only a new key" in again.text and status_of(net, "gone.example.cn") == {"REVOKED"}
        unknown = console.post("/operator/act", data={"subscriber_id": "nobody", "action": "suspend"}, headers={
            "Accept-Language": "zh-CN"})
        assert "目录中没有这个成员。" in unknown.text


def test_stale_attempts_are_cleared_and_a_cross_site_post_changes_nothing(net):
    db = Database(net.directory_db)
    try:
        db.transaction(lambda c: upsert(c, Entry(
            subscriber_id="halfway.example.cn", url="http://127.0.0.1:9/beckn", type="BPP", domain="yuantou:agri",
            city="std:0571", country="CHN", signing_public_key=KeyPair.generate().signing_public_b64, key_id="h1",
            valid_from=datetime.now(UTC), valid_until=datetime.now(UTC) + timedelta(days=1),
            status="UNDER_SUBSCRIPTION")))
    finally:
        db.close()
    with operator(net) as console:
        assert "halfway.example.cn" in console.get("/operator").text
        forged = httpx.post(net.directory_url + "/dashboard/operator/act", cookies=console.cookies,
                            data={"subscriber_id": ORCHARD_ID, "action": "revoke"},
                            headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403 and status_of(net, ORCHARD_ID) == {"SUBSCRIBED"}
        recent = console.post("/operator/pending/clear", data={})  # only attempts older than 10 minutes: this one stays
        assert "0 pending attempts removed" in recent.text and "halfway.example.cn" in recent.text
        cleared = console.post("/operator/pending/clear", data={"all": "on"})
        assert "1 pending attempts removed" in cleared.text and "halfway.example.cn" not in cleared.text
