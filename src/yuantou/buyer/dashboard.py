"""What the organiser's dashboard panels read of the buyer's store: one function per panel, each a plain query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.buyer.bought_pools import BoughtPools
from yuantou.buyer.pool_desk import terms_from_json
from yuantou.buyer.pool_lists import units
from yuantou.buyer.views import pool_view
from yuantou.domain.handout import HANDED_OUT
from yuantou.store.tables import pool_intents, pools


def pool_rows(conn: Connection, closed_limit: int = 10) -> dict[str, Any]:
    """Open pools (with progress toward their minimum batch) and the latest closed ones."""
    open_ids = list(conn.execute(select(pools.c.pool_id).where(pools.c.status == "open").order_by(pools.c.cutoff))
                    .scalars())
    closed_ids = list(conn.execute(select(pools.c.pool_id).where(pools.c.status != "open")
                                   .order_by(pools.c.closed_at.desc()).limit(closed_limit)).scalars())
    cutoffs = dict(conn.execute(select(pools.c.pool_id, pools.c.cutoff)).all())

    def view(pool_id: str) -> dict[str, Any]:
        v = pool_view(conn, pool_id)
        assert v is not None  # listed from the pools table just now
        item = v["product"]["item_id"] or v["product"]["category"] or "?"
        moq = float(v.get("moq") or 0)
        v.update(cutoff_at=cutoffs[pool_id], label=f"{item} · {pool_id[-6:]}",
                 progress=100.0 if moq == 0 else min(100.0, 100 * float(v["pooled_min"]) / moq))
        return v

    return {"open": [view(p) for p in open_ids], "closed": [view(p) for p in closed_ids]}


def intent_rows(conn: Connection, limit: int = 15) -> dict[str, Any]:
    """Households' latest intents and how many are in each state."""
    counts = {s: n for s, n in conn.execute(select(pool_intents.c.status, func.count())
                                            .group_by(pool_intents.c.status))}
    rows = conn.execute(select(pool_intents, pools.c.terms).join(pools, pools.c.pool_id == pool_intents.c.pool_id)
                        .order_by(pool_intents.c.updated_at.desc()).limit(limit)).mappings().all()
    out = []
    for r in rows:
        terms = terms_from_json(r["terms"])
        out.append({"household": r["household"], "pool_id": r["pool_id"], "status": r["status"],
                    "pickup_point": r["pickup_point"], "asked": f"{units(r['min_quantity'], terms.step)}–"
                                                                  f"{units(r['max_quantity'], terms.step)} {terms.unit}",
                    "allocated": units(r["quantity"], terms.step), "updated_at": r["updated_at"]})
    return {"counts": counts, "rows": out}


def purchase_rows(conn: Connection, bought: BoughtPools) -> dict[str, list[dict[str, Any]]]:
    """Purchase lists per producer, latest order first."""
    return {producer: list(reversed(rows)) for producer, rows in bought.purchase_lists(conn).items()}


def pick_rows(conn: Connection, bought: BoughtPools) -> dict[str, Any]:
    """What is still to hand out at each pickup point; lines delivered or handed out are only counted."""
    pick, handed = {}, 0
    for point, rows in bought.pick_lists(conn).items():
        waiting = [r for r in rows if r["status"] not in ("delivered", HANDED_OUT)]
        handed += len(rows) - len(waiting)
        if waiting:
            pick[point] = waiting
    return {"pick": pick, "handed_out": handed}
