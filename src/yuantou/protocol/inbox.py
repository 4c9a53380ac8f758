"""Durable intake with group commit: a request is ACKed only once it is on disk.

Requests arriving while a commit is in flight wait in a queue and are written by
the next commit together, so one fsync covers many ACKs. The unique key
``(sender, action, message_id)`` makes a repeated request a no-op that is still ACKed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from yuantou.store.db import Database, insert_ignoring_duplicates
from yuantou.store.tables import inbox


class InboxWriter:
    def __init__(self, db: Database, on_stored: Callable[[], None] | None = None, max_batch: int = 500) -> None:
        self.db = db
        self.on_stored = on_stored
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[dict, asyncio.Future]] = asyncio.Queue()
        self.commits = 0
        self.rows = 0

    async def store(self, row: dict) -> bool:
        """Persist ``row``; ``True`` if new, ``False`` if this message was already stored."""
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((row, fut))
        return await fut

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            rows = [row for row, _ in batch]
            try:
                new = await self.db.run(lambda conn: insert_ignoring_duplicates(conn, inbox, rows))
            except Exception as exc:  # the whole group failed: nobody gets an ACK
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            self.commits += 1
            self.rows += len(rows)
            for (_, fut), is_new in zip(batch, new):
                if not fut.done():
                    fut.set_result(is_new)
            if self.on_stored and any(new):
                self.on_stored()
