"""A closed pool is bought from several producers on loopback, and re-bought when producers fail mid-way."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
from conftest import storage
from sqlalchemy import select

from yuantou.buyer.bought_pools import BoughtPools, versions
from yuantou.buyer.pool_lists import pick_lists, purchase_lists
from yuantou.devnet.localnet import LocalNetwork, catalog_document, window_times
from yuantou.store.db import Database
from yuantou.store.tables import outbox


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def wait_for(check, timeout: float = 30, every: float = 0.2):  # noqa: ANN001
    """Poll ``check()`` until it returns something truthy; fail with the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting; last value: {value!r}")
        time.sleep(every)


def start_market(tmp_path, producers: dict[str, tuple[float, int]], ttl: str = "PT4S") -> tuple[LocalNetwork, httpx.Client]:
    """Producers selling the same apples (price, capacity), and an organiser's buyer node that has searched them."""
    net = LocalNetwork(tmp_path, database=storage())
    net.start_directory()
    for name, (price, capacity) in producers.items():
        catalog = catalog_document(name, f"{name} orchard", [("apple", "Fuji apples", "fruit", "kg", price, capacity)])
        catalog["items"][0].update(grade="A", bulk_unit="10")
        net.add_node(name, ["producer"], catalog)
    buyer = net.add_node("organiser", ["buyer"], extra={"request_ttl": ttl})
    api = buyer.client(timeout=20)
    sent = api.post("/search", json={"query": "apple"}).json()
    found = api.get(f"/messages/{sent['message_id']}", params={"wait": 15, "count": len(producers)}).json()
    assert len(found) == len(producers)
    return net, api


def open_and_fill(api: httpx.Client, households: dict[str, tuple[str, str]]) -> str:
    """A pool for tomorrow morning at two pickup points; each household asks for an exact quantity."""
    day = datetime.fromisoformat(window_times(2)[0].replace("Z", "+00:00"))  # producers deliver from 06:00 local
    pool = api.post("/pools", json={
        "item_id": "apple", "pickup_points": ["gate-3", "school"], "window_start": iso(day + timedelta(hours=2)),
        "window_end": iso(day + timedelta(hours=6)), "cutoff": iso(datetime.now(UTC) + timedelta(hours=1)),
        "unit": "kg", "bulk_unit": "10", "tiers": [{"min_quantity": "0", "price": "9.50"}]}).json()
    for household, (point, quantity) in households.items():
        joined = api.post("/intents", json={
            "household": household, "item_id": "apple", "min_quantity": quantity, "max_quantity": quantity,
            "max_price": "10", "pickup_point": point, "window_start": iso(day), "window_end": iso(day + timedelta(hours=14)),
            "pool_id": pool["pool_id"]})
        assert joined.status_code == 200, joined.text
    return pool["pool_id"]


def procurement(api: httpx.Client, pool_id: str) -> dict:
    return api.get(f"/pools/{pool_id}").json()["procurement"]


def live(proc: dict) -> list[dict]:
    return [o for o in proc["orders"] if o["stage"] in ("select", "init", "confirm", "confirmed")]


def kept_lists(net: LocalNetwork, kept: BoughtPools) -> tuple[dict, dict]:
    """Read the dashboard's kept pick and purchase lists at a moment no pool changed, and check them against
    the lists derived from scratch in the same transaction. Returns (the pools' versions, the pick lists)."""
    db = Database(net.buyers["organiser"].db_url)
    try:
        for _ in range(50):
            before, picks, purchases, fresh, after = db.transaction(lambda c: (
                versions(c), kept.pick_lists(c), kept.purchase_lists(c), (pick_lists(c), purchase_lists(c)),
                versions(c)))
            if before == after:
                assert (picks, purchases) == fresh
                return before, picks
            time.sleep(0.1)
    finally:
        db.close()
    raise AssertionError("the organiser's pools never stood still for a read")


def test_a_pool_is_bought_across_producers_and_re_sourced_when_producers_fail(tmp_path, official_schema):
    net, api = start_market(tmp_path, {"hill": (8.0, 100), "valley": (8.5, 100), "ridge": (9.0, 300)})
    try:
        households = {f"g{i}": ("gate-3", "10") for i in range(12)} | {f"s{i}": ("school", "10") for i in range(6)}
        pool_id = open_and_fill(api, households)
        net.kill(net.producers["valley"])  # valley will never answer its select
        closed = api.post(f"/pools/{pool_id}/close").json()
        assert closed["outcome"]["total"] == "180" and closed["outcome"]["unit_price"] == "9.50"

        # cheapest sourcing is hill 100 + valley 80; valley times out and its 80 go to ridge (hill is full)
        bought = wait_for(lambda: (p := procurement(api, pool_id))["state"] == "ordered" and p)
        by_producer = {o["producer"]: o for o in bought["orders"]}
        assert by_producer["valley.yuantou.local"]["stage"] == "timed_out"
        assert "ttl" in by_producer["valley.yuantou.local"]["reason"]
        assert {(o["producer"], o["quantity"]) for o in live(bought)} == {
            ("hill.yuantou.local", "100"), ("ridge.yuantou.local", "80")}
        assert all(o["stage"] == "confirmed" and o["order_id"] for o in live(bought))
        lines = api.get("/households/g0").json()
        assert lines[0]["status"] == "ordered" and lines[0]["quantity"] == "10" and lines[0]["amount"] == "95.00"
        dashboard_lists = BoughtPools()  # the organiser's dashboard keeps each pool's lists between polls
        first, _ = kept_lists(net, dashboard_lists)
        derived = dashboard_lists.derived
        assert derived >= 1
        again, _ = kept_lists(net, dashboard_lists)
        assert again == first and dashboard_lists.derived == derived  # nothing changed: nothing derived again

        # the organiser's node restarts (kill -9): the orders and what it learned from catalogs are kept
        net.kill(net.buyers["organiser"])
        net.start_node(net.buyers["organiser"])
        assert procurement(api, pool_id) == bought

        # hill confirms, then refuses the order: its 100 are bought from ridge instead
        hill = net.producers["hill"].client(timeout=10)
        hill_order = by_producer["hill.yuantou.local"]["order_id"]
        assert hill.post(f"/orders/{hill_order}/fulfillment", json={"state": "Refused"}).status_code == 200
        rebought = wait_for(lambda: (p := procurement(api, pool_id))["state"] == "ordered"
                            and not any(o["producer"].startswith("hill") for o in live(p)) and p)
        assert sorted(o["quantity"] for o in live(rebought)) == ["100", "80"]
        assert {o["producer"] for o in live(rebought)} == {"ridge.yuantou.local"}
        refused = next(o for o in rebought["orders"] if o["producer"].startswith("hill"))
        assert refused["stage"] == "refused" and refused["order_status"] == "CANCELLED"
        kept_lists(net, dashboard_lists)
        assert dashboard_lists.derived > derived  # the re-sourced pool was derived again

        # conservation: households' lines = pick lists = purchase lists = producers' own orders = 180 kg
        picks = api.get("/pick-lists").json()
        assert {p: len(rows) for p, rows in picks.items()} == {"gate-3": 12, "school": 6}
        assert sum(float(r["quantity"]) for rows in picks.values() for r in rows) == 180
        assert all(r["status"] == "ordered" and r["from"][0]["producer"] == "ridge.yuantou.local"
                   for rows in picks.values() for r in rows)
        # the same lists as a spreadsheet, in the reader's language, amounts with their currency
        sheet = api.get("/pick-lists.csv", headers={"Accept-Language": "zh-CN"})
        assert sheet.headers["content-type"].startswith("text/csv") and sheet.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
        assert rows[0][:4] == ["自提点", "住户", "商品", "数量"] and len(rows) == 1 + 18
        assert {r[5] for r in rows[1:]} == {"¥95.00"} and {r[0] for r in rows[1:]} == {"gate-3", "school"}
        english = list(csv.reader(io.StringIO(api.get("/pick-lists.csv").content.decode("utf-8-sig"))))
        assert english[0][0] == "Pickup point" and {r[5] for r in english[1:]} == {"CNY\u00a095.00"}
        purchases = api.get("/purchase-lists").json()
        assert list(purchases) == ["ridge.yuantou.local"]
        assert sum(float(o["quantity"]) for o in purchases["ridge.yuantou.local"]) == 180
        delivered_to = {}
        for o in purchases["ridge.yuantou.local"]:
            for point, q in o["deliver_to"].items():
                delivered_to[point] = delivered_to.get(point, 0) + float(q)
        assert delivered_to == {"gate-3": 120, "school": 60}
        ridge = net.producers["ridge"].client(timeout=10)
        ridge_orders = [o for o in ridge.get("/orders").json() if o["status"] == "ACTIVE"]
        assert sorted(o["order"]["items"][0]["quantity"]["selected"]["measure"]["value"] for o in ridge_orders) == ["100", "80"]
        tags = {t["descriptor"]["code"]: t["value"] for t in ridge_orders[0]["order"]["tags"][0]["list"]}
        assert tags["pool_id"] == pool_id and tags["pooled_quantity"] == "180" and tags["households"] == "18"
        assert tags["pickup_points"] == "gate-3,school"

        # each allocated line has its pickup code; nothing can be handed out before its goods leave the producer
        codes = {h: api.get(f"/households/{h}").json()[0]["pickup_code"] for h in households}
        assert all(len(c) == 8 and c.isdigit() for c in codes.values())
        assert len({codes[h] for h in households if households[h][0] == "gate-3"}) == 12  # unique at the point
        early = api.post("/pickup-points/gate-3/hand-out", json={"code": codes["g0"]})
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_arrived", early.text

        # the producer's progress reaches every household's line
        for o in ridge_orders:
            assert ridge.post(f"/orders/{o['order_id']}/fulfillment", json={"state": "Shipped"}).status_code == 200
        wait_for(lambda: all(api.get(f"/households/{h}").json()[0]["status"] == "shipped" for h in ("g0", "s5")))
        _, kept = kept_lists(net, dashboard_lists)
        assert {r["status"] for rows in kept.values() for r in rows} == {"shipped"}

        # the organiser hands g0's line out by its code: its final state, seen by the household; once only
        handed = api.post("/pickup-points/gate-3/hand-out", json={"code": codes["g0"][:4] + " " + codes["g0"][4:]})
        assert handed.status_code == 200 and handed.json()["household"] == "g0", handed.text
        assert api.get("/households/g0").json()[0]["status"] == "handed_out"
        again = api.post("/pickup-points/gate-3/hand-out", json={"code": codes["g0"]})
        assert again.status_code == 409 and again.json()["error"]["code"] == "already_handed_out"
        elsewhere = api.post("/pickup-points/school/hand-out", json={"code": codes["g1"]})  # g1 collects at gate-3
        assert elsewhere.status_code == 404 and elsewhere.json()["error"]["code"] == "unknown_code"
        sheet = api.get("/pickup-points/gate-3/hand-out").json()
        assert (sheet["handed_out"], sheet["left"]) == (1, 11) and "g0" not in sheet["not_collected"]
        assert sorted(sheet["not_collected"]) == sorted(f"g{i}" for i in range(1, 12))

        # every pooled order the organiser sent is valid Beckn core 1.1.1 and carries the pool
        db = Database(net.buyers["organiser"].db_url)
        try:
            sent = db.transaction(lambda c: c.execute(select(outbox.c.action, outbox.c.body).where(
                outbox.c.action.in_(("select", "init", "confirm")))).all())
        finally:
            db.close()
        assert {a for a, _ in sent} == {"select", "init", "confirm"}
        for action, body in sent:
            payload = json.loads(body)
            assert official_schema(action, payload, formats=True) == [], action
            assert payload["message"]["order"]["tags"][0]["descriptor"]["code"] == "yuantou.pool"
    finally:
        net.stop()


def test_a_pool_no_producers_can_supply_says_why_and_orders_nothing(tmp_path):
    net, api = start_market(tmp_path, {"hill": (8.0, 50), "ridge": (9.0, 40)})
    try:
        pool_id = open_and_fill(api, {f"h{i}": ("gate-3", "10") for i in range(12)})
        api.post(f"/pools/{pool_id}/close")
        failed = wait_for(lambda: (p := procurement(api, pool_id))["state"] == "unsourced" and p)
        assert failed["orders"] == [] and failed["note"].startswith("capacity:")
        assert "at most 90 of the 120" in failed["note"]
        line = api.get("/households/h0").json()[0]
        assert line["status"] == "unsourced" and line["amount"] is None and "capacity" in line["note"]
        assert api.get("/purchase-lists").json() == {} and api.get("/pick-lists").json() == {}
        again = api.post(f"/pools/{pool_id}/resource")
        assert again.status_code == 200
        assert wait_for(lambda: procurement(api, pool_id)["state"] == "unsourced")
        twice = api.post(f"/pools/{pool_id}/resource")
        assert twice.status_code == 200  # still unsourced: may be retried again, never double-ordered
        assert all(o["stage"] != "confirmed" for o in procurement(api, pool_id)["orders"])
    finally:
        net.stop()


def apple_record(name: str, price: float, capacity: int) -> dict:
    """The apples item as ``start_market`` lists it, with another capacity per window (a producer's edit)."""
    catalog = catalog_document(name, f"{name} orchard", [("apple", "Fuji apples", "fruit", "kg", price, capacity)])
    return {**catalog["items"][0], "grade": "A", "bulk_unit": "10"}


def test_pools_share_a_producers_capacity(tmp_path):
    """Two pools sourced from one catalog: the second knows what the first took of the cheap producer's window,
    so it never asks for more than is left (before, it ordered 40 of hill's last 10 and was refused)."""
    net, api = start_market(tmp_path, {"hill": (8.0, 50), "ridge": (9.0, 300)})
    try:
        first = open_and_fill(api, {f"a{i}": ("gate-3", "10") for i in range(4)})
        api.post(f"/pools/{first}/close")
        bought = wait_for(lambda: (p := procurement(api, first))["state"] == "ordered" and p)
        assert {(o["producer"], o["quantity"]) for o in live(bought)} == {("hill.yuantou.local", "40")}
        second = open_and_fill(api, {f"b{i}": ("school", "10") for i in range(4)})
        api.post(f"/pools/{second}/close")
        bought = wait_for(lambda: (p := procurement(api, second))["state"] == "ordered" and p)
        assert [o for o in bought["orders"] if o["stage"] == "refused"] == [], bought["orders"]
        from_hill = sum(int(o["quantity"]) for o in live(bought) if o["producer"] == "hill.yuantou.local")
        assert from_hill <= 10 and sum(int(o["quantity"]) for o in live(bought)) == 40
    finally:
        net.stop()


def test_a_producer_that_refused_a_pool_is_asked_again_once_it_has_room(tmp_path):
    """Hill sells out behind the organiser's back and refuses a pool, which is left unsourced; once hill's catalog
    comes again with room, sourcing the pool again asks hill again (before, it never would)."""
    net, api = start_market(tmp_path, {"hill": (8.0, 50)})
    hill = net.producers["hill"].client(timeout=10)
    try:
        assert hill.put("/catalog/items", json=[apple_record("hill", 8.0, 10)]).status_code == 200
        pool_id = open_and_fill(api, {f"h{i}": ("gate-3", "10") for i in range(4)})
        api.post(f"/pools/{pool_id}/close")
        failed = wait_for(lambda: (p := procurement(api, pool_id))["state"] == "unsourced" and p)
        assert [o["stage"] for o in failed["orders"]] == ["refused"]
        assert hill.put("/catalog/items", json=[apple_record("hill", 8.0, 100)]).status_code == 200
        sent = api.post("/search", json={"query": "apple"}).json()
        assert api.get(f"/messages/{sent['message_id']}", params={"wait": 15}).json()
        assert api.post(f"/pools/{pool_id}/resource").status_code == 200
        bought = wait_for(lambda: (p := procurement(api, pool_id))["state"] == "ordered" and p)
        assert {(o["producer"], o["quantity"], o["stage"]) for o in live(bought)} == {
            ("hill.yuantou.local", "40", "confirmed")}
    finally:
        net.stop()
