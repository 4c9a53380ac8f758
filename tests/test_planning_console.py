"""The producer console's planning page against real nodes: a twin and past sales uploaded (bad files named to
the line), the forecast and the plan run as jobs followed by their progress, and the plan's offers published
after a preview."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import storage
from console_scene import console_client, orchard_and_buyer
from test_c2m_node import APPLE, PEAR, twin_document

from yuantou.devnet.localnet import LocalNetwork
from yuantou.producer.twin_files import save_twin, twin_from_json


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    yield from orchard_and_buyer(tmp_path_factory, "planning", storage())


def console(net: LocalNetwork) -> httpx.Client:
    return console_client(net.producers["orchard"], "/dashboard/producer")


def follow(browser: httpx.Client, page: str) -> str:
    """Poll the progress bar's fragment, as the page does every second, until the job ends; its last state."""
    job_id = re.search(r'hx-get="/dashboard/producer/planning/jobs/([^"]+)"', page).group(1)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        fragment = browser.get(f"/planning/jobs/{job_id}").text
        state = re.search(r'data-state="(\w+)"', fragment).group(1)
        if state != "running":
            return fragment
        assert "<progress" in fragment
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still running")


def test_twin_and_sales_uploaded_forecast_and_plan_run_and_offers_published(net, tmp_path):
    region = net.buyers["buyer1"].subscriber_id
    document = twin_document([region])
    with console(net) as browser:
        typo = {**document, "products": [{**document["products"][0], "shelf_lfe": 3}, document["products"][1]]}
        refused = browser.post("/upload/twin", files={"file": ("twin.json", str(typo).replace("'", '"').encode())})
        assert "twin.json: products[0].shelf_lfe: unknown key" in refused.text

        save_twin(twin_from_json(document), tmp_path / "twin")  # the CSV tables, zipped as a person would
        packed = io.BytesIO()
        with zipfile.ZipFile(packed, "w") as archive:
            for table in (tmp_path / "twin").iterdir():
                archive.write(table, f"twin/{table.name}")
        twin = browser.post("/upload/twin", files={"file": ("twin.zip", packed.getvalue())})
        assert "Twin imported: 2 resources, 2 products, 0 stock lots, 1 lanes." in twin.text

        today = datetime.now(UTC).date()
        lines = ["id,date,quantity"] + [f"{product}/{region},{today - timedelta(days=k)},{base + k % 7}"
                                        for product, base in ((APPLE, 40), (PEAR, 12)) for k in range(1, 43)]
        bad = browser.post("/upload/history", files={"file": ("sales.csv", ("\n".join(lines[:5])
                                                                           + "\nx/y,someday,3\n").encode())})
        assert "sales.csv: line 6" in bad.text
        sales = browser.post("/upload/history", files={"file": ("sales.csv", "\n".join(lines).encode())})
        assert "84 days of sales imported." in sales.text

        forecast = browser.post("/planning/forecast")
        assert 'data-state="done"' in follow(browser, forecast.text)
        plan = follow(browser, browser.post("/planning/plan").text)
        assert 'data-state="done"' in plan and "/dashboard/producer/planning/publish" in plan

        preview = browser.get("/planning/publish").text
        rows = re.findall(r'<tr data-item="([^"]+)" data-day="([^"]+)">.*?<td class="num">([^<]+)</td></tr>',
                          preview)
        assert rows and {item for item, _, _ in rows} <= {APPLE, PEAR}
        for item, _, after in rows:
            assert float(after) == int(float(after)) and (item != APPLE or float(after) % 5 == 0)  # bulk units
        published = browser.post("/planning/publish")
        assert f"Published: {len(rows)} item-days of capacity offered to buyers." in published.text


def test_the_twin_is_edited_record_by_record_and_a_bad_value_is_named_at_its_field(net):
    region = net.buyers["buyer1"].subscriber_id
    api = net.producers["orchard"].client()
    assert api.put("/twin", json=twin_document([region])).status_code == 200
    with console(net) as browser:
        assert 'data-key="pickers"' in browser.get("/planning/twin/resources").text
        added = browser.post("/planning/twin/resources", data={
            "editing": "False", "id": "sorter", "capacity": "12", "weekly": "8, 8, 8, 8, 8, 4, 0",
            "calendar": "2030-05-01 0\n2030-05-02 6"})
        assert added.status_code == 204, added.text
        sorter = next(r for r in api.get("/twin").json()["resources"] if r["id"] == "sorter")
        assert sorter["weekly"] == [8, 8, 8, 8, 8, 4, 0] and sorter["calendar"] == {"2030-05-01": 0, "2030-05-02": 6}

        form = browser.get("/planning/twin/products/edit", params={"key": APPLE}).text
        assert 'name="routings"' in form and "pickers 0.05" in form
        fields = dict(re.findall(r'<input id="f-(\w+)" name="\w+" value="([^"]*)"', form))
        too_much = browser.post("/planning/twin/products", data={**fields, "editing": "True", "yield": "1.4",
                                                                 "routings": "pickers 0.05"})
        assert 'id="f-yield-error"' in too_much.text and "yield: should be above 0 and at most 1" in too_much.text
        bad_line = browser.post("/planning/twin/products", data={**fields, "editing": "True",
                                                                 "routings": "pickers"})
        assert 'id="f-routings-error"' in bad_line.text
        twice = browser.post("/planning/twin/resources", data={"editing": "False", "id": "pickers", "capacity": "1"})
        assert 'id="f-id-error"' in twice.text
        assert next(r for r in api.get("/twin").json()["resources"] if r["id"] == "pickers")["capacity"] == 40

        removed = browser.post("/planning/twin/resources/remove", data={"key": "sorter"})
        assert "sorter removed." in removed.text and 'data-key="sorter"' not in removed.text
