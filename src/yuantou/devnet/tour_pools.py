"""The tour's pooling story: a community's households pool their apple orders, bought from several producers.

One organiser's buyer node collects households' intents (each "4 to 7 kg of Fuji apples,
grade A, at most 9.00/kg, collected at the school"), opens pools on the producers'
catalog terms, closes them, and buys each pooled total straight from the producers.
The orchard is cheapest but cannot grow enough for everyone: the node counts what its earlier pools
took of the orchard's window and buys the rest from the mill (a producer that refuses is re-sourced
too) — every step is a signed Beckn message between two nodes.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from yuantou.devnet.client import FlowError, NodeClient

PICKUP_POINTS = ("north-gate", "school", "market")
HOUSEHOLDS_PER_POINT = 40


def short(subscriber_id: str) -> str:
    return subscriber_id.split(".")[0]


def households_pool(organiser: NodeClient, producers: int, advance) -> list[str]:  # noqa: ANN001
    """Households at three pickup points join; returns the pools the node opened for them."""
    sent = organiser.post("/api/search", {"query": "apple"})
    organiser.callbacks(sent["message_id"], wait=10, count=producers)  # catalogs teach the node the pooling terms
    rng = random.Random(7)
    now = datetime.now(UTC)
    pools: list[str] = []
    for point in PICKUP_POINTS:
        for n in range(HOUSEHOLDS_PER_POINT):
            low = rng.choice((3, 4, 5))
            joined = organiser.post("/api/intents", {
                "household": f"{point}-{n:02d}", "item_id": "apple-fuji-a", "min_quantity": str(low),
                "max_quantity": str(low + rng.choice((1, 2, 3))), "max_price": "9.00", "pickup_point": point,
                "window_start": now.isoformat(), "window_end": (now + timedelta(days=4)).isoformat()})
            if joined["pool_id"] not in pools:
                pools.append(joined["pool_id"])
            advance()
    return pools


def close_and_buy(organiser: NodeClient, pools: list[str], advance, timeout: float = 90) -> list[dict]:  # noqa: ANN001
    """The organiser closes the pools (their cut-off, brought forward) and waits until each is bought or not."""
    for pool_id in pools:
        organiser.post(f"/api/pools/{pool_id}/close")
    done: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(done) < len(pools):
        if time.monotonic() > deadline:
            raise FlowError(f"pools not bought within {timeout:.0f}s: {sorted(set(pools) - set(done))}")
        for pool_id in pools:
            if pool_id in done:
                continue
            pool = organiser.get(f"/api/pools/{pool_id}")
            if pool["status"] == "failed" or (pool["procurement"] or {}).get("state") in ("ordered", "unsourced"):
                done[pool_id] = pool
                advance()
        time.sleep(0.2)
    return [done[p] for p in pools]


def pool_lines(pools: list[dict]) -> list[str]:
    """One line per pool: what was pooled, at what price, and who supplies it (and who failed, and why)."""
    lines = []
    for pool in pools:
        outcome = pool["outcome"] or {}
        head = f"pool at {pool['pickup_points'][0]}: "
        if pool["status"] == "failed":
            lines.append(head + f"failed ({outcome.get('reason')}); nobody charged")
            continue
        proc = pool["procurement"]
        bought = [o for o in proc["orders"] if o["stage"] == "confirmed"]
        failed = [o for o in proc["orders"] if o["stage"] in ("refused", "timed_out")]
        text = (head + f"{outcome['households']} households, {outcome['total']} {pool['unit']} at "
                       f"{outcome['unit_price']}/{pool['unit']} → ")
        if proc["state"] == "unsourced":
            lines.append(text + f"not bought: {proc['note']}")
            continue
        text += " + ".join(f"{short(o['producer'])} {o['quantity']} {o['unit']} (order {o['order_id'][:8]})"
                           for o in bought)
        for o in failed:
            text += f"; {short(o['producer'])} {o['stage'].replace('_', ' ')} ({o['reason']}), re-sourced"
        lines.append(text)
    return lines


def list_lines(organiser: NodeClient) -> list[str]:
    """The organiser's pick lists (per pickup point) and purchase lists (per producer), summed."""
    lines = []
    for point, rows in organiser.get("/api/pick-lists").items():
        by_producer: dict[str, float] = {}
        for r in rows:
            for f in r["from"]:
                by_producer[short(f["producer"])] = by_producer.get(short(f["producer"]), 0) + float(f["quantity"])
        lines.append(f"pick list {point}: {len(rows)} households, "
                     + ", ".join(f"{q:g} kg from {p}" for p, q in sorted(by_producer.items())))
    for producer, rows in organiser.get("/api/purchase-lists").items():
        quantity = sum(float(r["quantity"]) for r in rows)
        cost = sum(float(r["landed_cost"]) for r in rows)
        lines.append(f"purchase list {short(producer)}: {len(rows)} order{'' if len(rows) == 1 else 's'}, {quantity:g} kg, {cost:.2f} CNY landed")
    return lines


def producer_packs(organiser: NodeClient, producer: NodeClient, producer_id: str) -> str:
    """A producer packs its pooled orders; the change reaches the lines of the households it supplies."""
    for rows in organiser.get("/api/purchase-lists", producer=producer_id).values():
        for r in rows:
            producer.post(f"/api/orders/{r['order_id']}/fulfillment", {"state": "Packed"})
    household = next(r["household"] for rows in organiser.get("/api/pick-lists").values() for r in rows
                     if {f["producer"] for f in r["from"]} == {producer_id})
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = organiser.get(f"/api/households/{household}")[0]
        if line["status"] == "packed":
            return (f"{short(producer_id)} packed its orders → household {household} sees: {line['quantity']} "
                    f"{line['unit']} at {line['unit_price']} = {line['amount']} {line['currency']}, "
                    f"{line['pickup_point']}, {line['status']}")
        time.sleep(0.2)
    raise FlowError(f"household {household}'s line did not show the producer's progress")
