"""Pooling on a real buyer node over HTTP: open, join, refuse bad input, withdraw, close, survive kill -9."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from beckn_peer import wait_for
from conftest import storage

from yuantou.devnet.localnet import LocalNetwork


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


NOW = datetime.now(UTC)
WINDOW = {"window_start": iso(NOW + timedelta(days=1)), "window_end": iso(NOW + timedelta(days=1, hours=6))}


def pool_body(**overrides) -> dict:
    body = {"item_id": "apple-fuji-a", "category": "fruit", "grade": "A", "pickup_points": ["gate-3", "school"],
            **WINDOW, "cutoff": iso(NOW + timedelta(hours=2)), "unit": "kg", "step": "0.5", "bulk_unit": "10",
            "moq": "20", "tiers": [{"min_quantity": "0", "price": "9.00"}, {"min_quantity": "50", "price": "8.50"}]}
    body.update(overrides)
    return body


def intent_body(household: str, lo: str, hi: str, **overrides) -> dict:
    body = {"household": household, "item_id": "apple-fuji-a", "min_quantity": lo, "max_quantity": hi,
            "max_price": "9.50", "pickup_point": "gate-3", "window_start": iso(NOW), "window_end": iso(NOW + timedelta(days=2))}
    body.update(overrides)
    return body


# a producer listing what the pools are for, but delivering only in 2031: the pools open (a producer lists the
# product), and procurement finds no offer for their delivery windows, so nothing is ever bought here
MARKET = {"provider": {"id": "market-provider", "name": "Market"}, "items": [
    {"id": item, "name": item.title(), "category": "fruit", "unit": "kg", "price": 9.0, "currency": "CNY",
     "windows": [{"id": "2031", "start": "2031-06-01T00:00:00Z", "end": "2031-06-02T00:00:00Z", "capacity": 1000}]}
    for item in ("apple-fuji-a", "pear", "plum", "kiwi")]}


@pytest.fixture(scope="module")
def buyer_net(tmp_path_factory):
    """An organiser's node that has searched a producer selling what its pools are for."""
    net = LocalNetwork(tmp_path_factory.mktemp("pools"), database=storage())
    try:
        net.start_directory()
        started = [net.add_node("market", ["producer"], MARKET, wait=False),
                   net.add_node("organiser", ["buyer"], wait=False)]
        net.wait_started(started)
        api = net.buyers["organiser"].client(timeout=20)
        sent = api.post("/search", json={"query": ""}).json()
        assert api.get(f"/messages/{sent['message_id']}", params={"wait": 15}).json()
        yield net
    finally:
        net.stop()


def test_households_pool_and_see_their_lines(buyer_net):
    api = buyer_net.buyers["organiser"].client(timeout=10)
    pool = api.post("/pools", json=pool_body()).json()
    assert pool["status"] == "open" and pool["bulk_unit"] == "10" and pool["tiers"][1]["price"] == "8.50"
    pid = pool["pool_id"]
    joined = [api.post("/intents", json=intent_body(h, lo, hi)).json() for h, lo, hi in
              [("wang", "2", "5"), ("li", "3", "3"), ("zhao", "1.5", "30")]]
    assert {j["pool_id"] for j in joined} == {pid}
    assert api.get(f"/pools/{pid}").json()["pooled_max"] == "38"

    # bad input: a clear error naming the field, nothing stored changes
    cases = [
        (intent_body("x", "2", "5", pickup_point="mall", pool_id=pid), 400, "bad_pickup", "pickup_point"),
        (intent_body("x", "-1", "5"), 400, "bad_quantity", "min_quantity"),
        (intent_body("x", "2.3", "5"), 400, "bad_quantity", "min_quantity"),
        (intent_body("x", "5", "2"), 400, "bad_quantity", "max_quantity"),
        (intent_body("x", "2", "5", item_id="durian"), 400, "unknown_product", "product"),
        (intent_body("x", "2", "5", pool_id="pool-nope"), 404, "unknown_pool", "pool_id"),
        (intent_body("x", "2", "5", max_price="8.999"), 400, "bad_price", "max_price"),
    ]
    for body, status, code, path in cases:
        resp = api.post("/intents", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["code"] == code and resp.json()["error"]["path"] == path, resp.text
    assert api.get(f"/pools/{pid}").json()["households"] == 3

    # withdraw once, not twice
    extra = api.post("/intents", json=intent_body("sun", "1", "1")).json()
    assert api.post(f"/intents/{extra['intent_id']}/withdraw").status_code == 200
    again = api.post(f"/intents/{extra['intent_id']}/withdraw")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_withdrawn"

    closed = api.post(f"/pools/{pid}/close").json()
    assert closed["status"] == "allocated"
    assert closed["outcome"]["total"] == "30" and closed["outcome"]["unit_price"] == "9.00"  # 3 crates of 10 kg
    lines = {h: api.get(f"/households/{h}").json()[0] for h in ("wang", "li", "zhao")}
    assert sum(float(line["quantity"]) for line in lines.values()) == 30
    # the price is set at closing; once procurement finds no producer (it may already have), nothing is charged
    assert lines["li"]["quantity"] == "3" and lines["li"]["unit_price"] == "9.00"
    assert lines["li"]["amount"] == ("27.00" if lines["li"]["status"] == "ordering" else None)
    assert all(line["status"] in ("ordering", "unsourced") and line["pickup_point"] == "gate-3" for line in lines.values())
    # no producer delivers apples in the pool's window: the pool says so instead of ordering
    deadline = time.monotonic() + 10
    while (proc := api.get(f"/pools/{pid}").json()["procurement"])["state"] != "unsourced" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc["note"].startswith("no_offer:") and proc["orders"] == []
    li = api.get("/households/li").json()[0]
    assert li["status"] == "unsourced" and li["amount"] is None and li["note"].startswith("no_offer:")
    assert api.get("/households/sun").json()[0]["status"] == "withdrawn"

    # an intent id from a closed pool cannot be reused, and trying leaves no trace in a new pool
    other = api.post("/pools", json=pool_body()).json()["pool_id"]
    reused = api.post("/intents", json=intent_body("wang", "2", "5", intent_id=joined[0]["intent_id"], pool_id=other))
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "duplicate_intent", reused.text
    fresh = api.post("/intents", json=intent_body("qian", "2", "5", pool_id=other)).json()
    assert fresh["pool"]["households"] == 1 and fresh["pool"]["pooled_min"] == "2"

    late = api.post("/intents", json=intent_body("late", "2", "5", pool_id=pid))
    assert late.status_code == 409 and late.json()["error"]["code"] == "pool_closed"
    assert api.post(f"/pools/{pid}/close").json()["error"]["code"] == "pool_closed"


def test_a_pool_below_its_moq_fails_and_charges_nobody(buyer_net):
    api = buyer_net.buyers["organiser"].client(timeout=10)
    pid = api.post("/pools", json=pool_body(item_id="pear", moq="100", pickup_points=["depot"])).json()["pool_id"]
    api.post("/intents", json=intent_body("ma", "2", "10", item_id="pear", pickup_point="depot", pool_id=pid))
    closed = api.post(f"/pools/{pid}/close").json()
    assert closed["status"] == "failed" and closed["outcome"]["code"] == "below_moq"
    line = api.get("/households/ma").json()[0]
    assert line["status"] == "failed" and line["quantity"] == "0" and line["amount"] in ("0.00", None)


def test_pool_state_survives_kill_9_mid_close(buyer_net):
    node = buyer_net.buyers["organiser"]
    api = node.client(timeout=30)
    pid = api.post("/pools", json=pool_body(item_id="plum", pickup_points=["hall"], bulk_unit="1", moq="1")).json()["pool_id"]
    for n in range(400):
        resp = api.post("/intents", json=intent_body(f"hh{n}", "1", "3", item_id="plum", pickup_point="hall", pool_id=pid))
        assert resp.status_code == 200, resp.text

    closer = threading.Thread(target=lambda: _ignore_errors(lambda: api.post(f"/pools/{pid}/close")))
    closer.start()
    time.sleep(0.05)
    buyer_net.kill(node)  # SIGKILL, most likely while the close transaction is in flight
    closer.join(30)
    buyer_net.start_node(node)

    api = node.client(timeout=30)
    pool = api.get(f"/pools/{pid}").json()
    lines = [api.get(f"/households/hh{n}").json()[0] for n in range(400)]
    statuses = {line["status"] for line in lines}
    if pool["status"] == "open":  # the close had not committed: nothing of it is visible
        assert statuses == {"joined"} and pool["households"] == 400
        pool = api.post(f"/pools/{pid}/close").json()
        lines = [api.get(f"/households/hh{n}").json()[0] for n in range(400)]
    assert pool["status"] == "allocated"
    # allocated, and being bought (or found unbuyable: this node knows no producer of plums)
    assert {line["status"] for line in lines} <= {"ordering", "unsourced"}
    assert sum(float(line["quantity"]) for line in lines) == float(pool["outcome"]["total"]) == 1200


def _ignore_errors(fn) -> None:  # noqa: ANN001
    try:
        fn()
    except httpx.HTTPError:
        pass


def test_buyer_with_several_workers_is_refused(buyer_net, tmp_path):
    from yuantou.node.config import ConfigError, load_config

    (tmp_path / "node.toml").write_text('subscriber_id = "b"\nurl = "http://127.0.0.1:1/beckn"\nroles = ["buyer"]\n'
                                        'key_file = "k"\ndirectory_url = "http://127.0.0.1:2"\nworkers = 2\n'
                                        'api_token = "a-token-of-24-characters"\n')
    with pytest.raises(ConfigError, match="workers"):
        load_config(tmp_path / "node.toml")


def test_a_node_needs_a_long_enough_token(tmp_path):
    from yuantou.node.config import ConfigError, load_config

    base = ('subscriber_id = "b"\nurl = "http://127.0.0.1:1/beckn"\nroles = ["buyer"]\nkey_file = "k"\n'
            'directory_url = "http://127.0.0.1:2"\n')
    (tmp_path / "node.toml").write_text(base)
    with pytest.raises(ConfigError, match=r"node.toml: api_token: Field required \(the dashboard and business API"):
        load_config(tmp_path / "node.toml")
    (tmp_path / "node.toml").write_text(base + 'api_token = "short"\n')
    with pytest.raises(ConfigError, match="api_token: String should have at least 16 characters"):
        load_config(tmp_path / "node.toml")


def test_pool_cli_open_join_withdraw_list_close(buyer_net):
    import subprocess
    import sys

    node = buyer_net.buyers["organiser"].url

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "yuantou.cli", "pool", *args, "--node", node],
                              capture_output=True, text=True, timeout=60,
                              env={**__import__("os").environ, "COLUMNS": "200",
                                   "YUANTOU_API_TOKEN": buyer_net.buyers["organiser"].token})

    window = f"{WINDOW['window_start']}/{WINDOW['window_end']}"
    opened = cli("open", "--item", "kiwi", "--pickup", "library", "--cutoff", iso(NOW + timedelta(hours=1)),
                 "--window", window, "--bulk-unit", "5", "--moq", "5", "--tier", "0:12", "--tier", "20:11")
    assert opened.returncode == 0, opened.stderr
    pid = opened.stdout.split()[-1]
    wide = f"{iso(NOW)}/{iso(NOW + timedelta(days=3))}"
    for household, lo, hi in (("zhou", "3", "8"), ("wu", "2", "6")):
        joined = cli("join", "--household", household, "--item", "kiwi", "--min", lo, "--max", hi,
                     "--max-price", "12.5", "--pickup", "library", "--window", wide)
        assert joined.returncode == 0 and pid in joined.stdout, joined.stderr
    bad = cli("join", "--household", "qian", "--item", "kiwi", "--min", "-2", "--max", "3", "--max-price", "12",
              "--pickup", "library", "--window", wide)
    assert bad.returncode == 2 and "bad_quantity" in bad.stderr and "min_quantity" in bad.stderr, bad.stderr
    extra = cli("join", "--household", "zheng", "--item", "kiwi", "--min", "1", "--max", "1", "--max-price", "12",
                "--pickup", "library", "--window", wide)
    intent_id = extra.stdout.split()[1]
    assert cli("withdraw", intent_id).returncode == 0
    twice = cli("withdraw", intent_id)
    assert twice.returncode == 2 and "already_withdrawn" in twice.stderr
    listed = cli("list", "--status", "open")
    assert pid in listed.stdout and "5..14 kg" in listed.stdout, listed.stdout
    closed = cli("close", pid)
    assert closed.returncode == 0 and "allocated 10 kg at 12.00 to 2 households" in closed.stdout, closed.stdout


def test_pool_cli_names_a_malformed_field(buyer_net):
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "yuantou.cli", "pool", "open", "--item", "fig", "--pickup", "gate",
                             "--cutoff", "tomorrow", "--window", "a/b", "--bulk-unit", "5", "--tier", "0:12",
                             "--node", buyer_net.buyers["organiser"].url],
                            capture_output=True, text=True, timeout=60,
                            env=os.environ | {"COLUMNS": "200", "YUANTOU_API_TOKEN": buyer_net.buyers["organiser"].token})
    assert result.returncode == 2
    assert "cutoff:" in result.stderr and "window_start:" in result.stderr and "Traceback" not in result.stderr


def test_pool_input_is_checked_where_it_is_given(buyer_net):
    """A cut-off after the delivery starts, a product no producer lists, a time without an offset read as UTC, and
    a refusal naming a pool that was never opened: each was accepted or misread before."""
    api = buyer_net.buyers["organiser"].client(timeout=10)
    late = api.post("/pools", json=pool_body(cutoff=WINDOW["window_end"]))
    assert late.status_code == 400 and late.json()["error"]["path"] == "cutoff", late.text
    assert "before the delivery window starts" in late.json()["error"]["message"]
    nobody = api.post("/pools", json=pool_body(item_id="durian", category=None, grade=None))
    assert nobody.status_code == 400 and nobody.json()["error"]["code"] == "unknown_product", nobody.text
    assert nobody.json()["error"]["path"] == "item_id" and "search" in nobody.json()["error"]["message"]
    # written without an offset, a time is the node's own (pool_utc_offset, +08:00 here)
    local = api.post("/pools", json=pool_body(pickup_points=["library"], window_start="2030-01-05T09:00:00",
                                              window_end="2030-01-05T18:00:00", cutoff="2030-01-04T20:00:00"))
    assert local.status_code == 200, local.text
    assert local.json()["cutoff"] == datetime(2030, 1, 4, 12, 0, tzinfo=UTC).timestamp()
    # a household whose window no pool delivers in: the refusal names no pool that does not exist
    early = api.post("/intents", json=intent_body("sun", "1", "1", pickup_point="nowhere-gate",
                                                  window_start=iso(NOW), window_end=iso(NOW + timedelta(hours=1))))
    assert early.status_code == 400, early.text
    message = early.json()["error"]["message"]
    assert "pool-" not in message or api.get(f"/pools/{message.split('pool-')[1].split()[0]}").status_code == 200


def test_offers_are_refreshed_from_every_listed_producer_and_a_city_without_producers_is_named(buyer_net):
    api = buyer_net.buyers["organiser"].client(timeout=20)
    refreshed = api.post("/offers/refresh").json()
    assert refreshed["last_refresh"]["producers_listed"] == ["market.yuantou.local"] and refreshed["warning"] is None
    sent = refreshed["last_refresh"]["search"]
    assert api.get(f"/messages/{sent['message_id']}", params={"wait": 15}).json()  # the market answered again
    offers = api.get("/offers").json()["offers"]
    assert {o["producer"] for o in offers} == {"market.yuantou.local"} and all(o["seen_at"] for o in offers)
    assert {"plum", "pear"} <= {o["item_id"] for o in offers}

    # a node set up for a city no producer serves says so, rather than finding nothing in silence
    lonely = buyer_net.add_node("lonely", ["buyer"], extra={"city": "std:0999", "offers_refresh_seconds": 3600})
    try:
        client = lonely.client(timeout=20)
        found = wait_for(lambda: client.get("/offers").json()["warning"])  # its refresh at start
        assert "lists no producer for domain" in found and "std:0999" in found, found
    finally:
        buyer_net.kill(lonely)
