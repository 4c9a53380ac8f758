"""The dashboards in a real browser (Playwright driving Debian's Chromium) against real nodes on 127.0.0.1:
a login is required, every page loads, plots render with data, a pool's progress moves as intents arrive."""

from __future__ import annotations

import os
import re

import httpx
import pytest
from conftest import storage
from dashboard_scene import start_scene

from yuantou.devnet.localnet import LocalNetwork

CHROMIUM = os.environ.get("YUANTOU_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    net = LocalNetwork(tmp_path_factory.mktemp("dashboard"), database=storage())
    try:
        yield start_scene(net)
    finally:
        net.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: apt-get install chromium (.ci/run does)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def logged_in(browser, proc):  # noqa: ANN001, ANN201
    """A page whose context holds the session cookie the login form would set."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([proc.login_cookie()])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # anything the Content-Security-Policy blocked (an inline script, a style, an eval) is a broken page too
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.errors = errors
    return page


def trace_points(page, plot_id: str) -> int:  # noqa: ANN001
    """How many data points plotly.js drew in that plot (0 if it drew nothing)."""
    page.wait_for_selector(f"#{plot_id} .main-svg", timeout=15_000)
    return page.evaluate(f"""() => (document.getElementById({plot_id!r}).data || [])
        .reduce((n, t) => n + ((t.x || t.y || []).length), 0)""")


def test_a_login_is_required_and_a_wrong_token_refused(browser, scene):
    orchard = scene.orchard
    assert httpx.get(orchard.url + "/dashboard/panel/ledger", headers={"HX-Request": "true"}).status_code == 401
    assert httpx.get(orchard.url + "/api/summary").status_code == 401
    assert httpx.post(scene.organiser.url + "/api/pools", json={}).status_code == 401  # nothing writable
    page = browser.new_context().new_page()
    page.goto(orchard.url + "/dashboard/producer")
    assert "/login" in page.url and page.locator("#secret").is_visible()
    page.fill("#secret", "not-the-token-at-all")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text().startswith("That is not this node's token")
    page.fill("#secret", orchard.token)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/producer$"))
    assert page.locator("header h1").inner_text() == "Yuantou · Hillside Orchard Co-op"
    page.click("text=log out")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(orchard.url + "/dashboard")
    assert "/login" in page.url
    page.context.close()


def test_overview_shows_ledger_verified_and_traffic_with_a_nack(browser, scene):
    page = logged_in(browser, scene.orchard)
    page.goto(scene.orchard.url + "/dashboard")
    page.wait_for_selector("#ledger-verdict .pill.ok", timeout=20_000)  # verified on its own
    assert int(page.locator("#ledger-height").inner_text()) >= 8  # search … confirm, both ways
    assert "buyer" not in page.locator("header nav").inner_text()  # a producer has no buyer page
    traffic = page.locator("#panel-traffic")
    traffic.locator("text=NACK").first.wait_for()
    assert "unauthorized" in traffic.inner_text()
    assert trace_points(page, "plot-traffic") > 0
    assert page.errors == []
    with scene.orchard.client() as api:  # the same state, for scripts
        state = api.get("/ledger").json()
    assert state["entries"] >= 8 and state["verification"]["problem"] is None
    assert [c["id"] for c in state["counterparties"]] == ["organiser.yuantou.local"]


def test_producer_page_draws_forecast_plan_and_stock(browser, scene):
    page = logged_in(browser, scene.orchard)
    page.goto(scene.orchard.url + "/dashboard/producer")
    assert trace_points(page, "plot-forecast") > 70  # the history and the 14 forecast days with its bands
    for plot in ("plot-timeline", "plot-stack", "plot-utilisation", "plot-shadow", "plot-stock"):
        assert trace_points(page, plot) > 0, plot
    sales = page.locator("#panel-sales")
    sales.get_by_text("Accepted").first.wait_for()  # each panel loads on its own request
    assert "organiser.yuantou.local" in sales.inner_text()
    page.locator("#panel-catalog").get_by_text("apple-fuji-a").first.wait_for()
    aimed = page.locator("#panel-aimed")
    aimed.locator("code").first.wait_for()  # the north gate's pool, bought from the orchard
    assert "north-gate" in aimed.inner_text() and "organiser.yuantou.local" in aimed.inner_text()
    # choosing another series redraws the forecast for it
    options = page.locator("#forecast-series option").all_inner_texts()
    assert len(options) == 4
    page.select_option("#forecast-series", options[-1])
    page.wait_for_function("""(sid) => { const p = document.getElementById('plot-forecast');
        return p && p.layout && p.layout.title.text.endsWith(sid); }""", arg=options[-1], timeout=10_000)
    assert page.errors == []


def test_a_pool_progresses_as_intents_arrive(browser, scene):
    page = logged_in(browser, scene.organiser)
    page.goto(scene.organiser.url + "/dashboard/buyer")
    pool = page.locator(f".pool[data-pool='{scene.pool_id}']")
    pool.wait_for()
    before = float(pool.locator(".pooled").inner_text())
    bar_before = float(pool.locator("[role=progressbar]").get_attribute("aria-valuenow"))
    assert trace_points(page, "plot-pools") > 0
    assert re.search(r"\d+h \d+m", pool.locator("time").inner_text())  # time to cut-off, ticking
    scene.join("late-household-1", "10", "12")
    scene.join("late-household-2", "8", "8")
    page.wait_for_function("""([id, before]) => {
        const el = document.querySelector(`.pool[data-pool='${id}'] .pooled`);
        return el && parseFloat(el.textContent) >= before + 18; }""", arg=[scene.pool_id, before], timeout=15_000)
    assert float(pool.locator("[role=progressbar]").get_attribute("aria-valuenow")) > bar_before
    # the intents panel polls on its own clock, so it may show the new household a poll later than the pool
    page.locator("#panel-intents").get_by_text("late-household-2").first.wait_for(timeout=15_000)
    assert page.errors == []


def test_directory_lists_subscribers_with_key_validity(browser, scene):
    directory = scene.net.directory
    page = logged_in(browser, directory)
    page.goto(directory.url + "/dashboard")
    table = page.locator("#panel-subscribers table")
    table.wait_for()
    text = table.inner_text()
    assert "orchard.yuantou.local" in text and "organiser.yuantou.local" in text and "BPP" in text
    assert page.locator("#panel-subscribers .pill.ok").count() >= 3  # orchard, organiser, the gateway itself
    assert trace_points(page, "plot-subscribers") > 0
    assert page.errors == []


def test_dashboard_works_offline_on_a_phone(browser, scene):
    """Every script comes from the node (nothing from a CDN), and the page fits a phone's width."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.add_cookies([scene.organiser.login_cookie()])
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(scene.organiser.url) else outside.append(r.url))
    page.goto(scene.organiser.url + "/dashboard/buyer")
    page.wait_for_selector("#plot-pools .main-svg")
    assert outside == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    context.close()


def test_the_demo_report_draws_every_plot_offline(browser, tmp_path):
    """The report is one file: its plots draw from the inlined plotly.js, with no network at all."""
    from test_sim_market import InMemoryPools

    from yuantou.devnet.sim.demand import carparts
    from yuantou.devnet.sim.market import Market
    from yuantou.devnet.sim.report import write_report
    from yuantou.devnet.sim.run import plan_replay, run_replay

    replay = plan_replay(carparts(products=4, regions=2), Market(), warmup=24, days=8, every=4)
    run_replay(replay, InMemoryPools(replay))
    path = write_report(tmp_path / "report.html", replay, [{"name": "p1", "role": "producer", "entries": 10,
                                                             "verified": "every entry verifies"}], {})
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(path.as_uri())
    for i in range(6):
        assert trace_points(page, f"fig{i}") > 0, i
    assert "Yuantou network" in page.locator("table").first.inner_text()
    context.close()


def test_the_api_docs_load_from_the_node_alone(browser, scene):
    """/docs draws Swagger UI from the node's own files (FastAPI's default would fetch them from a CDN)."""
    for proc in (scene.orchard, scene.net.directory):
        page = browser.new_context().new_page()
        outside: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(proc.url) else outside.append(r.url))
        page.goto(proc.url + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert outside == []
        assert "Yuantou" in page.locator(".swagger-ui .info .title").inner_text()
        page.context.close()
