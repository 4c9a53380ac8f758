"""The role services in process, on a real store (SQLite, or PostgreSQL with YUANTOU_TEST_PG), through the node's
own ASGI app and ``httpx.ASGITransport``: each command as the JSON API hands it to ``BuyerService`` or
``ProducerService``, with no network and no other process. What crosses the network is tested end to end
elsewhere (test_network, test_pools_api, test_fulfilment)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import storage  # noqa: F401 (its nodes use the store backend: run on PostgreSQL too)

from yuantou.domain.catalog import CatalogItem, Window
from yuantou.protocol.profile import catalog_json

pytestmark = pytest.mark.anyio  # anyio's pytest plugin (it comes with httpx) runs the async tests
LOCAL = "+08:00"  # the nodes' fixed offset (conftest.node_client)


def _days_ahead(days: int, hour: int) -> datetime:
    return (datetime.now() + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)


def _orchard_catalog() -> dict[str, Any]:
    start, end = _days_ahead(2, 0), _days_ahead(3, 0)
    window = Window("w1", start.strftime("%Y-%m-%dT%H:%M:%S") + LOCAL, end.strftime("%Y-%m-%dT%H:%M:%S") + LOCAL, 500)
    apple = CatalogItem("apple", "Fuji apples", "kg", Decimal("9.00"), "CNY", "fruit", (window,), "A",
                        bulk_unit=Decimal(10), moq=Decimal(20), tiers=((Decimal(50), Decimal("8.00")),))
    return catalog_json("orchard-provider", "Orchard", [apple])


def _on_search(catalog: dict[str, Any]) -> dict[str, Any]:
    return {"context": {"bpp_id": "orchard.test", "action": "on_search"}, "message": {"catalog": catalog}}


def _pool(**overrides: Any) -> dict[str, Any]:
    body = {"item_id": "apple", "pickup_points": ["gate-3"], "bulk_unit": "10", "moq": "20", "unit": "kg",
            "window_start": _days_ahead(2, 9).isoformat(), "window_end": _days_ahead(2, 18).isoformat(),
            "cutoff": _days_ahead(1, 20).isoformat(), "tiers": [{"min_quantity": "0", "price": "9.00"},
                                                                 {"min_quantity": "50", "price": "8.00"}]}
    return {**body, **overrides}


def _join(household: str, lo: str, hi: str, **overrides: Any) -> dict[str, Any]:
    body = {"household": household, "item_id": "apple", "min_quantity": lo, "max_quantity": hi, "max_price": "9.00",
            "pickup_point": "gate-3", "window_start": _days_ahead(2, 9).isoformat(),
            "window_end": _days_ahead(2, 18).isoformat()}
    return {**body, **overrides}


def _receipt_check(folder: Path, receipt: dict[str, Any], public_key: str) -> Any:
    from typer.testing import CliRunner

    from yuantou.cli import app

    path = folder / "receipt.json"
    path.write_text(json.dumps(receipt, ensure_ascii=False), encoding="utf-8")
    return CliRunner().invoke(app, ["receipt", "check", str(path), "--public-key", public_key])


@pytest.mark.parametrize("node_client", [["buyer"]], indirect=True)
async def test_organiser_and_household_commands_on_the_buyer_service(node_client, tmp_path):
    node, api = node_client
    refused = await api.post("/api/pools", json=_pool(), headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "unknown_product", refused.text
    assert refused.json()["error"]["text"] == "本节点认识的生产者都不供应这个商品。"
    assert refused.headers["content-language"] == "zh-CN"

    assert node.buyer is not None  # a producer's on_search reaches the buyer service as the processor hands it
    await node.db.run(lambda c: node.buyer.apply(c, "on_search", _on_search(_orchard_catalog()), 1.0))
    held = (await api.get("/api/offers")).json()["offers"]
    assert [(o["producer"], o["item_id"], o["price"], o["seen_at"]) for o in held] == [("orchard.test", "apple", "9", 1.0)]
    unreachable = (await api.post("/api/offers/refresh")).json()  # no directory listens where this one points
    assert "cannot be asked for producers" in unreachable["warning"] and unreachable["offers"] == held
    late = await api.post("/api/pools", json=_pool(cutoff=_days_ahead(2, 19).isoformat()))
    assert late.status_code == 400 and late.json()["error"]["path"] == "cutoff", late.text

    opened = await api.post("/api/pools", json=_pool())
    assert opened.status_code == 200, opened.text
    pool_id = opened.json()["pool_id"]
    joins = [await api.post("/api/intents", json=_join(h, lo, hi, pool_id=pool_id))
             for h, lo, hi in (("flat-1", "20", "30"), ("flat-2", "20", "20"), ("flat-3", "10", "10"))]
    assert [j.status_code for j in joins] == [200, 200, 200], [j.text for j in joins]
    withdrawn = await api.post(f"/api/intents/{joins[2].json()['intent_id']}/withdraw")
    assert withdrawn.json() == {"intent_id": joins[2].json()["intent_id"], "pool_id": pool_id, "status": "withdrawn"}
    again = await api.post(f"/api/intents/{joins[2].json()['intent_id']}/withdraw")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_withdrawn"
    assert again.json()["error"]["text"] == "This order line was already withdrawn."  # no language asked: English
    typo = await api.post("/api/intents", json=_join("flat-4", "twenty", "20", pool_id=pool_id),
                          headers={"Accept-Language": "zh-CN"})  # the fast path's 422: FastAPI's shape, and words
    assert typo.status_code == 422 and typo.json()["detail"][0]["loc"] == ["body", "min_quantity"], typo.text
    assert typo.json()["detail"][0]["text"] == "请输入数字，例如 2 或 2.5。"
    missing = await api.post("/api/pools", json={"item_id": "apple"}, headers={"Accept-Language": "zh-CN"})
    assert missing.status_code == 422 and missing.headers["content-language"] == "zh-CN"
    assert {e["text"] for e in missing.json()["detail"]} == {"此项必填。"}
    unknown = await api.post("/api/orders/no-such-order/status", headers={"Accept-Language": "zh-CN"})
    assert unknown.status_code == 404 and unknown.json()["error"]["text"] == "本节点没有这个订单。", unknown.text
    over = await api.post("/api/intents", json=_join("flat-4", "20", "20", pool_id=pool_id, max_price="1.00"),
                          headers={"Accept-Language": "zh"})  # the join fast path answers in the language too
    assert over.status_code == 400 and over.json()["error"]["text"] == "价格高于您的限价：提高限价才能参团。", over.text

    closed = (await api.post(f"/api/pools/{pool_id}/close")).json()
    assert closed["status"] == "allocated" and closed["outcome"]["total"] == "50"
    assert closed["outcome"]["unit_price"] == "8.00"  # 50 kg reach the second tier: everyone pays 8.00
    lines = (await api.get("/api/households/flat-1")).json()
    assert [(line["quantity"], line["unit_price"]) for line in lines] == [("30", "8.00")], lines
    assert len(lines[0]["pickup_code"]) == 8

    # the line's receipt, signed by the organiser's node, checks offline against the key its /health lists
    public_key = (await api.get("/health")).json()["signing_public_key"]
    receipt = lines[0]["receipt"]
    assert receipt["receipt"]["quantity"] == "30" and receipt["receipt"]["organiser"] == node.config.subscriber_id
    checked = _receipt_check(tmp_path, receipt, public_key)
    assert checked.exit_code == 0 and "valid" in checked.output, checked.output
    forged = {**receipt, "receipt": {**receipt["receipt"], "quantity": "40"}}
    refused = _receipt_check(tmp_path, forged, public_key)
    assert refused.exit_code == 2 and "does not match" in refused.output, refused.output
    assert (await api.post(f"/api/pools/{pool_id}/close")).status_code == 409
    assert (await api.get("/api/pools/no-such-pool")).status_code == 404
    still_open = (await api.post("/api/pools", json=_pool(pickup_points=["gate-9"]))).json()["pool_id"]
    resource = await api.post(f"/api/pools/{still_open}/resource")
    assert resource.status_code == 409 and resource.json()["error"]["code"] == "not_unsourced"
    # no producer is reachable from here: procurement gives the closed pool up as unsourced; it may be tried again
    for _ in range(400):
        procurement = (await api.get(f"/api/pools/{pool_id}")).json()["procurement"]
        if procurement and procurement["state"] == "unsourced":
            break
        await asyncio.sleep(0.05)
    assert procurement and procurement["state"] == "unsourced", procurement
    retried = await api.post(f"/api/pools/{pool_id}/resource")
    assert retried.status_code == 200 and retried.json()["procurement"]["state"] == "pending", retried.text


@pytest.mark.parametrize("node_client", [["producer"]], indirect=True)
async def test_producer_commands_on_the_producer_service(node_client):
    node, api = node_client
    item = {"id": "rice", "name": "Rice", "unit": "kg", "price": "6.5", "category": "grain",
            "windows": [{"id": "w1", "start": "2031-01-05T00:00:00Z", "end": "2031-01-06T00:00:00Z", "capacity": 100}]}
    assert (await api.put("/api/catalog/items", json=[item])).json() == {"updated": ["rice"]}
    catalog = (await api.get("/api/catalog")).json()
    assert [i["id"] for i in catalog["providers"][0]["items"]] == ["rice"]
    bad = await api.put("/api/catalog/items", json=[{**item, "price": "-1"}])
    assert bad.status_code == 422 and "price" in bad.text

    no_twin = await api.get("/api/twin", headers={"Accept-Language": "zh-CN"})  # no twin yet
    assert no_twin.status_code == 404 and no_twin.json()["error"] == {
        "code": "not_found", "message": no_twin.json()["detail"], "text": "没有这条记录。"}
    assert (await api.post("/api/plan/publish")).status_code == 404  # no plan yet
    assert (await api.post("/api/orders/nobody/fulfillment", json={"state": "Shipped"})).status_code == 404
    forecast_early = await api.post("/api/forecast/run", json={"horizon": 7})
    assert forecast_early.status_code == 409, forecast_early.text  # no demand yet

    today = datetime.now().date()
    rows = [{"product": "rice", "region": "north", "day": (today - timedelta(days=k)).isoformat(), "quantity": 10 + k % 3}
            for k in range(1, 40)]
    assert (await api.post("/api/demand/history", json=rows)).json() == {"imported": 39}
    future = [{**rows[0], "day": (today + timedelta(days=5)).isoformat()}]
    assert (await api.post("/api/demand/history", json=future)).status_code == 422
    job = (await api.post("/api/forecast/run", json={"horizon": 7, "windows": 1})).json()
    assert (await _finished(api, job))["state"] == "done"
    run = (await api.get("/api/forecast")).json()
    assert run["summary"]["series"] == 1 and len(run["series"][0]["mean"]) == 7
    assert run["series"][0]["id"] == "rice/north"

    twin = {"resources": [{"id": "mill", "capacity": 100}],
            "products": [{"id": "rice", "unit": "kg", "price": 6.5, "unit_cost": 2.0, "shelf_life": 30,
                          "routings": [{"resource": "mill", "use": 0.1}]}],
            "lanes": [{"region": "north", "cost_per_unit": 0.2, "days": 0}]}
    assert (await api.put("/api/twin", json=twin)).json()["products"] == 1
    edited = await api.put("/api/twin/resources/mill", json={"capacity": 80})
    assert edited.status_code == 200 and edited.json()["resources"][0]["capacity"] == 80
    assert (await api.delete("/api/twin/lanes/south")).status_code == 404
    plan_job = (await api.post("/api/plan/run", json={"days": 7, "start": (today + timedelta(days=1)).isoformat()})).json()
    assert (await _finished(api, plan_job))["state"] == "done"
    plan = (await api.get("/api/plan")).json()
    assert plan["status"] == "optimal" and plan["offers"], plan["summary"]
    published = (await api.post("/api/plan/publish")).json()
    assert published["plan_run"] == plan["run_id"] and published["published_windows"] >= 1
    windows = (await api.get("/api/catalog")).json()["providers"][0]["fulfillments"]
    assert any(w["id"].startswith("plan-") for w in windows), windows


async def _finished(api: httpx.AsyncClient, job: dict[str, Any]) -> dict[str, Any]:
    """Poll a job's stored progress until it ends (it runs in this event loop's worker thread)."""
    for _ in range(1200):
        state: dict[str, Any] = (await api.get(f"/api/jobs/{job['job_id']}")).json()
        if state["state"] != "running":
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job['job_id']} still running after 60 s")
