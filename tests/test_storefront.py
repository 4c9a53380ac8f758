"""The households' storefront in process, on a real store (SQLite, or PostgreSQL with YUANTOU_TEST_PG), through
the node's own ASGI app: who a household is (name, phone, device sessions, personal links), joining, changing
and withdrawing by form, and what protects them (Origin, form tokens, ownership, rate limits). The whole loop in
a real browser is in test_storefront_browser; the pure contact rules are property-tested here."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import storage  # noqa: F401 (its nodes use the store backend: run on PostgreSQL too)
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from test_role_services import _on_search, _orchard_catalog, _pool

from yuantou.buyer.commands import Change
from yuantou.domain.household import NAME_CHARACTERS, clean_name, clean_phone
from yuantou.domain.pooling import PoolProblem
from yuantou.store.tables import households

pytestmark = pytest.mark.anyio
BASE = "http://node"


class Phone:
    """One device at the storefront: its own cookies; its forms come from the node's pages (Origin)."""

    def __init__(self, app, language: str = "en") -> None:  # noqa: ANN001
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE,
                                      headers={"Origin": BASE, "Accept-Language": language})

    async def token(self, path: str = "/shop") -> str:
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await self.http.get(path)).text)
        assert found, "no form token: not signed in?"
        return found.group(1)

    async def post(self, path: str, **fields: str) -> httpx.Response:
        return await self.http.post(path, data=fields)


async def _buyer_with_pool(node, api) -> str:  # noqa: ANN001
    await node.db.run(lambda c: node.buyer.apply(c, "on_search", _on_search(_orchard_catalog()), 1.0))
    answer = await api.post("/api/pools", json=_pool(max_quantity="60"))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["pool_id"])


def _app(api: httpx.AsyncClient):  # noqa: ANN202
    return api._transport.app  # the same app the API client talks to


@pytest.mark.parametrize("node_client", [["buyer"]], indirect=True)
async def test_a_household_registers_joins_changes_and_withdraws_by_form(node_client):
    node, api = node_client
    pool_id = await _buyer_with_pool(node, api)
    phone = Phone(_app(api), "zh-CN")

    refused = await phone.post("/shop/register", name="王阿姨", phone="12", next="/shop")
    assert refused.status_code == 422 and "5 到 15 位数字" in refused.text and 'id="phone-error"' in refused.text
    assert 'value="王阿姨"' in refused.text  # what was typed is kept
    signed = await phone.post("/shop/register", name="  王阿姨 ", phone="138 0013 8000", next=f"/shop/pools/{pool_id}")
    assert signed.status_code == 303 and signed.headers["location"] == f"/shop/pools/{pool_id}?done=welcome"
    assert "httponly" in signed.headers["set-cookie"].lower() and "samesite=lax" in signed.headers["set-cookie"].lower()
    page = (await phone.http.get(f"/shop/pools/{pool_id}")).text
    assert "已登录：王阿姨" in page and "源头：Orchard" in page

    back = f"/shop/pools/{pool_id}"
    two_points = await api.post("/api/pools", json=_pool(pickup_points=["gate-3", "school"]))
    assert 'name="pickup_point"><option value="gate-3">' in (await phone.http.get(
        f"/shop/pools/{two_points.json()['pool_id']}")).text  # a pool's own link: the household picks its point
    token = await phone.token(back)
    joined = await phone.post("/shop/join", pool_id=pool_id, pickup_point="gate-3", quantity="20", back=back,
                              csrf=token)
    assert joined.status_code == 303 and joined.headers["location"] == f"{back}?done=joined#{pool_id}"
    view = (await api.get(f"/api/pools/{pool_id}")).json()
    assert view["households"] == 1 and view["pooled_min"] == "20"
    line = (await phone.http.get(back)).text
    intent = re.search(r'/shop/lines/(intent-[0-9a-f]+)/change', line).group(1)

    # a change over the pool's maximum is refused next to the quantity; the old line stays, in memory and store
    over = await phone.post(f"/shop/lines/{intent}/change", quantity="70", max_price="9.00", back=back, csrf=token)
    assert over.status_code == 422 and f'id="{pool_id}-quantity-error"' in over.text and "本团已满" in over.text
    assert (await api.get(f"/api/pools/{pool_id}")).json()["pooled_min"] == "20"
    assert node.buyer.pool_desk.book.pools[pool_id].min_total == 20  # steps of 1 kg
    for huge in ("1e999999", "-5", "9" * 50):  # numbers no household means: refused at the field, never a 500
        odd = await phone.post(f"/shop/lines/{intent}/change", quantity=huge, max_price="9.00", back=back, csrf=token)
        assert odd.status_code == 422 and f'id="{pool_id}-quantity-error"' in odd.text, huge
    changed = await phone.post(f"/shop/lines/{intent}/change", quantity="25", most="30", max_price="9.00", back=back,
                               csrf=token)
    assert changed.status_code == 303, changed.text
    view = (await api.get(f"/api/pools/{pool_id}")).json()
    assert (view["pooled_min"], view["pooled_max"], view["households"]) == ("25", "30", 1)
    lines = (await api.get("/api/households/" + await _household(node))).json()
    assert [(line["status"], line["asked"]) for line in lines] == [("withdrawn", ["20", "20"]),
                                                                    ("joined", ["25", "30"])]

    # another household cannot touch this line, by form or by command
    other = Phone(_app(api))
    await other.post("/shop/register", name="Eve", phone="13911112222", next="/shop")
    stranger = await other.post(f"/shop/lines/{lines[1]['intent_id']}/withdraw", back=back,
                                csrf=await other.token())
    assert stranger.status_code == 422 and "There is no such order line." in stranger.text
    with pytest.raises(PoolProblem) as caught:
        await node.buyer.change(Change(lines[1]["intent_id"], "hh-someone-else", 1, 1, 9))
    assert caught.value.code == "unknown_intent"
    assert (await api.get(f"/api/pools/{pool_id}")).json()["pooled_min"] == "25"

    # a post from another site, or without this session's form token, changes nothing
    evil = await phone.http.post(f"/shop/lines/{lines[1]['intent_id']}/withdraw", data={"csrf": token},
                                 headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    tokenless = await phone.post(f"/shop/lines/{lines[1]['intent_id']}/withdraw", back=back)
    assert tokenless.status_code == 303 and (await api.get(f"/api/pools/{pool_id}")).json()["households"] == 1

    withdrawn = await phone.post(f"/shop/lines/{lines[1]['intent_id']}/withdraw", back=back, csrf=token)
    assert withdrawn.status_code == 303 and "done=withdrawn" in withdrawn.headers["location"]
    assert (await api.get(f"/api/pools/{pool_id}")).json()["households"] == 0


async def _household(node) -> str:  # noqa: ANN001
    """The household registered first (its id is random)."""
    return str(await node.db.run(lambda c: c.execute(select(households.c.household_id)
                                                     .order_by(households.c.created_at)).scalars().first()))


@pytest.mark.parametrize("node_client", [["buyer"]], indirect=True)
async def test_a_personal_link_opens_the_household_on_another_device_and_guessing_is_slowed(node_client):
    node, api = node_client
    await _buyer_with_pool(node, api)
    phone = Phone(_app(api))
    await phone.post("/shop/register", name="Mr Li", phone="+86 139 0000 1111", next="/shop")
    shown = await phone.post("/shop/personal-link", csrf=await phone.token("/shop/orders"))
    link = re.search(r"(/shop/me/[A-Za-z0-9_-]{20,})", shown.text).group(1)

    tablet = Phone(_app(api))
    opened = await tablet.http.get(link)
    assert opened.status_code == 303 and opened.headers["location"] == "/shop/orders"
    assert "Signed in as Mr Li" in (await tablet.http.get("/shop/orders")).text
    newer = await phone.post("/shop/personal-link", csrf=await phone.token("/shop/orders"))
    assert re.search(r"/shop/me/[A-Za-z0-9_-]{20,}", newer.text)
    assert (await Phone(_app(api)).http.get(link)).status_code == 404  # a new link ends the old one

    guesser = Phone(_app(api))
    answers = [(await guesser.http.get(f"/shop/me/guess-{n}")).status_code for n in range(12)]
    assert answers[:8] == [404] * 8 and answers[-1] == 429


@given(st.text(max_size=40))
def test_an_accepted_phone_is_5_to_15_digits_and_cleaning_it_again_changes_nothing(text: str) -> None:
    try:
        cleaned = clean_phone(text)
    except PoolProblem as problem:
        assert problem.code == "bad_phone" and problem.path == "phone"
        return
    digits = cleaned.lstrip("+")
    assert digits.isascii() and digits.isdigit() and 5 <= len(digits) <= 15 and clean_phone(cleaned) == cleaned


@given(st.text(max_size=60))
def test_an_accepted_name_is_trimmed_printable_and_short(text: str) -> None:
    try:
        cleaned = clean_name(text)
    except PoolProblem as problem:
        assert problem.code == "bad_name" and problem.path == "name"
        return
    assert cleaned == cleaned.strip() and 0 < len(cleaned) <= NAME_CHARACTERS and "  " not in cleaned
    assert clean_name(cleaned) == cleaned and cleaned.isprintable()


@pytest.mark.parametrize("node_client", [["buyer"]], indirect=True)
async def test_text_from_a_peers_catalog_is_shown_escaped(node_client):
    node, api = node_client
    catalog = _orchard_catalog()
    provider = catalog["providers"][0]
    provider["descriptor"]["name"] = '<script>alert("orchard")</script>'
    provider["items"][0]["descriptor"]["name"] = '<img src=x onerror=alert(1)>'
    await node.db.run(lambda c: node.buyer.apply(c, "on_search", _on_search(catalog), 1.0))
    pool_id = (await api.post("/api/pools", json=_pool())).json()["pool_id"]
    for path in (f"/shop/pools/{pool_id}", f"/dashboard/organiser/pools/{pool_id}", "/dashboard/organiser/offers"):
        page = (await api.get(path)).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(&#34;orchard&#34;)&lt;/script&gt;" in page, path


@pytest.mark.parametrize("node_client", [["buyer"]], indirect=True)
async def test_the_dashboards_speak_the_readers_language(node_client):
    """The watch-only dashboards too: headings, panels, the live words and the plots, from Accept-Language or the
    switch (a cookie every page of the node follows)."""
    node, api = node_client
    await _buyer_with_pool(node, api)
    chinese = {"Accept-Language": "zh-CN,zh;q=0.9"}
    page = (await api.get("/dashboard/buyer", headers=chinese)).text
    assert '<html lang="zh-CN">' in page and "买方 / 团长" in page and "住户意向" in page and 'data-ago="{time}前"' in page
    pools = (await api.get("/dashboard/panel/pools", headers=chinese)).text
    assert "拼团（云拼）" in pools and "进行中的团的成团进度" in pools  # the plot's title too
    assert "Pools (云拼)" in (await api.get("/dashboard/panel/pools")).text  # no language asked: English
    switched = await api.get("/language", params={"to": "zh_CN", "next": "/dashboard"})
    assert switched.status_code == 303 and switched.headers["location"] == "/dashboard"
    api.cookies.set("yuantou_lang", switched.cookies["yuantou_lang"])  # what the browser keeps from the switch
    ledger = (await api.get("/dashboard/panel/ledger")).text
    assert "账本" in ledger and "立即核验" in ledger
    away = await api.get("/language", params={"to": "zh_CN", "next": "https://evil.example/"})
    assert away.headers["location"] == "/dashboard"  # the switch goes back only to this node's pages
