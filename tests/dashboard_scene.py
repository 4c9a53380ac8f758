"""A small network with something on every dashboard panel: the browser tests and the README's
screenshots (docs/screenshots.py) both start it.

Orchard (producer) holds ten weeks of imported sales, a capacity twin with stock lots, a
forecast and a plan; it has sold one order point to point and refused one unsigned request.
The organiser (buyer) has an open pool that households are joining.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import LOCAL, PRODUCERS, LocalNetwork, Proc, catalog_document

APPLE, PEAR = "apple-fuji-a", "pear-snow"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def twin_document(regions: list[str], today) -> dict:  # noqa: ANN001
    return {
        "resources": [{"id": "pickers", "name": "Picking crew", "unit": "h", "capacity": 5},
                      {"id": "packhouse", "capacity": 16, "weekly": [16, 16, 16, 16, 16, 8, 0]}],
        "products": [
            {"id": APPLE, "unit": "kg", "price": 8.5, "unit_cost": 3.0, "shelf_life": 10, "holding_cost": 0.05,
             "routings": [{"resource": "pickers", "use": 0.05}]},
            {"id": PEAR, "unit": "kg", "price": 6.0, "unit_cost": 2.0, "shelf_life": 7, "setup_cost": 30,
             "min_batch": 20, "lead_time": 1, "routings": [{"resource": "packhouse", "use": 0.04, "setup_time": 0.5}]},
        ],
        "stock": [{"id": "cold-room-1", "product": APPLE, "quantity": 180, "expires": (today + timedelta(days=3)).isoformat()},
                  {"id": "cold-room-2", "product": APPLE, "quantity": 90, "expires": (today + timedelta(days=6)).isoformat()},
                  {"id": "shed", "product": PEAR, "quantity": 60, "expires": (today + timedelta(days=2)).isoformat()}],
        "lanes": [{"region": r, "cost_per_unit": 0.3, "days": 0} for r in regions],
    }


@dataclass
class Scene:
    net: LocalNetwork
    orchard: Proc
    organiser: Proc
    pool_id: str

    def api(self, proc: Proc) -> NodeClient:
        return NodeClient(proc.url, proc.token)

    def join(self, household: str, lo: str, hi: str, pickup: str = "gate-3") -> dict:
        now = datetime.now(UTC)
        return self.api(self.organiser).post("/api/intents", {
            "household": household, "item_id": APPLE, "min_quantity": lo, "max_quantity": hi, "max_price": "9.50",
            "pickup_point": pickup, "pool_id": self.pool_id, "window_start": iso(now),
            "window_end": iso(now + timedelta(days=3))})


def start_scene(net: LocalNetwork, households: int = 4) -> Scene:
    net.start_directory()
    name, items = PRODUCERS["orchard"]
    orchard = net.add_node("orchard", ["producer"], catalog_document("orchard", name, items),
                           extra={"provider_name": name})
    organiser = net.add_node("organiser", ["buyer"])
    producer, buyer = NodeClient(orchard.url, orchard.token), NodeClient(organiser.url, organiser.token)

    # one order point to point: search, select, init, confirm; the orchard accepts it
    sent = buyer.post("/api/search", {"query": "apple", "bpp_id": orchard.subscriber_id})
    offer = buyer.one_callback(sent["message_id"])["message"]["catalog"]["providers"][0]
    window = (datetime.now(LOCAL).date() + timedelta(days=2)).isoformat()
    confirmed = order_flow(buyer, sent["transaction_id"], orchard.subscriber_id, offer["id"],
                           [{"id": APPLE, "quantity": 120, "unit": "kg"}], window)
    assert not confirmed.get("error"), confirmed
    producer.post(f"/api/orders/{confirmed['message']['order']['id']}/fulfillment", {"state": "Accepted"})
    # a request nobody signed: the orchard NACKs it, and its traffic panel says why
    httpx.post(orchard.url + "/beckn/confirm", json={"context": {"action": "confirm"}, "message": {}}, timeout=10)

    # ten weeks of sales from before the node existed, a twin, a forecast and a plan
    today = datetime.now(UTC).date()
    regions = [organiser.subscriber_id, "walk-in.local"]
    rng = np.random.default_rng(3)
    history = [{"product": product, "region": region, "day": (today - timedelta(days=k)).isoformat(),
                "quantity": float(rng.poisson(base * (1.5 if (today - timedelta(days=k)).weekday() >= 5 else 1.0)))}
               for product, base in ((APPLE, 40), (PEAR, 12)) for region in regions for k in range(1, 71)]
    producer.post("/api/demand/history", history)
    producer.put("/api/twin", twin_document(regions, today))
    producer.wait_job(producer.post("/api/forecast/run", {"horizon": 14, "levels": [80, 95]}))
    producer.wait_job(producer.post("/api/plan/run", {"days": 14}))

    # households at the north gate pool on the orchard's own terms; the pool is closed and bought
    now = datetime.now(UTC)
    for k in range(6):
        joined = buyer.post("/api/intents", {
            "household": f"north-{k + 1}", "item_id": APPLE, "min_quantity": str(3 + k % 3),
            "max_quantity": str(6 + k % 4), "max_price": "9.00", "pickup_point": "north-gate",
            "window_start": iso(now), "window_end": iso(now + timedelta(days=4))})
    bought = joined["pool_id"]
    buyer.post(f"/api/pools/{bought}/close")
    deadline = time.monotonic() + 60
    while (buyer.get(f"/api/pools/{bought}")["procurement"] or {}).get("state") != "ordered":
        assert time.monotonic() < deadline, buyer.get(f"/api/pools/{bought}")
        time.sleep(0.2)

    # an open pool for grade-A Fuji apples, and the first households in it
    pool = buyer.post("/api/pools", {
        "item_id": APPLE, "category": "fruit", "grade": "A", "pickup_points": ["gate-3", "school"],
        "window_start": iso(now + timedelta(days=1)), "window_end": iso(now + timedelta(days=1, hours=6)),
        "cutoff": iso(now + timedelta(hours=3)), "unit": "kg", "step": "0.5", "bulk_unit": "5", "moq": "60",
        "tiers": [{"min_quantity": "0", "price": "9.00"}, {"min_quantity": "100", "price": "8.40"}]})
    scene = Scene(net, orchard, organiser, pool["pool_id"])
    for k in range(households):
        scene.join(f"household-{k + 1}", str(2 + k % 3), str(6 + 2 * k), "gate-3" if k % 2 else "school")
    return scene
