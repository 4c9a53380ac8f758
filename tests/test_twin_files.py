"""The capacity twin's files: JSON and CSV read back to the same twin, and bad files say file, row and field."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from yuantou.domain.twin import TwinError
from yuantou.producer.twin_files import load_twin, save_twin, twin_from_json, twin_to_json

TWIN = {
    "resources": [
        {"id": "press", "name": "Juice press", "unit": "h", "capacity": 8, "weekly": [8, 8, 8, 8, 8, 0, 0],
         "calendar": {"2026-12-25": 0}},
        {"id": "crew", "capacity": 10},
    ],
    "products": [
        {"id": "juice", "name": "Apple juice", "unit": "l", "price": 3.0, "unit_cost": 1.0, "setup_cost": 20,
         "min_batch": 50, "yield": 0.9, "lead_time": 1, "shelf_life": 5, "holding_cost": 0.02,
         "disposal_cost": 0.1, "routings": [{"resource": "press", "use": 0.05, "setup_time": 1}]},
        {"id": "apples", "unit": "kg", "price": 2.0, "unit_cost": 0.6, "routings": [{"resource": "crew", "use": 0.02}]},
    ],
    "stock": [{"id": "lot-1", "product": "apples", "quantity": 100, "expires": "2026-12-03"}],
    "lanes": [{"region": "north", "cost_per_unit": 0.1, "days": 1},
              {"region": "south", "cost_per_unit": 0.2, "days": 2, "capacity": 400}],
}


def test_json_and_csv_read_back_to_the_same_twin(tmp_path: Path) -> None:
    twin = twin_from_json(TWIN)
    assert twin.resource("press").capacity_on(date(2026, 12, 5)) == 0  # a Saturday
    assert twin.resource("press").capacity_on(date(2026, 12, 25)) == 0  # the calendar wins
    assert twin.resource("press").capacity_on(date(2026, 12, 24)) == 8
    assert twin.product("juice").yield_ == 0.9 and twin.product("juice").needs_setup
    assert not twin.product("apples").needs_setup and twin.product("apples").shelf_life is None
    save_twin(twin, tmp_path / "twin.json")
    assert load_twin(tmp_path / "twin.json") == twin
    save_twin(twin, tmp_path / "csv")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == [
        "calendar.csv", "lanes.csv", "products.csv", "resources.csv", "routings.csv", "stock.csv"]
    assert load_twin(tmp_path / "csv") == twin
    assert twin_to_json(load_twin(tmp_path / "csv")) == twin_to_json(twin)


def _with(section: str, index: int, **changes: object) -> dict:
    doc = json.loads(json.dumps(TWIN))
    doc[section][index].update(changes)
    return doc


@pytest.mark.parametrize("doc, message", [
    (_with("products", 0, **{"yield": 1.4}), "twin.json: products[0].yield: should be above 0 and at most 1, found 1.4"),
    (_with("products", 0, price="cheap"), "twin.json: products[0].price: should be a number, found 'cheap'"),
    (_with("products", 1, routings=[{"resource": "oven", "use": 1}]),
     "twin.json: products[1].routings[0].resource: unknown resource 'oven'"),
    (_with("products", 0, lead_time=1.5), "twin.json: products[0].lead_time: should be a whole number of days"),
    (_with("resources", 0, weekly=[8, 8]), "twin.json: resources[0].weekly: should list 7 capacities"),
    (_with("resources", 0, calendar={"Christmas": 0}), "twin.json: resources[0].calendar['Christmas'].date: should be a date"),
    (_with("stock", 0, product="pears"), "twin.json: stock[0].product: unknown product 'pears'"),
    (_with("lanes", 1, region="north"), "twin.json: lane 'north' is defined twice"),
    (_with("products", 1, routings=[]), "twin.json: products[1] (apples): no resource can make it"),
    ({"resources": [], "machines": []}, "twin.json: unknown section 'machines'"),
])
def test_bad_json_names_the_path_and_field(doc: dict, message: str) -> None:
    with pytest.raises(TwinError) as err:
        twin_from_json(doc, "twin.json")
    assert str(err.value).startswith(message), str(err.value)


def test_bad_csv_names_file_line_and_column(tmp_path: Path) -> None:
    save_twin(twin_from_json(TWIN), tmp_path)
    products = (tmp_path / "products.csv").read_text().splitlines()
    products[2] = products[2].replace("0.6", "sixty cents")
    (tmp_path / "products.csv").write_text("\n".join(products) + "\n")
    with pytest.raises(TwinError, match=r"^products.csv: line 3: unit_cost: should be a number, found 'sixty cents'$"):
        load_twin(tmp_path)
    save_twin(twin_from_json(TWIN), tmp_path)
    (tmp_path / "routings.csv").write_text("product,resource,use,setup_time\njuice,press,0.05,1\napples,crew,-2,\n")
    with pytest.raises(TwinError, match=r"^routings.csv: line 3: use: should be above 0, found '-2'$"):
        load_twin(tmp_path)
    (tmp_path / "routings.csv").write_text("product,resource,speed\n")
    with pytest.raises(TwinError, match=r"^routings.csv: line 1: unknown column 'speed'"):
        load_twin(tmp_path)
    (tmp_path / "routings.csv").write_text("product,resource,use\ncider,press,1\n")
    with pytest.raises(TwinError, match=r"^routings.csv: line 2: product: unknown product 'cider'"):
        load_twin(tmp_path)
    (tmp_path / "resources.csv").unlink()
    with pytest.raises(TwinError, match="resources.csv is missing"):
        load_twin(tmp_path)


def test_bad_json_file_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "twin.json").write_text('{"resources": [\n  {"id": "press",}\n]}')
    with pytest.raises(TwinError, match=r"^twin.json: line 2: not JSON"):
        load_twin(tmp_path / "twin.json")


def test_an_unknown_key_in_a_json_twin_is_named_not_ignored() -> None:
    """``shelf_lfe`` silently meant "no shelf life" before: each record's keys are checked, nested ones too."""
    doc = {"resources": [{"id": "press", "capacity": 8}],
           "products": [{"id": "juice", "price": 6, "shelf_lfe": 3, "routings": [{"resource": "press", "use": 0.1}]}]}
    with pytest.raises(TwinError, match=r"twin.json: products\[0\]\.shelf_lfe: unknown key \(a products record takes"):
        twin_from_json(doc)
    doc["products"][0]["shelf_life"] = doc["products"][0].pop("shelf_lfe")
    doc["products"][0]["routings"][0]["usage"] = 0.2
    with pytest.raises(TwinError, match=r"products\[0\]\.routings\[0\]\.usage: unknown key"):
        twin_from_json(doc)
    del doc["products"][0]["routings"][0]["usage"]
    assert twin_from_json(doc).products[0].shelf_life == 3
