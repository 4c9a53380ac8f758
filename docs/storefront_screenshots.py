"""Screenshots of the households' storefront (phone size, Chinese) and the organiser's console for the README:
``python docs/storefront_screenshots.py``.

Starts the storefront tests' scene (tests/shop_scene.py) on 127.0.0.1: households join a pool, a second pool
is bought from the producer and shipped, and one line is handed out; then photographs it with Playwright and
Debian's Chromium.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from playwright.sync_api import sync_playwright  # noqa: E402
from shop_scene import POINTS, Household, start_shop  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
NEIGHBOURS = [("王阿姨", "13800138000", "10"), ("李先生", "13900001111", "6"), ("张家", "13700002222", "4"),
              ("陈奶奶", "13600003333", "5")]  # 25 kg: whole 5 kg crates, so everyone gets what they asked


TWIN = {"resources": [{"id": "pickers", "name": "采摘队 Picking crew", "capacity": 40}],
        "products": [{"id": "apple-fuji-a", "unit": "kg", "price": 9.0, "unit_cost": 3.0, "shelf_life": 10,
                      "routings": [{"resource": "pickers", "use": 0.05}]}],
        "lanes": [{"region": "organiser.yuantou.local", "cost_per_unit": 0.3}]}


def wait_until(check, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the scene never got there")
        time.sleep(0.3)


def main() -> None:  # noqa: PLR0915 (one scene, shot in order)
    scene = start_shop(Path(tempfile.mkdtemp(prefix="yuantou-shop-shots-")))
    img = HERE / "img"
    try:
        bought, joining = scene.open_pool(), scene.open_pool()
        people = [Household(scene, "zh-CN") for _ in NEIGHBOURS]
        for person, (name, phone, quantity) in zip(people, NEIGHBOURS):
            person.register(name, phone)
            person.join(bought, quantity)
        people[0].join(joining, "8")
        api = scene.api
        api.post(f"/pools/{bought}/close")
        wait_until(lambda: api.get(f"/pools/{bought}").json()["procurement"]["state"] == "ordered")
        producer = scene.producer.client()
        for order in producer.get("/orders").json():
            producer.post(f"/orders/{order['order_id']}/fulfillment", json={"state": "Shipped"})
        wait_until(lambda: {r["status"] for r in api.get("/pick-lists").json()[POINTS[0]]} == {"shipped"})
        code = re.search(r'pickup-code">(\d{8})<', people[0].get("/shop/orders").text).group(1)  # 王阿姨 collects
        api.post(f"/pickup-points/{POINTS[0]}/hand-out", json={"code": code})
        waiting = scene.open_pool()  # an order the producer has not handled yet: its console's order desk
        for person, (_, _, quantity) in zip(people, NEIGHBOURS):
            person.join(waiting, quantity)
        api.post(f"/pools/{waiting}/close")
        wait_until(lambda: api.get(f"/pools/{waiting}").json()["procurement"]["state"] == "ordered")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            phone = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True,
                                        has_touch=True)
            phone.add_cookies([{"name": k, "value": v, "url": scene.organiser.url}
                               for k, v in people[1].http.cookies.items()])
            page = phone.new_page()
            newcomer = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True)
            fresh = newcomer.new_page()
            fresh.goto(f"{scene.organiser.url}/shop/at/{POINTS[0]}")
            fresh.wait_for_selector(".countdown:not(:empty)")
            fresh.screenshot(path=str(img / "shop-arrive-zh.png"), full_page=True)
            page.goto(f"{scene.organiser.url}/shop/at/{POINTS[0]}")
            page.wait_for_selector(".countdown:not(:empty)")
            page.screenshot(path=str(img / "shop-offers-zh.png"), full_page=True)
            page.goto(f"{scene.organiser.url}/shop/orders")
            page.wait_for_selector(".pickup-code")
            page.screenshot(path=str(img / "shop-orders-zh.png"), full_page=True)

            laptop = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            laptop.add_cookies([scene.organiser.login_cookie()])
            console = laptop.new_page()
            for path, name in ((f"/dashboard/organiser/pools/{joining}", "console-pool-zh.png"),
                               ("/dashboard/organiser/offers", "console-offers-zh.png"),
                               (f"/dashboard/organiser/hand-out/{POINTS[0]}", "console-hand-out-zh.png")):
                console.goto(scene.organiser.url + path)
                console.screenshot(path=str(img / name), full_page=True)
            english = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
            english.add_cookies([scene.organiser.login_cookie()])
            form = english.new_page()
            form.goto(scene.organiser.url + "/dashboard/organiser/offers")
            form.get_by_role("link", name="Open a pool").first.click()
            form.wait_for_selector("#f-pickup_points")
            form.screenshot(path=str(img / "console-new-pool-en.png"), full_page=True)
            form.goto(scene.organiser.url + "/dashboard/organiser/pick-lists")
            form.screenshot(path=str(img / "console-pick-lists-en.png"), full_page=True)
            scene.producer.client().put("/twin", json=TWIN)  # so that the planning page has one to show
            for locale, path, name in (("zh-CN", "/dashboard/producer/orders", "producer-orders-zh.png"),
                                       ("en", "/dashboard/producer/packing", "producer-packing-en.png"),
                                       ("en", "/dashboard/producer/catalog", "producer-catalog-en.png"),
                                       ("zh-CN", "/dashboard/producer/catalog/items/apple-fuji-a",
                                        "producer-item-zh.png"),
                                       ("zh-CN", "/dashboard/producer/planning", "producer-planning-zh.png")):
                desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
                desk.add_cookies([scene.producer.login_cookie()])
                shot = desk.new_page()
                shot.goto(scene.producer.url + path)
                shot.screenshot(path=str(img / name), full_page=True)
            operator = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            operator.add_cookies([scene.net.directory.login_cookie()])
            shot = operator.new_page()
            shot.goto(scene.net.directory.url + "/dashboard/operator")
            shot.screenshot(path=str(img / "operator-zh.png"), full_page=True)
            browser.close()
        for name in ("shop-arrive-zh", "shop-offers-zh", "shop-orders-zh", "console-pool-zh", "console-offers-zh",
                     "console-hand-out-zh", "console-new-pool-en", "console-pick-lists-en", "producer-orders-zh",
                     "producer-packing-en", "producer-catalog-en", "producer-item-zh", "producer-planning-zh",
                     "operator-zh"):
            print("wrote", img / f"{name}.png")
    finally:
        scene.net.stop()


if __name__ == "__main__":
    main()
