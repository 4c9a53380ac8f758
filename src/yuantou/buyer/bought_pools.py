"""The pick and purchase lists an organiser's dashboard polls, derived again only for pools that changed.

Each bought pool's lines and orders are derived when read (``node.pool_lists``): a few queries and some
arithmetic per pool. The dashboard asks every 5 s, and a node that has bought a pool a day for a year holds
hundreds of them, nearly all long delivered. So each pool's share of the lists is kept with a version of what
it is derived from (its procurement state and note, and the count and timestamps of its orders and of its
households' intents, read for every pool in two grouped queries), and only a pool whose version moved is
derived again.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.buyer.pool_lists import BOUGHT, PoolState, merged, pool_pick_lists, pool_purchase_lists
from yuantou.store.tables import pool_intents, pool_orders, pools

Lists = dict[str, list[dict[str, Any]]]


def versions(conn: Connection) -> dict[str, tuple]:
    """Every bought pool, in the order they closed, with a version that changes whenever its lists could."""
    bought = pools.c.procurement.in_(BOUGHT)
    found: dict[str, tuple] = {pool_id: (state, note) for pool_id, state, note in conn.execute(
        select(pools.c.pool_id, pools.c.procurement, pools.c.procurement_note).where(bought)
        .order_by(pools.c.closed_at))}
    for table in (pool_orders, pool_intents):
        for pool_id, count, stamps, latest in conn.execute(
                select(table.c.pool_id, func.count(), func.sum(table.c.updated_at), func.max(table.c.updated_at))
                .join(pools, pools.c.pool_id == table.c.pool_id).where(bought).group_by(table.c.pool_id)):
            if pool_id in found:
                found[pool_id] += (table.name, count, stamps, latest)
    return found


class BoughtPools:
    """Each bought pool's pick and purchase lists, kept between reads with the version they were derived at."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # panels are read in the store's worker threads
        self._shares: dict[str, tuple[tuple, Lists, Lists]] = {}
        self.derived = 0  # pools derived again, over this object's life (what the cache saves is visible)

    def _read(self, conn: Connection) -> list[tuple[tuple, Lists, Lists]]:
        with self._lock:
            fresh = {}
            for pool_id, version in versions(conn).items():
                share = self._shares.get(pool_id)
                if share is None or share[0] != version:
                    state = PoolState(conn, pool_id)
                    share = (version, pool_pick_lists(state), pool_purchase_lists(state))
                    self.derived += 1
                fresh[pool_id] = share
            self._shares = fresh  # pools no longer bought (none, today) drop out
            return list(fresh.values())

    def pick_lists(self, conn: Connection) -> Lists:
        """As ``pool_lists.pick_lists``."""
        return merged(pick for _, pick, _ in self._read(conn))

    def purchase_lists(self, conn: Connection) -> Lists:
        """As ``pool_lists.purchase_lists``."""
        return merged(purchase for _, _, purchase in self._read(conn))
