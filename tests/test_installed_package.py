"""Yuantou as people install it: built by ``python -m build``, installed from the wheel into a fresh virtual
environment outside the checkout (no ``-e``), and run from there.

The wheel and the sdist must hold every file the package reads at run time (templates, static files, catalogs,
migrations, demo data); from the installed wheel a directory, a producer and an organiser set up by ``init --yes``
and started by ``node serve`` serve every page of the storefront and each console in both languages, trade a pool
from opening to hand-out, and ``yuantou demo --days 2`` runs to its table. Every other test runs the checkout,
which holds every file whether or not the wheel does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tomllib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import httpx
import pytest
from beckn_peer import wait_for
from installed_package import (
    PACKAGE,
    Distributions,
    Installed,
    checkout_files,
    distributions,
    install,
    missing,
    sdist_files,
    wheel_files,
)
from page_crawl import crawl, page_routes, unvisited
from shop_scene import POINTS, Household

import yuantou
from yuantou.devnet.localnet import free_port
from yuantou.devnet.sim.demand import carparts_path
from yuantou.directory.app import DirectorySettings, create_directory_app
from yuantou.i18n.catalogs import LOCALE_DIR, translations
from yuantou.i18n.locales import CHINESE, ENGLISH, LOCALES
from yuantou.node.app import create_app
from yuantou.node.bootstrap import Node
from yuantou.node.launch import load_node
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import MIGRATIONS, Database
from yuantou.web.site import SCRIPTS, STATIC, templates

pytestmark = pytest.mark.sqlite_only  # what is tested is the package's files; the store backends are tested elsewhere

LANGUAGES = ("zh-CN", "en")
DIRECTORY_TOKEN = "directory-operator-token-0123"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Distributions:  # noqa: ANN001
    return distributions(tmp_path_factory.mktemp("dist"))


def resource_files() -> dict[str, set[str]]:
    """The files the code opens by path, found through the names the code itself uses for them, as paths under
    ``yuantou/``: Jinja's template loader, the static files the site serves, the gettext catalogs, Alembic's
    migrations folder and the demo's data."""
    def under_package(path: Path) -> str:
        return str(path.resolve().relative_to(PACKAGE.parent))

    def folder(path: Path) -> set[str]:
        return {under_package(f) for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts}

    template_root = PACKAGE / "web" / "templates"
    return {
        "templates": {under_package(template_root / name) for name in templates.loader.list_templates()},
        "static": {under_package(STATIC / name) for name in SCRIPTS.values()},
        "catalogs": {under_package(LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po") for locale in LOCALES
                     if locale != ENGLISH},
        "migrations": folder(MIGRATIONS),
        "demo data": {under_package(carparts_path())},
    }


def test_the_wheel_and_the_sdist_hold_every_file_the_package_reads(built: Distributions) -> None:
    in_wheel, in_sdist, package = wheel_files(built.wheel), sdist_files(built.sdist), checkout_files()
    resources = resource_files()
    assert len(resources["templates"]) >= 40 and len(resources["migrations"]) >= 10  # the code's names found them
    for kind, files in resources.items():
        assert files <= package, f"{kind}: read from outside the package's tracked files: {sorted(files - package)}"
        assert missing(in_wheel, files) == [], f"{kind} missing from {built.wheel.name}"
    # and beyond what the code names today: every file of the package, so that a new kind of file cannot be left out
    assert missing(in_wheel, package) == []
    assert missing(in_sdist, package) == []
    assert not [f for f in in_wheel if "__pycache__" in f or f.endswith(".pyc")], "bytecode of this checkout shipped"
    assert not [f for f in in_wheel if f.endswith((".yaml", ".db", ".whl"))], "a spec, database or build shipped"
    # the check itself names what a wheel left out
    template = "yuantou/web/templates/shop/offers.html"
    assert missing(in_wheel - {template}, resources["templates"]) == [template]


def test_the_version_comes_from_one_place(built: Distributions) -> None:
    assert built.wheel.name.startswith(f"yuantou-{yuantou.__version__}-")
    assert built.sdist.name == f"yuantou-{yuantou.__version__}.tar.gz"
    pyproject = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]


# -- the installed wheel, run as people run it --------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed(built: Distributions, tmp_path_factory) -> Installed:  # noqa: ANN001
    reused = os.environ.get("YUANTOU_INSTALLED_VENV")  # a venv holding the wheel already (trying this test again)
    venv = Installed(Path(reused)) if reused else install(built.wheel, tmp_path_factory.mktemp("installed") / "venv")
    where = Path(venv.python("import yuantou; print(yuantou.__file__)", cwd=venv.venv).strip())
    assert where.is_relative_to(venv.venv) and not where.is_relative_to(PACKAGE.parents[1])
    return venv


def test_the_installed_package_reads_its_own_templates_and_catalogs_and_says_its_version(installed: Installed,
                                                                                        tmp_path: Path) -> None:
    assert installed.run("--version", cwd=tmp_path).stdout.strip() == f"yuantou {yuantou.__version__}"
    read = json.loads(installed.python(
        "import json; from yuantou.web.site import templates; from yuantou.i18n.catalogs import translations; "
        "print(json.dumps({'templates': sorted(templates.loader.list_templates()), "
        "'zh_CN': translations('zh_CN')._catalog}))", cwd=tmp_path))
    assert read["templates"] == sorted(templates.loader.list_templates())
    assert len(read["zh_CN"]) > 500 and read["zh_CN"] == translations(CHINESE)._catalog  # type: ignore[attr-defined]


class Site:
    """One process of the installed package, serving on 127.0.0.1."""

    def __init__(self, installed: Installed, folder: Path, port: int, args: list[str], token: str) -> None:
        self.folder, self.url, self.token = folder, f"http://127.0.0.1:{port}", token
        self.process = installed.start(*args, cwd=folder)

    def log(self) -> str:
        return (self.folder / "serve.log").read_text(errors="replace")

    def answers(self, path: str) -> bool:
        assert self.process.poll() is None, f"{self.folder.name} exited:\n{self.log()[-3000:]}"
        try:
            return httpx.get(self.url + path, timeout=2).status_code < 500
        except httpx.TransportError:
            return False

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + "/api", timeout=30, headers={"Authorization": f"Bearer {self.token}"})

    def browser(self, language: str) -> httpx.Client:
        """A logged-in browser's HTTP client, as the login form leaves it."""
        client = httpx.Client(base_url=self.url, timeout=30, headers={"Accept-Language": language,
                                                                      "Origin": self.url})
        login = client.post("/login", data={"secret": self.token, "next": "/dashboard"})
        assert login.status_code == 303, f"{self.folder.name}: login {login.status_code}"
        return client

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def init_node(installed: Installed, root: Path, name: str, role: str, directory: Site, *more: str) -> tuple[Path, int]:
    port = free_port()
    made = installed.run("init", "--dir", str(root / name), "--yes", "--role", role, "--port", str(port),
                         "--directory", directory.url, *more, cwd=root)
    assert made.returncode == 0, made.stdout + made.stderr
    return root / name, port


@pytest.fixture(scope="module")
def network(installed: Installed, tmp_path_factory) -> Iterator[dict[str, Site]]:  # noqa: ANN001
    """A directory, an orchard co-op and a community organiser, each started by the installed ``yuantou``."""
    root = tmp_path_factory.mktemp("installed-network")
    (root / "directory").mkdir()
    port = free_port()
    sites = {"directory": Site(installed, root / "directory", port, ["directory", "serve", "--port", str(port),
                                                                     "--db", "sqlite:///directory.db",
                                                                     "--token", DIRECTORY_TOKEN], DIRECTORY_TOKEN)}
    try:
        assert wait_for(lambda: sites["directory"].answers("/"), timeout=60), sites["directory"].log()
        for name, role, extra in (("orchard", "producer", ["--name", "Hillside Orchard", "--place", "Yantai"]),
                                  ("garden", "buyer", ["--name", "Happy Garden"])):
            folder, node_port = init_node(installed, root, name, role, sites["directory"], *extra)
            token = tomllib.loads((folder / "node.toml").read_text())["api_token"]
            sites[name] = Site(installed, folder, node_port, ["node", "serve", "--config", "node.toml"], token)
            assert wait_for(lambda: "subscribed to" in sites[name].log(), timeout=90), sites[name].log()
        assert "WARNING" not in sites["garden"].log()  # the directory lists a producer in its city
        yield sites
    finally:
        for site in sites.values():
            site.stop()


APPLE = "apple-fuji-a"  # the apples of init's sample catalog


def trade_a_pool(garden: Site, orchard: Site) -> tuple[str, Household]:
    """The organiser opens a pool on the orchard's offer, two households join at the storefront, the pool is bought
    over Beckn, the orchard ships it and the organiser hands one household its line: every page then has
    something to show."""
    organiser, producer = garden.api(), orchard.api()
    assert organiser.post("/offers/refresh").status_code == 200
    assert wait_for(lambda: APPLE in {o["item_id"] for o in organiser.get("/offers").json()["offers"]}, timeout=30)
    zone = ZoneInfo("Asia/Shanghai")  # init's default zone, for the organiser and the orchard
    tomorrow = datetime.now(zone).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    opened = organiser.post("/pools", json={
        "item_id": APPLE, "pickup_points": [POINTS[0]], "window_start": (tomorrow + timedelta(hours=8)).isoformat(),
        "window_end": (tomorrow + timedelta(hours=12)).isoformat(),
        "cutoff": (datetime.now(zone) + timedelta(hours=3)).isoformat(), "unit": "kg", "step": "0.5",
        "bulk_unit": "5", "tiers": [{"min_quantity": "0", "price": "9.00"}, {"min_quantity": "20", "price": "8.50"}]})
    assert opened.status_code == 200, opened.text
    pool_id = str(opened.json()["pool_id"])
    first, second = (Household(SimpleNamespace(organiser=garden)) for _ in range(2))
    back = f"/shop/pools/{pool_id}"
    for household, name, phone, kg in ((first, "王阿姨", "138 0013 8000", "30"),
                                       (second, "李先生", "139 0000 1111", "25")):  # 55 kg: over the 50 kg batch
        assert household.register(name, phone, back).status_code == 303
        joined = household.join(pool_id, kg, back)
        assert joined.status_code == 303, joined.text[:500]
    pool = organiser.get(f"/pools/{pool_id}").json()
    assert (pool["households"], pool["pooled_min"]) == (2, "55"), pool

    assert organiser.post(f"/pools/{pool_id}/close").status_code == 200
    assert wait_for(lambda: organiser.get(f"/pools/{pool_id}").json()["procurement"]["state"] == "ordered",
                    timeout=60), organiser.get(f"/pools/{pool_id}").text
    [order] = producer.get("/orders").json()
    order_id = order["order_id"]
    for state in ("Accepted", "Packed", "Shipped"):
        moved = producer.post(f"/orders/{order_id}/fulfillment", json={"state": state})
        assert moved.status_code == 200, moved.text
    mine = lambda: first.get("/shop/orders").text  # noqa: E731
    code = wait_for(lambda: re.search(r'class="mono pickup-code">(\d{8})<', mine()), timeout=30)
    assert code, mine()
    hand_out = lambda: organiser.post(f"/pickup-points/{POINTS[0]}/hand-out", json={"code": code.group(1)})  # noqa: E731
    assert wait_for(lambda: hand_out().status_code == 200, timeout=30)  # once the orchard's on_status says shipped
    return pool_id, first


def forecast_the_orchard(orchard: Site) -> str:
    """Eight weeks of past apple sales imported and forecast by the installed package (statsforecast in the
    venv); returns the console's address of the job, which the planning page polls while the job runs."""
    producer, today = orchard.api(), date.today()
    rows = [{"product": APPLE, "region": "std:021", "day": (today - timedelta(days=d)).isoformat(),
             "quantity": 40 + (d * 7) % 13} for d in range(1, 57)]
    assert producer.post("/demand/history", json=rows).status_code == 200
    job = producer.post("/forecast/run", json={"horizon": 7}).json()
    state = lambda: producer.get(f"/jobs/{job['job_id']}").json()  # noqa: E731
    assert wait_for(lambda: state()["state"] != "running", timeout=180) and state()["state"] == "done", state()
    return f"/dashboard/producer/planning/jobs/{job['job_id']}"


def node_pages(site: Site) -> list:
    """The page routes of the node ``site`` runs, from an app made of its own config (its roles decide them)."""
    config, keys, _ = load_node(site.folder / "node.toml")
    node = Node(config, keys)
    try:
        return page_routes(create_app(node))
    finally:
        node.db.close()


def directory_pages(tmp: Path) -> list:
    db = Database(f"sqlite:///{tmp / 'routes.db'}")
    try:
        return page_routes(create_directory_app(db, KeyPair.generate(), DirectorySettings(
            "directory.local", "http://127.0.0.1:9", dashboard_token=DIRECTORY_TOKEN)))
    finally:
        db.close()


def test_from_the_installed_wheel_every_page_serves_in_both_languages_and_a_pool_is_bought(
        installed: Installed, network: dict[str, Site], tmp_path: Path) -> None:
    garden, orchard = network["garden"], network["orchard"]
    pool_id, household = trade_a_pool(garden, orchard)
    planning = forecast_the_orchard(orchard)
    seeds = {"garden": ["/", "/dashboard", "/dashboard/organiser", "/shop", f"/shop/pools/{pool_id}",
                        household.personal_link(), "/docs", "/openapi.json", "/login"],
             "orchard": ["/", "/dashboard", "/dashboard/producer/orders", "/dashboard/producer/planning", planning,
                         "/docs", "/openapi.json", "/login"],
             "directory": ["/", "/dashboard", "/dashboard/operator", "/docs", "/openapi.json", "/login"]}
    routes = {"garden": node_pages(garden), "orchard": node_pages(orchard), "directory": directory_pages(tmp_path)}
    for language in LANGUAGES:
        for name, site in network.items():
            client = site.browser(language)
            if name == "garden":  # the household's phone is signed in at the storefront too
                client.cookies.update(household.http.cookies)
            found = crawl(client, seeds[name], language)
            assert found.problems == [], f"{name} in {language}: " + "\n".join(found.problems)
            assert unvisited(routes[name], found.paths) == [], f"{name} in {language}: no link reaches " + str(
                unvisited(routes[name], found.paths))


def test_the_installed_demo_runs_to_its_table(installed: Installed, tmp_path: Path) -> None:
    ran = installed.run("demo", "--days", "2", "--data-dir", str(tmp_path / "demo"), cwd=tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert "The same demand (2 days" in ran.stdout and "fill rate" in ran.stdout
    assert "all verified" in ran.stdout.replace("\n", " ")
    report = re.search(r"report: (\S+\.html)", ran.stdout)
    assert report and Path(report.group(1)).stat().st_size > 100_000  # plotly.js inlined from the wheel's files
