"""The community group-buy loop in a real browser (Playwright driving Debian's Chromium) against real nodes on
127.0.0.1, in Chinese and in English: households at a 390 px phone viewport, the organiser on a laptop.

1. the organiser opens a pool from the producer's offer and shares a pickup point's link;
2. a household opens the link, introduces itself and joins; a second joins, and the first one's page shows
   the price tier move, live;
3. the organiser closes the pool, and it is bought from the producer over Beckn;
4. the producer accepts, packs and ships it in its console, and prints what to pack;
5. the organiser hands it out by pickup code;
6. the household sees "handed out", and checks its signed receipt (a forged one is refused).

axe-core (an npm package, run inside the pages by the tests, never served by a node) finds no serious or
critical violation on any page visited.
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from beckn_peer import wait_for
from conftest import storage
from playwright.sync_api import expect
from shop_scene import POINTS, start_shop

CHROMIUM = os.environ.get("YUANTOU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# the pages on PostgreSQL are the same pages: test_storefront covers the storefront's store there, in process
pytestmark = pytest.mark.sqlite_only
AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}
TEXT = {  # what each language's pages say at each step (from the catalogs, checked here as a person reads them)
    "zh-CN": {"join": "参团", "continue": "继续", "joined": "参团成功", "now_9": "¥9.00/kg", "now_850": "¥8.50/kg",
              "open": "开团", "open_pool": "开团", "close": "立即截团", "ordered": "已下单", "shipped": "运输中",
              "hand_out": "核销取货", "handed_out": "已取货", "check": "核验", "genuine": "凭证真实",
              "forged": "凭证核验未通过", "receipt": "签名凭证", "my_orders": "我的订单", "accept": "接单",
              "pack": "标记已打包", "ship": "标记已发货"},
    "en": {"join": "Join", "continue": "Continue", "joined": "You joined", "now_9": "CNY\u00a09.00/kg",
           "now_850": "CNY\u00a08.50/kg", "open": "Open a pool", "open_pool": "Open the pool", "close": "Close the pool now",
           "ordered": "Ordered", "shipped": "On its way", "hand_out": "Hand out", "handed_out": "Handed out",
           "check": "Check", "genuine": "Genuine", "forged": "does not check out", "receipt": "Signed receipt",
           "my_orders": "My orders", "accept": "Accept", "pack": "Mark packed", "ship": "Mark shipped"},
}


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    scene = start_shop(tmp_path_factory.mktemp("storefront"), database=storage())
    try:
        yield scene
    finally:
        scene.net.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only the browser tests need it)

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)"
    assert AXE.exists(), f"{AXE} missing: npm ci --prefix tests/js (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class Taps:
    """Counts what a person taps: every click the test makes goes through here."""

    def __init__(self) -> None:
        self.count = 0

    def tap(self, locator) -> None:  # noqa: ANN001
        self.count += 1
        locator.click()


def new_page(browser, language: str, viewport: dict, cookies: list | None = None):  # noqa: ANN001, ANN201
    context = browser.new_context(viewport=viewport, locale=language, has_touch=viewport is PHONE,
                                  is_mobile=viewport is PHONE)
    if cookies:
        context.add_cookies(cookies)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    # a stylesheet, script or image the node does not serve is a broken page too (the browser's favicon guess aside)
    assets = ("stylesheet", "script", "image")
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and r.request.resource_type in assets else None)
    page.on("requestfailed", lambda r: errors.append(f"failed {r.url}") if r.resource_type in assets else None)
    # the node serves every asset itself: nothing is fetched from anywhere else (no CDN)
    page.on("request", lambda r: errors.append(f"left the node: {r.url}")
            if not r.url.startswith(("http://127.0.0.1:", "data:", "blob:")) else None)
    page.errors = errors
    return page


def accessible(page, checked: set[str]) -> None:  # noqa: ANN001
    """axe-core finds no serious or critical violation on this page (each page once per language)."""
    place = re.sub(r"[0-9a-f]{12,}|\d{8}", "…", page.url)  # one check per kind of page, not per pool
    key = f"{page.evaluate('document.documentElement.lang')} {place}"
    if key in checked:
        return
    checked.add(key)
    page.evaluate(AXE.read_text())  # evaluated by the test through DevTools, never a script of the node's page
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
           if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: {bad}"


def register(page, taps: Taps, name: str, phone: str, words: dict) -> None:  # noqa: ANN001
    page.fill("#name", name)
    page.fill("#phone", phone)
    taps.tap(page.get_by_role("button", name=words["continue"]))
    page.wait_for_selector(".notice")


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_whole_group_buy_loop_in_the_browser(shop, browser, language):  # noqa: ANN001, PLR0915
    words = TEXT[language]
    checked: set[str] = set()
    organiser = new_page(browser, language, LAPTOP, [shop.organiser.login_cookie()])

    # 1. the organiser opens a pool from the producer's offer, for one pickup point, and shares its link
    organiser.goto(shop.organiser.url + "/dashboard/organiser/offers")
    accessible(organiser, checked)
    organiser.get_by_role("link", name=words["open"]).first.click()
    organiser.wait_for_selector("#f-pickup_points")
    accessible(organiser, checked)
    assert organiser.input_value("input[name=tier_price_1]") == "8.50"  # the producer's tiers are filled in
    organiser.fill("#f-pickup_points", POINTS[0])
    organiser.fill("#f-cutoff", "2020-01-01T09:00")  # refused next to the field: the cut-off is past
    organiser.get_by_role("button", name=words["open_pool"]).click()
    organiser.wait_for_selector("#f-cutoff-error")
    organiser.goto(organiser.url)  # the form again, with the producer's defaults
    organiser.fill("#f-pickup_points", POINTS[0])
    organiser.get_by_role("button", name=words["open_pool"]).click()
    organiser.wait_for_url(re.compile(r"/dashboard/organiser/pools/pool-"))
    accessible(organiser, checked)
    pool_id = organiser.url.rsplit("/", 1)[1]
    shared = organiser.locator("figure.share a").nth(1).get_attribute("href")  # the pickup point's link
    assert shared and "/shop/at/" in shared and organiser.locator("figure.share svg").count() == 2

    # 2. a household opens the shared link on its phone, introduces itself and joins
    first, taps = new_page(browser, language, PHONE), Taps()
    first.goto(shared)
    first.wait_for_load_state("load")
    weight = first.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((n, e) => n + e.encodedBodySize, 0)""")
    assert 0 < weight <= 150_000, f"first load of the household page: {weight} bytes"
    accessible(first, checked)
    register(first, taps, "王阿姨" if language == "zh-CN" else "Mrs Wang", "138 0013 8000", words)
    card = first.locator(f"article#{pool_id}")
    assert "Yantai, Shandong" in card.locator(".source").inner_text()  # 源头: the producer and where it is
    card.locator("input[name=quantity]").fill("10")
    taps.tap(card.get_by_role("button", name=words["join"]))
    first.wait_for_selector(".notice")
    assert words["joined"] in first.locator(".notice").inner_text()
    live = first.locator(f"[data-live={pool_id}]")
    assert words["now_9"] in live.inner_text()
    accessible(first, checked)

    # a returning household: from the shared link to a confirmed join in at most three taps
    second, again = new_page(browser, language, PHONE), Taps()
    second.goto(shared)
    register(second, Taps(), "李先生" if language == "zh-CN" else "Mr Li", "+86 139 0000 1111", words)
    second.goto(shared)  # tap 1: the link in the chat group
    again.count += 1
    second.locator(f"article#{pool_id} input[name=quantity]").fill("15")
    again.tap(second.locator(f"article#{pool_id}").get_by_role("button", name=words["join"]))
    second.wait_for_selector(".notice")
    assert again.count <= 3, f"{again.count} taps from the shared link to a confirmed join"
    # ... and the first household's open page shows the tier move, pushed live (25 kg >= 20 kg)
    expect(first.locator(f"[data-live={pool_id}]")).to_contain_text(words["now_850"], timeout=10_000)

    # 3. the organiser closes the pool; it is bought from the producer over Beckn
    organiser.goto(f"{shop.organiser.url}/dashboard/organiser/pools/{pool_id}")
    organiser.once("dialog", lambda dialog: dialog.accept())
    organiser.get_by_role("button", name=words["close"]).click()
    wait_for(lambda: shop.api.get(f"/pools/{pool_id}").json()["procurement"]["state"] == "ordered")
    organiser.reload()
    assert words["ordered"] in organiser.locator("main").inner_text()

    # 4. the producer accepts, packs and ships the pool's order in its console (each click tells the buyer)
    producer = new_page(browser, language, LAPTOP, [shop.producer.login_cookie()])
    producer.goto(shop.producer.url + "/dashboard/producer/orders")
    accessible(producer, checked)
    order = producer.locator("section.order", has_text=pool_id)
    expect(order).to_have_count(1)
    assert "¥" in order.locator("tfoot").inner_text() or "CNY" in order.locator("tfoot").inner_text()
    for button, state in ((words["accept"], "Accepted"), (words["pack"], "Packed")):
        order.get_by_role("button", name=button, exact=True).click()
        expect(producer.locator(f"section.order[data-state={state}]", has_text=pool_id)).to_have_count(1)
        order = producer.locator("section.order", has_text=pool_id)
    assert producer.get_by_role("status").count() == 1  # "…the buyer is told"
    producer.goto(shop.producer.url + "/dashboard/producer/packing")  # what to pack for the pool's delivery
    accessible(producer, checked)
    assert POINTS[0] in producer.locator("section.pick-page").first.inner_text()
    assert producer.locator("section.pick-page .delivery-note", has_text=pool_id).count() == 1
    producer.goto(shop.producer.url + "/dashboard/producer/orders")
    producer.locator("section.order", has_text=pool_id).get_by_role("button", name=words["ship"], exact=True).click()
    expect(producer.locator("section.order[data-state=Shipped]", has_text=pool_id)).to_have_count(1)
    accessible(producer, checked)
    producer.goto(shop.producer.url + "/dashboard/producer/catalog")  # its catalog, edited in a form
    accessible(producer, checked)
    producer.locator("td a").first.click()
    producer.wait_for_selector("#f-price")
    producer.fill("#f-price", "abc")
    producer.locator("button.primary").click()
    producer.wait_for_selector("#f-price-error")  # refused next to the field; nothing stored changed
    accessible(producer, checked)

    # the household's "my orders" follows, live, and shows its pickup code and QR
    first.goto(shop.organiser.url + "/shop/orders")
    expect(first.locator("main")).to_contain_text(words["shipped"], timeout=15_000)
    code = first.locator(".pickup-code").inner_text()
    assert re.fullmatch(r"\d{8}", code) and first.locator(".code svg[role=img]").count() == 1
    accessible(first, checked)

    # 5. the organiser hands it out by pickup code
    organiser.goto(f"{shop.organiser.url}/dashboard/organiser/hand-out")
    accessible(organiser, checked)
    organiser.get_by_role("link", name=POINTS[0]).click()
    organiser.fill("#code", "00000000")
    organiser.get_by_role("button", name=words["hand_out"], exact=True).click()
    organiser.wait_for_selector("#code-error")  # an unknown code, next to the field
    organiser.fill("#code", code)
    organiser.get_by_role("button", name=words["hand_out"], exact=True).click()
    organiser.wait_for_selector(".notice")
    accessible(organiser, checked)

    # 6. the household sees "handed out", live, and checks its signed receipt; a forged one is refused
    expect(first.locator("main [data-status]").first).to_contain_text(words["handed_out"], timeout=20_000)
    first.get_by_role("link", name=words["receipt"]).first.click()
    accessible(first, checked)
    receipt = first.evaluate("(url) => fetch(url).then(r => r.text())", first.url + ".json")
    first.goto(shop.organiser.url + "/shop/receipts/check")
    first.fill("#document", receipt)
    first.get_by_role("button", name=words["check"], exact=True).click()
    assert words["genuine"] in first.locator(".verdict").inner_text()
    accessible(first, checked)
    forged = json.loads(receipt)
    forged["receipt"]["quantity"] = "100"
    first.fill("#document", json.dumps(forged))
    first.get_by_role("button", name=words["check"], exact=True).click()
    assert words["forged"] in first.locator("#document-error").inner_text()

    # the pick list prints one pickup point per A4 page
    organiser.goto(f"{shop.organiser.url}/dashboard/organiser/pick-lists")
    accessible(organiser, checked)
    points = organiser.locator("section.pick-page").count()
    pdf = organiser.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == points >= 1
    for page in (organiser, first, second, producer):
        assert page.errors == [], page.errors
    for page in (organiser, first, second, producer):
        page.context.close()


def test_refusals_are_sentences_next_to_their_field(shop, browser):  # noqa: ANN001
    """After the cut-off, over the maximum, a price limit below the tier, another household's line: each refused
    in words where it happened, in the household's language, and nothing stored changes."""
    full = shop.open_pool(max_quantity="20")
    soon = shop.open_pool(cutoff_in=timedelta(seconds=6))
    page = new_page(browser, "en", PHONE)
    page.goto(f"{shop.organiser.url}/shop/pools/{full}")
    page.get_by_role("link", name="中文").click()  # the language is switched on the page, and stays switched
    page.wait_for_url(re.compile(f"/shop/pools/{full}$"))
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    register(page, Taps(), "张三", "13700000000", TEXT["zh-CN"])

    card = page.locator(f"article#{full}")
    card.locator("input[name=quantity]").fill("25")  # over the pool's maximum of 20 kg
    card.get_by_role("button", name="参团").click()
    assert "本团已满" in page.locator(f"#{full}-quantity-error").inner_text()

    card = page.locator(f"article#{full}")
    card.locator("input[name=quantity]").fill("2")
    card.locator("summary").click()
    card.locator("input[name=max_price]").fill("7.00")  # below every tier (best: 8.00)
    card.get_by_role("button", name="参团").click()
    assert "价格" in page.locator(f"#{full}-price-error").inner_text()

    card = page.locator(f"article#{full}")
    card.locator("input[name=quantity]").fill("两公斤")
    card.get_by_role("button", name="参团").click()
    assert "请输入数字" in page.locator(f"#{full}-quantity-error").inner_text()
    assert shop.api.get(f"/pools/{full}").json()["households"] == 0  # nothing was stored

    # after the cut-off: the page was open before it, the join comes after
    page.goto(f"{shop.organiser.url}/shop/pools/{soon}")
    wait_for(lambda: shop.api.get(f"/pools/{soon}").json()["status"] != "open", timeout=20)
    page.locator(f"article#{soon}").get_by_role("button", name="参团").click()
    assert "已截单" in page.locator(f"article#{soon} .error").inner_text()

    # another household's line: neither its receipt nor a withdrawal reaches it
    page.goto(f"{shop.organiser.url}/shop/pools/{full}")
    page.locator(f"article#{full}").get_by_role("button", name="参团").click()
    intent = page.locator(f"article#{full} form[action$='/withdraw']").get_attribute("action").split("/")[3]
    other = new_page(browser, "en", PHONE)
    other.goto(f"{shop.organiser.url}/shop/pools/{full}")
    register(other, Taps(), "Eve", "13911112222", TEXT["en"])
    token = other.locator("input[name=csrf]").first.get_attribute("value")
    answer = other.evaluate("""([intent, token]) => fetch(`/shop/lines/${intent}/withdraw`, {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'},
        body: `csrf=${token}&back=/shop`}).then(r => r.text())""", [intent, token])
    assert "There is no such order line." in answer
    assert other.goto(f"{shop.organiser.url}/shop/receipts/{intent}").status == 404
    assert other.goto(f"{shop.organiser.url}/shop/me/not-a-real-link").status == 404
    assert shop.api.get(f"/pools/{full}").json()["households"] == 1  # the line is still there

    # a form posted from another site is refused before anything is read
    forged = httpx.post(f"{shop.organiser.url}/shop/join", data={"pool_id": full, "quantity": "1"},
                        headers={"Origin": "https://evil.example"}, cookies=dict(
                            (c["name"], c["value"]) for c in other.context.cookies()))
    assert forged.status_code == 403
    for p in (page, other):
        assert p.errors == [], p.errors


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_operator_and_producer_pages_pass_axe(shop, browser, language):  # noqa: ANN001
    """Every console page not walked above, in both languages: no serious or critical axe violation."""
    checked: set[str] = set()
    directory = shop.net.directory
    operator = new_page(browser, language, LAPTOP, [directory.login_cookie()])
    operator.goto(directory.url + "/dashboard/operator")
    operator.wait_for_selector("section.subscriber")
    accessible(operator, checked)
    producer = new_page(browser, language, LAPTOP, [shop.producer.login_cookie()])
    for path in ("/dashboard/producer/catalog/import", "/dashboard/producer/catalog/new",
                 "/dashboard/producer/orders?show=all", "/dashboard/producer/planning", "/dashboard/node/evidence",
                 "/dashboard/node/key", "/dashboard/producer/planning/twin/products",
                 "/dashboard/producer/planning/twin/resources/edit"):
        producer.goto(shop.producer.url + path)
        accessible(producer, checked)
    for page in (operator, producer):
        assert page.errors == [], page.errors
        page.context.close()
