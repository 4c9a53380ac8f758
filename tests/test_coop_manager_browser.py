"""A co-op manager's whole loop in a real browser (Playwright, Debian's Chromium), in Chinese and in English, on a
producer node set up by ``yuantou init`` alone and an organiser's node on 127.0.0.1:

1. edit the catalog in a form;
2. receive a pooled order from the organiser's node (households joined it at the storefront);
3. accept, pack and ship it, and see the households' "my orders" follow;
4. upload a capacity twin and past sales;
5. run the forecast and the plan, following their progress bars;
6. publish the plan's offers after the preview, and see them in the organiser's offers.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import httpx
import pytest
from beckn_peer import wait_for
from playwright.sync_api import expect
from shop_scene import Household, iso
from test_c2m_node import APPLE, PEAR, twin_document
from test_storefront_browser import LAPTOP, accessible, browser, new_page  # noqa: F401 (the browser fixture)

from yuantou.devnet.localnet import LocalNetwork, free_port, window_times
from yuantou.devnet.warm_start import start_cli

pytestmark = pytest.mark.sqlite_only  # init writes a SQLite node; the store backends are tested in process
WORDS = {"zh-CN": {"save": "保存商品", "accept": "接单", "pack": "标记已打包", "ship": "标记已发货",
                   "shipped": "运输中", "forecast": "运行预测", "plan": "运行计划", "preview": "预览发布其供应",
                   "publish": "发布这些供应", "twin": "上传孪生", "sales": "上传历史销量"},
         "en": {"save": "Save the item", "accept": "Accept", "pack": "Mark packed", "ship": "Mark shipped",
                "shipped": "On its way", "forecast": "Run the forecast", "plan": "Run the plan",
                "preview": "Preview publishing its offers", "publish": "Publish these offers", "twin": "Upload the twin",
                "sales": "Upload past sales"}}


def login(url: str, token: str) -> dict[str, str]:
    answer = httpx.post(url + "/login", data={"secret": token, "next": "/dashboard"})
    assert answer.status_code == 303, answer.text
    name, value = next(iter(answer.cookies.items()))
    return {"name": name, "value": value, "url": url}


@pytest.fixture
def coop(tmp_path_factory):
    """A fresh network for each language: publishing the plan changes the co-op's offers for the next loop."""
    root = tmp_path_factory.mktemp("coop")
    (root / "net").mkdir()
    net = LocalNetwork(root / "net")
    process = None
    try:
        directory = net.start_directory()
        port = free_port()
        made = subprocess.run([sys.executable, "-m", "yuantou.cli", "init", "--dir", str(root / "coop"), "--yes",
                               "--role", "producer", "--name", "山坡果园合作社 Hillside Co-op", "--id",
                               "hillside.example.cn", "--port", str(port), "--directory", directory.url, "--city",
                               "std:0571", "--place", "山东烟台"], capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        token = tomllib.loads((root / "coop" / "node.toml").read_text())["api_token"]
        process = start_cli(["node", "serve", "--config", "node.toml"], cwd=root / "coop", env=dict(os.environ),
                            log_path=root / "coop" / "serve.log")
        log = root / "coop" / "serve.log"
        assert wait_for(lambda: log.exists() and "subscribed to" in log.read_text(errors="replace"), timeout=60)
        organiser = net.add_node("organiser", ["buyer"], extra={"time_zone": "Asia/Shanghai"})
        yield SimpleNamespace(net=net, url=f"http://127.0.0.1:{port}", token=token, organiser=organiser,
                              root=root)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, 15)
            process.wait(30)
        net.stop()


def organiser_sees(coop: SimpleNamespace, check) -> None:  # noqa: ANN001
    """Refresh the organiser's offers until ``check(offers)`` holds."""
    api = coop.organiser.client()
    api.post("/offers/refresh")
    assert wait_for(lambda: check(api.get("/offers").json()["offers"]), timeout=20)


def delivery_windows(coop: SimpleNamespace) -> int:
    """How many delivery windows of the co-op's apples the organiser's open-a-pool form lists."""
    cookie = coop.organiser.login_cookie()
    form = httpx.get(coop.organiser.url + "/dashboard/organiser/pools/new", cookies={cookie["name"]: cookie["value"]},
                     params={"producer": "hillside.example.cn", "provider": "hillside.example.cn-provider",
                             "item": APPLE}).text
    listed = re.search(r'class="muted">[^<]*?:([^<]*)</p>', form)
    return listed.group(1).count(";") + 1 if listed else 0


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_coop_manager_runs_the_whole_loop_from_yuantou_init(coop, browser, language, tmp_path):  # noqa: F811, PLR0915
    words, checked = WORDS[language], set()
    manager = new_page(browser, language, LAPTOP, [login(coop.url, coop.token)])

    # 1. the catalog, edited in a form: the apples' list price
    price = "8.80" if language == "en" else "8.70"
    manager.goto(coop.url + "/dashboard/producer/catalog")
    accessible(manager, checked)
    manager.locator(f'tr#item-{APPLE} td a').click()
    manager.wait_for_selector("#f-price")
    accessible(manager, checked)
    manager.fill("#f-price", price)
    manager.get_by_role("button", name=words["save"]).click()
    manager.wait_for_url(re.compile(r"/dashboard/producer/catalog"))
    expect(manager.locator(f"tr#item-{APPLE}")).to_contain_text(price)
    organiser_sees(coop, lambda offers: any(o["item_id"] == APPLE and float(o["price"]) == float(price)
                                            for o in offers))

    # 2. a pooled order from the organiser's node: two households join at its storefront, the pool closes
    day = datetime.fromisoformat(window_times(1)[0].replace("Z", "+00:00"))
    api = coop.organiser.client(timeout=20)
    opened = api.post("/pools", json={
        "item_id": APPLE, "pickup_points": ["东门 East Gate"], "window_start": iso(day + timedelta(hours=2)),
        "window_end": iso(day + timedelta(hours=6)), "cutoff": iso(datetime.now(UTC) + timedelta(hours=3)),
        "unit": "kg", "step": "1", "bulk_unit": "5", "tiers": [{"min_quantity": "0", "price": "9.50"}]})
    assert opened.status_code == 200, opened.text
    pool_id = opened.json()["pool_id"]
    households = [Household(SimpleNamespace(organiser=coop.organiser), language) for _ in range(2)]
    for person, (name, phone, kg) in zip(households, [("王阿姨", "13800138000", "30"),
                                                       ("李先生", "13900001111", "25")]):
        person.register(name, phone)
        assert person.post("/shop/join", pool_id=pool_id, pickup_point="东门 East Gate", quantity=kg, back="/shop",
                           csrf=person.csrf()).status_code in (200, 303)
    assert api.post(f"/pools/{pool_id}/close").status_code == 200
    assert wait_for(lambda: api.get(f"/pools/{pool_id}").json()["procurement"]["state"] == "ordered", timeout=30)

    # 3. accept, pack and ship it; the households' "my orders" follow
    manager.goto(coop.url + "/dashboard/producer/orders")
    accessible(manager, checked)
    for button, state in ((words["accept"], "Accepted"), (words["pack"], "Packed"), (words["ship"], "Shipped")):
        manager.locator("section.order", has_text=pool_id).get_by_role("button", name=button, exact=True).click()
        expect(manager.locator(f"section.order[data-state={state}]", has_text=pool_id)).to_have_count(1)
    assert wait_for(lambda: words["shipped"] in households[0].get("/shop/orders").text, timeout=30)

    # 4. a capacity twin and past sales, uploaded
    region = coop.organiser.subscriber_id
    (tmp_path / "twin.json").write_text(json.dumps(twin_document([region])))
    today = datetime.now(UTC).date()
    (tmp_path / "sales.csv").write_text("id,date,quantity\n" + "\n".join(
        f"{product}/{region},{today - timedelta(days=k)},{base + k % 7}"
        for product, base in ((APPLE, 40), (PEAR, 12)) for k in range(1, 43)))
    manager.goto(coop.url + "/dashboard/producer/planning")
    accessible(manager, checked)
    manager.set_input_files("#f-twin", str(tmp_path / "twin.json"))
    manager.get_by_role("button", name=words["twin"]).click()
    expect(manager.locator(".notice")).to_contain_text("2")
    manager.set_input_files("#f-history", str(tmp_path / "sales.csv"))
    manager.get_by_role("button", name=words["sales"]).click()
    expect(manager.locator(".notice")).to_contain_text("84")

    # 5. the forecast and the plan, each followed by its progress bar to the end
    for run in (words["forecast"], words["plan"]):
        manager.get_by_role("button", name=run).click()
        expect(manager.locator(".job")).to_have_attribute("data-state", "done", timeout=120_000)
    accessible(manager, checked)

    # 6. the plan's offers, published after the preview, reach the organiser's offers
    before = delivery_windows(coop)
    manager.get_by_role("link", name=words["preview"]).click()
    expect(manager.locator("tr[data-item]").first).to_be_visible()
    accessible(manager, checked)
    manager.get_by_role("button", name=words["publish"]).click()
    expect(manager.locator(".notice")).to_be_visible()
    organiser_sees(coop, lambda offers: True)
    assert wait_for(lambda: delivery_windows(coop) > before, timeout=20)  # the plan's days beyond the catalog's three
    assert manager.errors == [], manager.errors
    manager.context.close()
