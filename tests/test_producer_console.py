"""The producer's order desk against real nodes on 127.0.0.1: what a co-op manager's clicks do, and what a double
click, a bad value or a cross-site form cannot do (the browser loop in test_storefront_browser clicks through it).
"""

from __future__ import annotations

import csv
import html
import io
import re

import httpx
import pytest
from conftest import storage
from console_scene import console_client, orchard_and_buyer
from sqlalchemy import func, select

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import PRODUCERS, LocalNetwork, catalog_document
from yuantou.protocol.envelope import fulfillment_state
from yuantou.store.db import Database
from yuantou.store.tables import outbox

ORCHARD_ID = "orchard.yuantou.local"


def catalog_with_a_formula() -> dict:
    catalog = catalog_document("orchard", *PRODUCERS["orchard"])
    catalog["items"][1]["name"] = "=HYPERLINK(\"http://evil\")"  # a formula a spreadsheet must not run
    return catalog


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    yield from orchard_and_buyer(tmp_path_factory, "producer-console", storage(), catalog_with_a_formula())


def place(net: LocalNetwork, kg: int) -> str:
    """buyer1 orders ``kg`` of snow pears from the orchard over Beckn; the order's id."""
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    sent = buyer.post("/api/search", {"query": "pear", "bpp_id": ORCHARD_ID})
    (found,) = buyer.callbacks(sent["message_id"], wait=10, count=1)
    provider = found["payload"]["message"]["catalog"]["providers"][0]
    item = next(i for i in provider["items"] if i["id"] == "pear-snow")
    done = order_flow(buyer, sent["transaction_id"], ORCHARD_ID, provider["id"],
                      [{"id": item["id"], "quantity": kg, "unit": "kg"}], item["fulfillment_ids"][0])
    return done["message"]["order"]["id"]


def console(net: LocalNetwork, language: str = "en") -> httpx.Client:
    """The co-op manager's browser: logged in, posting as htmx does from the console's own pages."""
    return console_client(net.producers["orchard"], "/dashboard/producer", language, timeout=15)


def status_messages(net: LocalNetwork) -> int:
    db = Database(net.producers["orchard"].db_url)
    try:
        return db.transaction(lambda c: c.execute(select(func.count()).select_from(outbox)
                                                  .where(outbox.c.action == "on_status")).scalar_one())
    finally:
        db.close()


def state_of(page: str, order_id: str) -> str:
    start = page.index(f'id="order-{order_id}"')
    return page[page.index('data-state="', start) + 12:].split('"', 1)[0]


def test_an_order_is_listed_with_its_buyer_window_and_total_and_moves_by_button(net):
    order_id = place(net, 7)
    with console(net) as browser:
        page = browser.get("/orders").text
        card = page[page.index(f'id="order-{order_id}"'):]
        assert "buyer1.yuantou.local" in card and "7 kg" in card and "42.00" in card  # 7 kg at 6.00
        assert state_of(page, order_id) == "Pending"
        told = status_messages(net)
        accepted = browser.post(f"/orders/{order_id}/move", data={"state": "Accepted"})
        assert accepted.status_code == 200 and "accepted; the buyer is told" in accepted.text
        assert state_of(accepted.text, order_id) == "Accepted" and status_messages(net) == told + 1

        # a double click: refused in words at the order, and the buyer is not told twice
        again = browser.post(f"/orders/{order_id}/move", data={"state": "Accepted"})
        assert "The order is in that state already: nothing was changed or sent." in again.text
        assert status_messages(net) == told + 1 and state_of(again.text, order_id) == "Accepted"

        packing = browser.get("/packing").text
        assert order_id.split("-")[0] in packing and "7 kg" in packing


def test_a_refusal_needs_a_short_reason_and_every_refused_move_is_said_in_the_readers_language(net):
    order_id = place(net, 3)
    with console(net, "zh-CN") as browser:
        long = browser.post(f"/orders/{order_id}/move", data={"state": "Refused", "reason": "太" * 201})
        assert "原因请控制在 200 字以内。" in long.text and 'aria-invalid="true"' in long.text
        assert state_of(long.text, order_id) == "Pending"  # nothing changed
        refused = browser.post(f"/orders/{order_id}/move", data={"state": "Refused", "reason": "冰雹打坏了梨"})
        assert "已拒单" in refused.text and order_id not in refused.text  # gone from the orders to handle
        everything = browser.get("/orders?show=all").text
        assert state_of(everything, order_id) == "Refused" and "冰雹打坏了梨" in everything
        after = browser.post(f"/orders/{order_id}/move", data={"state": "Packed"})  # from a stale page
        assert "此订单已被拒单或取消，不能再推进。" in after.text  # said, though the order is no longer listed
        unknown = browser.post("/orders/no-such-order/move", data={"state": "Packed"})
        assert unknown.status_code == 200 and "本节点没有这个订单。" in unknown.text


def test_the_packing_list_downloads_as_a_spreadsheet_that_runs_no_formula(net):
    order_id = place(net, 5)
    with console(net) as browser:
        sheet = browser.get("/packing.csv")
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Delivery window", "Delivered to", "Buyer", "Order"]
    mine = [r for r in rows if r[3] == order_id]
    assert mine and mine[0][4].startswith("'=HYPERLINK") and mine[0][5] == "5"


def test_a_cross_site_or_logged_out_post_moves_nothing(net):
    order_id = place(net, 2)
    orchard = net.producers["orchard"]
    with console(net) as browser:
        forged = httpx.post(f"{orchard.url}/dashboard/producer/orders/{order_id}/move", data={"state": "Accepted"},
                            cookies=browser.cookies, headers={"Origin": "http://evil.example"})
        assert forged.status_code == 403
        anonymous = httpx.post(f"{orchard.url}/dashboard/producer/orders/{order_id}/move",
                               data={"state": "Accepted"}, headers={"HX-Request": "true", "Origin": orchard.url})
        assert anonymous.status_code in (401, 303)
        assert state_of(browser.get("/orders").text, order_id) == "Pending"


def test_with_automatic_acceptance_an_order_is_accepted_as_it_is_confirmed_and_its_buyer_sees_it(net):
    buyer = NodeClient(net.buyers["buyer1"].url, net.buyers["buyer1"].token)
    with console(net) as browser:
        switched = browser.post("/settings", data={"auto_accept": "on"})
        assert "New orders are accepted as they are confirmed" in switched.text and "checked" in switched.text
        try:
            order_id = place(net, 4)
            assert state_of(browser.get("/orders").text, order_id) == "Accepted"
            mine = {o["order_id"]: o for o in buyer.get("/api/orders")}[order_id]["order"]
            assert fulfillment_state(mine) == "Accepted", mine  # in the on_confirm itself: nothing to wait for
        finally:
            off = browser.post("/settings", data={})
            assert "New orders wait for you" in off.text
        waiting = place(net, 1)
        assert state_of(browser.get("/orders").text, waiting) == "Pending"
    assert net.producers["orchard"].client().get("/settings").json() == {"auto_accept": False}


def test_the_catalog_is_edited_in_forms_that_refuse_what_a_file_would_at_the_field(net):
    orchard = net.producers["orchard"]
    sold = place(net, 6)  # the pear window's capacity in all stays what the file says; 6 kg of it are taken
    with console(net, "zh-CN") as browser:
        listed = browser.get("/catalog").text
        assert "apple-fuji-a" in listed and "¥8.50/kg" in listed
        form = browser.get("/catalog/items/pear-snow").text
        assert 'name="window_capacity_0" value="400"' in form  # 400 in all, as the catalog file said
        taken = re.search(r'name="window_capacity_0"[^>]*></td>\s*<td class="num">([\d.]+)</td>', form)
        assert taken and float(taken.group(1)) >= 6  # what orders hold of it, this one's 6 kg among them, beside it

        def save(**changes: str) -> httpx.Response:
            fields = {"editing": "True", "id": "pear-snow", "name": "雪梨 Snow pears", "unit": "kg", "price": "6",
                      "currency": "CNY", "window_id_0": "", "window_day_0": "2030-05-01", "window_start_0": "06:00",
                      "window_end_0": "20:00", "window_capacity_0": "300"}
            return browser.post("/catalog/items", data={**fields, **changes})

        before = orchard.client().get("/catalog").json()
        bad_price = save(price="六块")
        assert 'id="f-price-error"' in bad_price.text and "请输入数字" in bad_price.text
        backwards = save(window_end_0="05:00")
        assert 'id="f-window-0-error"' in backwards.text and 'name="window_end_0" value="05:00"' in backwards.text
        dearer_tier = save(tier_min_0="100", tier_price_0="7")
        assert 'id="f-tiers-error"' in dearer_tier.text
        assert orchard.client().get("/catalog").json() == before  # nothing stored changed

        done = save(price="6.5", tier_min_0="100", tier_price_0="6.0", bulk_unit="5")
        assert done.status_code == 204 and done.headers["HX-Redirect"].startswith("/dashboard/producer/catalog")
        pear = next(i for p in orchard.client().get("/catalog").json()["providers"]
                    for i in p["items"] if i["id"] == "pear-snow")
        assert pear["price"]["value"] == "6.5"

        duplicate = browser.post("/catalog/items", data={"editing": "False", "id": "pear-snow", "name": "x",
                                                         "unit": "kg", "price": "1", "currency": "CNY"})
        assert 'id="f-id-error"' in duplicate.text
        added = browser.post("/catalog/items", data={"editing": "False", "id": "quince", "name": "Quinces",
                                                     "unit": "kg", "price": "9", "currency": "CNY",
                                                     "window_day_0": "2030-05-02", "window_capacity_0": "50"})
        assert added.status_code == 204
        assert "quince" in browser.get("/catalog").text
        retired = browser.post("/catalog/items/quince/retire")
        assert "quince 已下架" in retired.text
        ids = {i["id"] for p in orchard.client().get("/catalog").json()["providers"]
               for i in p["items"]}
        assert "quince" not in ids and "pear-snow" in ids
        assert state_of(browser.get("/orders?show=all").text, sold)  # the order that bought pears is still there


def test_a_catalog_file_is_previewed_then_imported_and_a_bad_one_names_its_line(net):
    orchard = net.producers["orchard"]
    header = "item_id,name,category,unit,price,currency,window_id,window_start,window_end,capacity\n"
    good = (header + "apple-fuji-a,Fuji apples,fruit,kg,8.9,CNY,2030-05-01,2030-05-01T06:00:00+08:00,"
            "2030-05-01T20:00:00+08:00,100\nplum,Plums,fruit,kg,12,CNY,2030-05-01,2030-05-01T06:00:00+08:00,"
            "2030-05-01T20:00:00+08:00,40\n")
    bad = header + "plum,Plums,fruit,kg,twelve,CNY,2030-05-01,2030-05-01T06:00:00+08:00,2030-05-01T20:00:00+08:00,4\n"
    with console(net) as browser:
        refused = browser.post("/upload/catalog", files={"file": ("plums.csv", bad.encode(), "text/csv")})
        assert "The file was refused:" in refused.text and "plums.csv: line 2: " in refused.text
        before = orchard.client().get("/catalog").json()
        preview = browser.post("/upload/catalog", files={"file": ("catalog.csv", good.encode(), "text/csv")})
        assert 'data-change="added">New item plum' in preview.text
        # the CSV has no pooled-buying columns: importing it drops the apples' grade, bulk unit and tiers, and says so
        assert 'data-change="changed">apple-fuji-a: changes its name, grade, price, bulk_unit, tiers, windows<' \
            in preview.text
        assert 'data-change="kept"' in preview.text and orchard.client().get("/catalog").json() == before
        records = re.search(r'name="records" value="([^"]*)"', preview.text).group(1)
        applied = browser.post("/upload/catalog/apply", data={"records": html.unescape(records), "replace": "",
                                                              "file_name": "catalog.csv"})
        assert applied.status_code == 204
    items = {i["id"]: i for p in orchard.client().get("/catalog").json()["providers"] for i in p["items"]}
    assert items["plum"]["price"]["value"] == "12" and items["apple-fuji-a"]["price"]["value"] == "8.9"
    assert "pear-snow" in items  # not in the file, and the import did not replace the catalog


def test_a_deeply_nested_upload_is_refused_in_words_not_a_500(net):
    """A JSON file nested far deeper than any catalog, twin or bundle is named as such, whatever page takes it."""
    deep = ("{\"items\": " + "[" * 50_000 + "]" * 50_000 + "}").encode()
    with console(net) as browser:
        catalog = browser.post("/upload/catalog", files={"file": ("deep.json", deep)})
        assert catalog.status_code == 200 and "deep.json: JSON nested" in catalog.text
        twin = browser.post("/upload/twin", files={"file": ("deep.json", deep)})
        assert twin.status_code == 200 and "deep.json: JSON nested" in twin.text
        records = browser.post("/upload/catalog/apply", data={"records": "[" * 50_000 + "]" * 50_000})
        assert records.status_code == 200 and "JSON nested" in records.text
    with console_client(net.producers["orchard"], "/dashboard") as browser:
        bundle = browser.post("/upload/evidence", files={"file": ("deep.json", deep)})
        assert bundle.status_code == 200 and "deep.json: JSON nested" in bundle.text
