"""Pools open on producers' own terms: a buyer learns bulk units, MOQs and tiers from on_search catalogs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from conftest import storage

from yuantou.devnet.localnet import LOCAL, LocalNetwork, catalog_document


def test_an_intent_opens_a_pool_on_the_cheapest_producers_terms(tmp_path):
    net = LocalNetwork(tmp_path, database=storage())
    try:
        net.start_directory()
        for name, price, bulk in (("hill", 9.0, "10"), ("valley", 8.0, "20")):
            catalog = catalog_document(name, f"{name} orchard", [("apple", "Fuji apples", "fruit", "kg", price, 900)])
            catalog["items"][0].update(grade="A", bulk_unit=bulk, moq="40", delivery={"fixed": "20", "per_unit": "0.1"},
                                       tiers=[{"min_quantity": "200", "price": str(price - 0.5)}])
            net.add_node(name, ["producer"], catalog)
        now = datetime.now(UTC)
        cutoff = (now + timedelta(minutes=61)).astimezone(LOCAL).strftime("%H:%M")
        buyer = net.add_node("organiser", ["buyer"], extra={
            "pool_cutoff": cutoff, "pool_pickup": "08:00-17:00", "pool_utc_offset": "+08:00", "pool_step": "0.5"})
        api = buyer.client(timeout=20)
        sent = api.post("/search", json={"query": "apple"}).json()
        found = api.get(f"/messages/{sent['message_id']}", params={"wait": 10, "count": 2}).json()
        assert len(found) == 2

        def join(household: str, point: str, item: str = "apple") -> httpx.Response:
            return api.post("/intents", json={
                "household": household, "item_id": item, "min_quantity": "2.5", "max_quantity": "6",
                "max_price": "9.50", "pickup_point": point, "window_start": now.isoformat(),
                "window_end": (now + timedelta(days=4)).isoformat()})

        first = join("wang", "gate-3").json()
        assert "pool" in first, first
        pool = first["pool"]
        assert pool["bulk_unit"] == "20" and pool["moq"] == "40"  # valley is cheaper: its terms
        assert [t["price"] for t in pool["tiers"]] == ["8.00", "7.50"] and pool["tiers"][1]["min_quantity"] == "200"
        assert pool["unit"] == "kg" and pool["currency"] == "CNY" and pool["pickup_points"] == ["gate-3"]
        cut = datetime.fromtimestamp(pool["cutoff"], LOCAL)
        assert cut.strftime("%H:%M") == cutoff and 0 < pool["cutoff"] - now.timestamp() <= 86400
        assert join("li", "gate-3").json()["pool_id"] == first["pool_id"]
        unknown = join("zhao", "gate-3", item="durian")
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_product"

        net.kill(buyer)  # what the buyer learned from catalogs survives a restart
        net.start_node(buyer)
        api = buyer.client(timeout=20)
        other = join("sun", "school").json()
        assert other["pool_id"] != first["pool_id"] and other["pool"]["bulk_unit"] == "20"
        assert api.get(f"/pools/{first['pool_id']}").json()["households"] == 2
    finally:
        net.stop()
