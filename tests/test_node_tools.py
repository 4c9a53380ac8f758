"""Every node's own tools in the browser against real nodes: a transaction's evidence downloaded and checked (a
changed one refused), and the signing key rotated after a confirmation, the node trading on with the new key."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import storage
from console_scene import console_client, orchard_and_buyer
from test_producer_console import place

from yuantou.devnet.localnet import LocalNetwork


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    yield from orchard_and_buyer(tmp_path_factory, "node-tools", storage())


def tools(net: LocalNetwork, name: str = "orchard", language: str = "en") -> httpx.Client:
    return console_client(net.producers.get(name) or net.buyers[name], "/dashboard", language)


def test_a_transactions_evidence_downloads_and_checks_and_a_changed_one_is_refused(net):
    order_id = place(net, 3)
    with tools(net, "buyer1") as browser:
        page = browser.get("/node/evidence").text
        orders = httpx.get(net.buyers["buyer1"].url + "/api/orders",
                           headers={"Authorization": f"Bearer {net.buyers['buyer1'].token}"}).json()
        transaction = next(o["transaction_id"] for o in orders if o["order_id"] == order_id)
        assert transaction in page  # offered among the ledger's latest transactions
        download = browser.get("/node/evidence/bundle", params={"transaction": transaction})
        assert download.headers["content-disposition"].startswith('attachment; filename="evidence-')
        bundle = download.json()
        assert bundle["transaction_id"] == transaction and len(bundle["entries"]) >= 6
        holds = browser.post("/upload/evidence", files={"file": ("mine.json", download.content)})
        assert 'data-verdict="holds"' in holds.text and "mine.json checks out" in holds.text
        bundle["entries"][2]["action"] = "cancel"  # one message said to be something else
        broken = browser.post("/upload/evidence", files={"file": ("theirs.json", json.dumps(bundle).encode())})
        assert 'data-verdict="broken"' in broken.text and "theirs.json does not check out" in broken.text
        garbage = browser.post("/upload/evidence", files={"file": ("notes.json", b"{\"format\": 1}")})
        assert "notes.json: format: expected" in garbage.text
        unknown = browser.get("/node/evidence/bundle", params={"transaction": "no-such-transaction"})
        assert "holds no message of that transaction" in unknown.text


def test_the_key_is_rotated_only_after_a_confirmation_and_the_node_trades_on(net):
    with tools(net, "orchard", "zh-CN") as browser:
        assert 'id="key-id">orchard-k1<' in browser.get("/node/key").text
        unconfirmed = browser.post("/node/key/rotate", data={"new_key_id": ""})
        assert 'id="f-confirm-error"' in unconfirmed.text and 'id="key-id">orchard-k1<' in unconfirmed.text
        rotated = browser.post("/node/key/rotate", data={"new_key_id": "", "confirm": "on"})
        assert "orchard-k2" in rotated.text and "本节点现在使用 orchard-k2 签名" in rotated.text, rotated.text[rotated.text.find("<main"):][:900]
    listed = httpx.post(net.directory_url + "/lookup", json={"subscriber_id": "orchard.yuantou.local"}).json()
    assert {e["key_id"] for e in listed} >= {"orchard-k1", "orchard-k2"}
    place(net, 2)  # the buyer verifies the orchard's answers, signed with the new key
