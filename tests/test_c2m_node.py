"""C2M end to end on real nodes: a producer's own orders and imported history become forecasts and a plan
that meets its confirmed orders and offers the room left as catalog capacity."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from yuantou.devnet.client import NodeClient, order_flow
from yuantou.devnet.localnet import LOCAL

APPLE = "apple-fuji-a"
PEAR = "pear-snow"


def twin_document(buyers: list[str]) -> dict:
    return {
        "resources": [{"id": "pickers", "name": "Picking crew", "unit": "h", "capacity": 40},
                      {"id": "packhouse", "capacity": 16, "weekly": [16, 16, 16, 16, 16, 8, 0]}],
        "products": [
            {"id": APPLE, "unit": "kg", "price": 8.5, "unit_cost": 3.0, "shelf_life": 10, "holding_cost": 0.05,
             "routings": [{"resource": "pickers", "use": 0.05}]},
            {"id": PEAR, "unit": "kg", "price": 6.0, "unit_cost": 2.0, "shelf_life": 7, "setup_cost": 30,
             "min_batch": 20, "routings": [{"resource": "packhouse", "use": 0.04, "setup_time": 0.5}]},
        ],
        "lanes": [{"region": b, "cost_per_unit": 0.3, "days": 0} for b in buyers],
    }


@pytest.fixture(scope="module")
def c2m(network):
    orchard = NodeClient(network.producers["orchard"].url, network.producers["orchard"].token)
    buyer = NodeClient(network.buyers["buyer1"].url, network.buyers["buyer1"].token)
    buyers = [p.subscriber_id for p in network.buyers.values()]
    # an order for the day after tomorrow, confirmed point to point
    sent = buyer.post("/api/search", {"query": "apple", "bpp_id": network.producers["orchard"].subscriber_id})
    offer = buyer.one_callback(sent["message_id"])["message"]["catalog"]["providers"][0]
    window = (datetime.now(LOCAL).date() + timedelta(days=2)).isoformat()
    confirmed = order_flow(buyer, sent["transaction_id"], network.producers["orchard"].subscriber_id, offer["id"],
                           [{"id": APPLE, "quantity": 120, "unit": "kg"}], window)
    assert not confirmed.get("error"), confirmed
    # 10 weeks of sales from before the node existed, with a weekly rhythm, to two buyers
    today = datetime.now(UTC).date()
    rng = np.random.default_rng(3)
    history = [{"product": product, "region": region, "day": (today - timedelta(days=k)).isoformat(),
                "quantity": float(rng.poisson(base * (1.5 if (today - timedelta(days=k)).weekday() >= 5 else 1.0)))}
               for product, base in ((APPLE, 40), (PEAR, 12)) for region in buyers for k in range(1, 71)]
    assert orchard.post("/api/demand/history", history) == {"imported": len(history)}
    assert orchard.put("/api/twin", twin_document(buyers))["products"] == 2
    return {"orchard": orchard, "buyers": buyers, "window": window, "today": today,
            "order_id": confirmed["message"]["order"]["id"]}


def test_demand_series_join_orders_and_history(c2m):
    until = (c2m["today"] + timedelta(days=5)).isoformat()
    series = c2m["orchard"].get("/api/demand/series", until=until)["series"]
    region = c2m["buyers"][0]
    apples = series[f"{APPLE}/{region}"]
    assert len(apples) == 70 + 5
    # the confirmed order, on its window's day; the window is dated in China time, so from 16:00 UTC on it
    # falls one UTC day later than "today + 2" (the 5 days after today hold only it either way)
    window_index = (date.fromisoformat(c2m["window"]) - date.fromisoformat(until)).days
    assert -5 <= window_index < 0
    assert apples[window_index] >= 120
    assert sum(apples[-5:]) == pytest.approx(120)


def test_forecast_run_is_a_job_and_its_series_are_stored(c2m):
    orchard = c2m["orchard"]
    job = orchard.post("/api/forecast/run", {"horizon": 14, "levels": [80, 95]})
    assert job["state"] == "running"
    done = orchard.wait_job(job)
    assert done["total"] == 4 and done["done"] == 4
    run = orchard.get("/api/forecast")
    assert run["run_id"] == done["run_id"] and run["summary"]["series"] == 4
    for s in run["series"]:
        assert s["model"] != "Empirical"  # 70 days of history is enough to choose a model
        assert len(s["mean"]) == 14 and s["dates"][0] == c2m["today"].isoformat()
        for k in range(14):
            assert 0 <= s["lo"]["95"][k] <= s["lo"]["80"][k] <= s["mean"][k] <= s["hi"]["80"][k] <= s["hi"]["95"][k]
        product = s["id"].split("/")[0]
        assert 20 < np.mean(s["mean"]) < 80 if product == APPLE else 4 < np.mean(s["mean"]) < 30


def test_plan_meets_the_confirmed_order_and_publishes_capacity(c2m):
    orchard = c2m["orchard"]
    orchard.wait_job(orchard.post("/api/forecast/run", {"horizon": 14}))
    done = orchard.wait_job(orchard.post("/api/plan/run", {"days": 14, "publish": True}))
    plan = orchard.get("/api/plan")
    assert plan["run_id"] == done["run_id"] and plan["status"] == "optimal", plan.get("message")
    region = c2m["buyers"][0]
    day = date.fromisoformat(c2m["window"])
    confirmed = [s for s in plan["shipments"] if s["product"] == APPLE and s["region"] == region
                 and s["arrive"] == day.isoformat()]
    assert confirmed and confirmed[0]["confirmed"] == pytest.approx(120)
    assert all(r["used"] <= r["capacity"] + 1e-6 for r in plan["resources"])
    assert plan["fill_rate"]["confirmed"] == 1.0 and 0 < plan["fill_rate"]["forecast"] <= 1
    assert plan["summary"]["published_windows"] > 0
    # the catalog now offers, per local day, what the plan makes ready for new orders, in whole bulk units (5 kg)
    offers = {(o["product"], o["day"]): o["quantity"] for o in plan["offers"]}
    catalog = orchard.get("/api/catalog")
    items = {i["id"]: i for i in catalog["providers"][0]["items"]}
    capacity = {t["descriptor"]["code"]: float(t["value"]) for g in items[APPLE]["tags"]
                if g["descriptor"]["code"] == "yuantou.capacity" for t in g["list"]}
    assert capacity[c2m["window"]] == 5 * math.floor(offers[(APPLE, c2m["window"])] / 5)
    days = {w for w in capacity if not w.startswith("plan-")}  # the catalog's windows are named by their local day
    assert days and not {w for w in capacity if w.removeprefix("plan-") in days} - days  # no plan- window beside


def test_an_impossible_order_is_explained(c2m, network):
    orchard = c2m["orchard"]
    twin = orchard.get("/api/twin")
    tight = {**twin, "resources": [{**r, "capacity": 1} if r["id"] == "pickers" else r for r in twin["resources"]]}
    orchard.put("/api/twin", tight)
    try:
        done = orchard.wait_job(orchard.post("/api/plan/run", {"days": 7}))
        plan = orchard.get("/api/plan")
        assert plan["run_id"] == done["run_id"] and plan["status"] == "infeasible"
        [short] = plan["shortfalls"]
        assert short["product"] == APPLE and short["short"] > 0
        assert "pickers is full" in plan["message"]
    finally:
        orchard.put("/api/twin", twin)


def test_twin_api_edits_and_refusals(c2m):
    orchard = c2m["orchard"]
    updated = orchard.put("/api/twin/resources/pickers", {"name": "Picking crew", "capacity": 48})
    assert next(r for r in updated["resources"] if r["id"] == "pickers")["capacity"] == 48
    http = orchard.http
    if True:
        bad = http.put("/api/twin/products/" + APPLE, json={"price": 8.5, "yield": 2,
                                                            "routings": [{"resource": "pickers", "use": 0.05}]})
        assert bad.status_code == 422 and "yield: should be above 0 and at most 1" in bad.json()["detail"]
        gone = http.put("/api/twin/products/cider", json={"price": 3, "routings": [{"resource": "press", "use": 1}]})
        assert gone.status_code == 422 and "unknown resource 'press'" in gone.json()["detail"]
        assert http.delete("/api/twin/lanes/nowhere").status_code == 404
    assert orchard.get("/api/twin")["products"][0]["id"] == APPLE  # nothing stored was lost


def test_cli_imports_history_and_plans_on_the_node(c2m, network, tmp_path):
    from typer.testing import CliRunner

    from yuantou.cli import app

    url = network.producers["orchard"].url
    token = network.producers["orchard"].token
    region = c2m["buyers"][1]
    csv = tmp_path / "old_sales.csv"
    first = c2m["today"] - timedelta(days=200)
    csv.write_text("id,date,quantity\n" + "".join(f"{PEAR}/{region},{(first + timedelta(days=k)).isoformat()},{10 + k % 7}\n"
                                                  for k in range(5)))
    runner = CliRunner()
    done = runner.invoke(app, ["forecast", "import", str(csv), "--node", url, "--token", token])
    assert done.exit_code == 0, done.output
    assert "5 days of sales imported" in done.output
    series = c2m["orchard"].get("/api/demand/series")
    start = date.fromisoformat(series["from"])
    assert start == first and series["series"][f"{PEAR}/{region}"][:5] == [10, 11, 12, 13, 14]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,date,quantity\npear,2026-01-01,lots\n")
    refused = runner.invoke(app, ["forecast", "import", str(bad), "--node", url, "--token", token])
    assert refused.exit_code != 0 and "bad.csv" in refused.output and "line 2" in refused.output
    planned = runner.invoke(app, ["plan", "run", "--node", url, "--days", "7", "--token", token])
    assert planned.exit_code == 0, planned.output
    assert "margin" in planned.output and "fill rate: confirmed 100%" in planned.output
