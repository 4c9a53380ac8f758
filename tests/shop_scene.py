"""A producer and an organiser's node with pools open for households: the storefront's HTTP and browser tests,
its benchmark and the README's screenshots start it.

The producer (a Chinese orchard co-op) sells Fuji apples with all-units tiers; the organiser's node runs in
Asia/Shanghai and has searched the producer, so its storefront shows the source. ``open_pool`` opens a pool
for tomorrow's pickup at two points, the way the organiser's console does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from yuantou.devnet.localnet import LocalNetwork, Proc, catalog_document, window_times

APPLE = "apple-fuji-a"
POINTS = ("东门 East Gate", "幸福小区 3号楼")
TIERS = [{"min_quantity": "0", "price": "9.00"}, {"min_quantity": "20", "price": "8.50"},
         {"min_quantity": "60", "price": "8.00"}]


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class ShopScene:
    net: LocalNetwork
    producer: Proc
    organiser: Proc

    @property
    def api(self) -> httpx.Client:
        return self.organiser.client(timeout=20)

    def open_pool(self, cutoff_in: timedelta = timedelta(hours=3), **terms: object) -> str:
        day = datetime.fromisoformat(window_times(1)[0].replace("Z", "+00:00"))  # tomorrow 06:00 local
        body = {"item_id": APPLE, "pickup_points": list(POINTS), "window_start": iso(day + timedelta(hours=2)),
                "window_end": iso(day + timedelta(hours=6)), "cutoff": iso(datetime.now(UTC) + cutoff_in),
                "unit": "kg", "step": "0.5", "bulk_unit": "5", "tiers": TIERS, **terms}
        answer = self.api.post("/pools", json=body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["pool_id"])


def start_shop(root, database: str = "sqlite") -> ShopScene:  # noqa: ANN001
    net = LocalNetwork(root, database=database)
    net.start_directory()
    catalog = catalog_document("orchard", "山坡果园合作社 Hillside Orchard Co-op",
                               [(APPLE, "红富士苹果 Fuji apples, grade A", "fruit", "kg", 9.0, 2000)])
    catalog["provider"]["place"] = "山东烟台 Yantai, Shandong"
    catalog["items"][0].update(grade="A", bulk_unit="5", tiers=[{"min_quantity": "20", "price": "8.5"},
                                                                  {"min_quantity": "60", "price": "8.0"}])
    started = [net.add_node("orchard", ["producer"], catalog, wait=False),
               net.add_node("organiser", ["buyer"], extra={"time_zone": "Asia/Shanghai",
                                                           "provider_name": "幸福团 Happy Neighbours"}, wait=False)]
    net.wait_started(started)
    scene = ShopScene(net, net.producers["orchard"], net.buyers["organiser"])
    sent = scene.api.post("/search", json={"query": ""}).json()
    assert scene.api.get(f"/messages/{sent['message_id']}", params={"wait": 15}).json()
    return scene


class Household:
    """A phone at the storefront, as a browser would be: its own cookies, forms sent from the node's pages."""

    def __init__(self, scene: ShopScene, language: str = "en") -> None:
        self.base = scene.organiser.url
        self.http = httpx.Client(base_url=self.base, timeout=20, follow_redirects=False,
                                 headers={"Accept-Language": language, "Origin": self.base})

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def csrf(self, path: str = "/shop") -> str:
        page = self.get(path)
        found = re.search(r'name="csrf" value="([0-9a-f]*)"', page.text)
        assert found, f"no form token on {path} ({page.status_code}): {page.text[:500]}"
        return found.group(1)

    def post(self, path: str, **fields: str) -> httpx.Response:
        return self.http.post(path, data=fields)

    def register(self, name: str, phone: str, back: str = "/shop") -> httpx.Response:
        return self.post("/shop/register", name=name, phone=phone, next=back, csrf="")

    def join(self, pool_id: str, quantity: str, back: str = "/shop", **more: str) -> httpx.Response:
        return self.post("/shop/join", pool_id=pool_id, pickup_point=POINTS[0], quantity=quantity, back=back,
                         csrf=self.csrf(back), **more)

    def personal_link(self) -> str:
        """The path that opens this household's orders on another phone, as "Show a new personal link" gives it."""
        shown = self.post("/shop/personal-link", csrf=self.csrf("/shop/orders"))
        link = re.search(r'<p class="mono">https?://[^/]+(/shop/me/[^<]+)</p>', shown.text)
        assert shown.status_code == 200 and link, shown.text[:1000]
        return link.group(1)
