"""The directory under outside probes: who may register or change an id, what the gateway relays, what its
errors give away, and how it takes malformed, oversized and deeply nested bodies. Every request comes from
``stranger.Stranger`` (cryptography and the standard library only)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from conftest import storage
from stranger import Stranger, get, post, wait_until

from yuantou.devnet.localnet import LocalNetwork
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import Database
from yuantou.store.tables import subscribers

CLI = [sys.executable, "-m", "yuantou.cli"]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    network = LocalNetwork(tmp_path_factory.mktemp("directory-probes"), database=storage())
    try:
        network.start_directory("--subscribes-per-minute", "3000")  # probes come fast; the limit has its own test
        yield network
    finally:
        network.stop()


@pytest.fixture
def strangers():
    made: list[Stranger] = []

    def make(subscriber_id: str, **kw) -> Stranger:  # noqa: ANN003
        made.append(Stranger(subscriber_id, **kw))
        return made[-1]

    yield make
    for s in made:
        s.close()


def rows_of(net: LocalNetwork, subscriber_id: str) -> list[dict]:
    db = Database(net.directory_db)
    try:
        return [dict(r) for r in db.transaction(lambda c: c.execute(
            subscribers.select().where(subscribers.c.subscriber_id == subscriber_id)).mappings().all())]
    finally:
        db.close()


def test_a_new_id_is_taken_by_its_own_key_and_no_one_else_can_change_it(net, strangers):
    directory = net.directory.url
    victim = strangers("victim.probe")
    assert victim.subscribe(directory).status == 200
    before = victim.lookup(directory, subscriber_id="victim.probe")
    assert [(e["key_id"], e["url"], e["signing_public_key"]) for e in before] == [
        ("stranger-k1", victim.url, victim.signing_public)]

    attacker = strangers("victim.probe", key_id="attacker-k9")  # claims the victim's id, own key and URL
    taken = attacker.subscribe(directory)
    assert taken.status == 401 and taken.ack == "NACK"
    assert "already registered" in taken.error["message"]
    same_key_id = strangers("victim.probe")  # the victim's key id, another key
    replaced = same_key_id.subscribe(directory)
    assert replaced.status == 409 and "already names another public key" in replaced.error["message"]
    assert replaced.error["paths"] == "$.key_id"
    # an id is not taken by a key it never held, even one that signs its own (new) key id
    signed_by_attacker = attacker.subscribe(directory, key_id="stranger-k1", signing_public=victim.signing_public)
    assert signed_by_attacker.status == 401
    assert victim.lookup(directory, subscriber_id="victim.probe") == before
    assert not any(r["url"] != victim.url for r in rows_of(net, "victim.probe"))
    assert not [r for r in attacker.received if r["path"].endswith("/on_subscribe")], "no challenge went out"


def test_the_holder_of_a_valid_key_changes_the_id_and_a_new_key_self_signed_is_refused(net, strangers):
    directory = net.directory.url
    node = strangers("rotating.probe")
    assert node.subscribe(directory, "BPP").status == 200
    fresh = Stranger("rotating.probe", key_id="stranger-k2")
    try:
        # a new key signing for itself: the way an attacker would; refused
        alone = fresh.subscribe(directory, "BPP")
        assert alone.status == 401
        # the same new key, the request signed by the key the id holds: accepted (rotation)
        body = fresh.subscription(directory, "BPP")
        rotated = fresh.send(directory + "/subscribe", body, key=node.signing, key_id="stranger-k1")
        assert rotated.status == 200, rotated.body
        assert {e["key_id"] for e in node.lookup(directory, subscriber_id="rotating.probe")} == {
            "stranger-k1", "stranger-k2"}
        # and the URL moves only on a held key's word (the new URL answers the challenge for the node's key)
        fresh.encryption = node.encryption
        moved = node.subscription(directory, "BPP", url=fresh.url)
        assert node.send(directory + "/subscribe", moved).status == 200
        assert {e["url"] for e in node.lookup(directory, subscriber_id="rotating.probe", key_id="stranger-k1")} == {
            fresh.url}
    finally:
        fresh.close()


def test_nothing_is_written_until_the_challenge_is_answered_and_failures_look_alike(net, strangers):
    directory = net.directory.url
    silent = strangers("silent.probe", answer_challenges=False)
    # a closed port, a port that speaks no HTTP, an HTTP server that does not answer the challenge
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/beckn"
    closed.close()
    raw = socket.socket()
    raw.bind(("127.0.0.1", 0))
    raw.listen(8)
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            try:
                conn, _ = raw.accept()
                conn.recv(100)
                conn.close()
            except OSError:
                return

    threading.Thread(target=hang_up, daemon=True).start()
    raw_url = f"http://127.0.0.1:{raw.getsockname()[1]}/beckn"
    try:
        messages = set()
        for url in (closed_url, raw_url, silent.url):
            answer = silent.subscribe(directory, url=url)
            assert answer.status == 401 and answer.ack == "NACK", answer
            messages.add(answer.error["message"].replace(url, "URL"))
        assert len(messages) == 1, messages  # one generic failure: no map of the directory's network
        assert "challenge" in messages.pop()
        assert rows_of(net, "silent.probe") == [], "a failed attempt writes nothing"
    finally:
        stop.set()
        raw.close()


def test_a_subscriber_url_at_the_directory_itself_is_refused(net, strangers):
    directory = net.directory.url
    port = directory.rsplit(":", 1)[1]
    loop = strangers("loop.probe")
    for url in (directory, f"http://localhost:{port}/beckn", f"http://0.0.0.0:{port}", f"http://127.0.0.2:{port}/x"):
        answer = loop.subscribe(directory, "BPP", url=url)
        assert answer.status == 400 and answer.error["paths"] == "$.url", (url, answer)
    assert rows_of(net, "loop.probe") == []


def test_the_gateway_relays_each_search_once_and_never_to_itself(net, strangers):
    directory = net.directory.url
    producer = strangers("relay-producer.probe")
    assert producer.subscribe(directory, "BPP", city="std:relay").status == 200  # the only producer in its city
    buyer = strangers("relay-buyer.probe")
    assert buyer.subscribe(directory, "BAP", city="std:relay").status == 200
    # an entry at the gateway's own URL, put in the store behind the registry's back (as an older version let
    # an attacker do): relays must skip it
    net.register("mirror.probe", directory, ["BPP"], KeyPair.generate(), "mirror-k1", city="std:relay")
    before = get(directory + "/").json()["gateway"]
    context = buyer.context("search", "", "", location={"city": {"code": "std:relay"}, "country": {"code": "CHN"}})
    context.pop("bpp_id"), context.pop("bpp_uri")
    payload = {"context": context, "message": {"intent": {"item": {"descriptor": {"name": "apple"}}}}}
    first = buyer.send(directory + "/search", payload)
    again = buyer.send(directory + "/search", payload)  # a retry of the same message
    assert first.ack == "ACK" and again.ack == "ACK"
    assert wait_until(lambda: producer.callbacks("search"), timeout=10)
    after = get(directory + "/").json()["gateway"]
    assert after["searches"] - before["searches"] == 2
    assert after["forwarded"] - before["forwarded"] == 1, "one relay, to the producer only"
    assert len(producer.callbacks("search")) == 1
    # a search already relayed by a gateway is not relayed again
    relayed = producer.callbacks("search")[0]
    echoed = post(directory + "/search", relayed["body"], {
        "Authorization": relayed["headers"]["Authorization"],
        "X-Gateway-Authorization": relayed["headers"]["X-Gateway-Authorization"]})
    assert echoed.status == 400 and "already relayed" in echoed.error["message"]


def test_lookup_answers_both_shapes_and_refuses_malformed_criteria(net, strangers):
    directory = net.directory.url
    known = strangers("shape.probe")
    assert known.subscribe(directory).status == 200
    (entry,) = known.lookup(directory, subscriber_id="shape.probe")
    assert entry["url"] == entry["subscriber_url"] == known.url
    assert entry["key_id"] == entry["ukId"] == "stranger-k1"
    assert entry["signing_public_key"] == known.signing_public
    assert {"valid_from", "valid_until", "status", "city", "country"} <= set(entry)
    (by_ukid,) = known.lookup(directory, subscriber_id="shape.probe", ukId="stranger-k1")
    assert by_ukid == entry
    for criteria, path in (({"subscriber_id": {"$ne": 1}}, "$.subscriber_id"), ({"type": ["BAP"]}, "$.type"),
                           ({"location": "std:080"}, "$.location"), ([1, 2], "$"), ("shape.probe", "$")):
        answer = post(directory + "/lookup", json.dumps(criteria).encode())
        assert answer.status == 400 and answer.error["paths"] == path, (criteria, answer)


def test_registry_bodies_are_bounded_in_size_and_depth(net, strangers):
    directory = net.directory.url
    prober = strangers("bounded.probe")
    deep = b"[" * 1000 + b"]" * 1000
    for path in ("/lookup", "/subscribe", "/search", "/on_search"):
        answer = post(directory + path, deep, {"Authorization": prober.sign(deep)})
        assert answer.status == 400 and answer.ack == "NACK" and "nested" in answer.error["message"], (path, answer)
    big = json.dumps({**prober.subscription(directory), "padding": "x" * 100_000}).encode()
    answer = post(directory + "/subscribe", big, {"Authorization": prober.sign(big)})
    assert answer.status == 413 and answer.ack == "NACK"
    assert rows_of(net, "bounded.probe") == []


def test_an_operator_resets_a_lost_key(net, strangers, tmp_path):
    directory = net.directory.url
    lost = strangers("lost.probe")
    assert lost.subscribe(directory, "BPP").status == 200
    replacement = Stranger("lost.probe", key_id="stranger-k2")
    try:
        done = subprocess.run(CLI + ["directory", "reset-keys", "--db", net.directory_db, "--subscriber-id",
                                     "lost.probe", "--key-id", "stranger-k2", "--signing-public-key",
                                     replacement.signing_public], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        again = subprocess.run(CLI + ["directory", "reset-keys", "--db", net.directory_db, "--subscriber-id",
                                      "lost.probe", "--key-id", "stranger-k2", "--signing-public-key",
                                      replacement.signing_public], capture_output=True, text=True, timeout=60)
        assert again.returncode == 2 and "already has a key stranger-k2" in again.stderr
        assert "Traceback" not in again.stderr
        listed = {e["key_id"]: e for e in lost.lookup(directory, subscriber_id="lost.probe")}
        assert listed["stranger-k2"]["signing_public_key"] == replacement.signing_public
        # the old key ended now, and no longer changes the id
        ended = datetime.fromisoformat(listed["stranger-k1"]["valid_until"].replace("Z", "+00:00"))
        assert ended <= datetime.now(UTC) + timedelta(seconds=1)
        stale = lost.subscription(directory, "BPP", url=lost.url + "/elsewhere")
        assert lost.send(directory + "/subscribe", stale).status == 401
        moved = replacement.subscription(directory, "BPP")
        assert replacement.send(directory + "/subscribe", moved).status == 200
    finally:
        replacement.close()


def test_subscription_attempts_are_rate_limited(strangers, tmp_path):
    net = LocalNetwork(tmp_path, database=storage())
    try:
        directory = net.start_directory().url  # the default limits
        flood = strangers("flood.probe", answer_challenges=False)
        answers = [flood.subscribe(directory, url=f"http://127.0.0.1:9/{i}") for i in range(12)]
    finally:
        net.stop()
    limited = [a for a in answers if a.status == 429]
    assert limited, [a.status for a in answers]
    assert limited[0].headers.get("retry-after", "").isdigit()
    assert "too many" in limited[0].error["message"]


def test_a_challenge_approves_only_its_own_row_and_stale_pending_rows_go(net, strangers):
    """A pending row (as older versions left them) is neither approved by another row's challenge nor kept."""
    directory = net.directory.url
    node = strangers("pending.probe")
    db = Database(net.directory_db)
    now = datetime.now(UTC)
    try:
        def pending(conn, beckn_type: str, when: datetime) -> None:  # noqa: ANN001
            conn.execute(subscribers.insert().values(
                subscriber_id="pending.probe" if beckn_type == "BAP" else "stale.probe", key_id="stranger-k1",
                url=node.url, type=beckn_type, domain="yuantou:agri", city="std:0571", country="CHN",
                signing_public_key=node.signing_public, encr_public_key=node.encryption_public, valid_from=now,
                valid_until=now + timedelta(days=1), status="UNDER_SUBSCRIPTION", created=when, updated=when))
        db.transaction(lambda c: pending(c, "BAP", now))
        db.transaction(lambda c: pending(c, "BPP", now - timedelta(hours=1)))
    finally:
        db.close()
    assert node.subscribe(directory, "BPP").status == 200  # the same id and key, another role
    states = {(r["type"], r["status"]) for r in rows_of(net, "pending.probe")}
    assert states == {("BAP", "UNDER_SUBSCRIPTION"), ("BPP", "SUBSCRIBED")}, states
    assert rows_of(net, "stale.probe") == [], "a pending row older than ten minutes is dropped"
