"""Quotes without an order are demand on its way (``c2m.open_requests``): read from a real store (SQLite, or
PostgreSQL with YUANTOU_TEST_PG), the latest request of each open transaction, none of an ordered one."""

from __future__ import annotations

import json
from datetime import date

from yuantou.producer.c2m import open_requests
from yuantou.store.db import Database
from yuantou.store.tables import inbox, orders

WINDOW = {"start": "2026-12-03T06:00:00+08:00", "end": "2026-12-03T20:00:00+08:00"}  # the UTC day of its middle


def request(n: int, action: str, tx: str, buyer: str, item: str, quantity: str) -> dict:
    order = {"items": [{"id": item, "quantity": {"selected": {"measure": {"value": quantity, "unit": "kg"}}},
                        "fulfillment_ids": ["f1"]}],
             "fulfillments": [{"id": "f1", "stops": [{"time": {"range": WINDOW}}]}]}
    body = {"context": {"action": action, "transaction_id": tx, "message_id": f"m{n}", "bap_id": buyer},
            "message": {"order": order}}
    return {"sender_id": buyer, "action": action, "message_id": f"m{n}", "transaction_id": tx,
            "body": json.dumps(body).encode(), "received_at": 1_000.0 + n}


def test_the_latest_request_of_each_open_transaction_and_none_of_an_ordered_one(db: Database) -> None:
    rows = [request(1, "select", "open", "shop", "pear", "35"), request(2, "select", "done", "shop", "apple", "10"),
            request(3, "init", "open", "shop", "pear", "40"), request(4, "init", "done", "shop", "apple", "10"),
            request(5, "select", "other", "canteen", "apple", "7"), request(6, "confirm", "other", "canteen", "apple", "7")]
    db.transaction(lambda c: c.execute(inbox.insert(), rows))
    db.transaction(lambda c: c.execute(orders.insert().values(
        order_id="o1", side="sell", transaction_id="done", counterparty_id="shop", status="ACTIVE", body="{}",
        created_at=1.0, updated_at=1.0)))
    assert sorted(db.transaction(open_requests)) == [("apple", "canteen", 7.0, date(2026, 12, 3)),
                                                     ("pear", "shop", 40.0, date(2026, 12, 3))]
