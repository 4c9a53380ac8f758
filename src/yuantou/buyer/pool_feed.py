"""Tells open storefront pages that a pool changed, so they show its new total and price within a moment.

Every join, change, withdrawal and close bumps the pool's version once it is committed. A page's live
stream waits for any bump, then sends the pools it shows whose version moved: one wake-up per commit
batch, whatever the number of pages, and nothing is read from the store to find out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class PoolFeed:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self._changed = asyncio.Event()

    def bump(self, pool_ids: Iterable[str]) -> None:
        for pool_id in pool_ids:
            self.versions[pool_id] = self.versions.get(pool_id, 0) + 1
        self._changed.set()
        self._changed = asyncio.Event()  # the waiters hold the old one, now set; later waiters wait anew

    def version(self, pool_id: str) -> int:
        return self.versions.get(pool_id, 0)

    async def wait(self, timeout: float) -> bool:
        """Until the next bump (True), or ``timeout`` seconds (False)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
            return True
        except TimeoutError:
            return False
