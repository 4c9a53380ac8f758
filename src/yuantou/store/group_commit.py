"""Group commit for small writes that must be durable before their caller is answered.

Callers arriving while a commit is in flight queue up and are written together by the
next one, so one fsync covers many answers. Each write runs in its own savepoint: one
that raises is undone alone and its caller gets the exception; the others commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from yuantou.store.db import Database

Write = Callable[[Connection], Any]


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = 200,
                 on_commit_failure: Callable[[], Any] | None = None) -> None:
        """``on_commit_failure`` (awaited if async) lets callers drop in-memory state the failed batch changed."""
        self.db = db
        self.on_commit_failure = on_commit_failure
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Write, asyncio.Future]] = asyncio.Queue()
        self.commits = 0

    async def run_write(self, write: Write) -> Any:
        """Run ``write(conn)`` in the next group commit; its result (or exception) once committed."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((write, future))
        return await future

    @staticmethod
    def _apply(conn: Connection, batch: list[tuple[Write, asyncio.Future]]) -> list[tuple[bool, Any]]:
        outcomes = []
        for write, _ in batch:
            try:
                with conn.begin_nested():
                    outcomes.append((True, write(conn)))
            except Exception as exc:  # noqa: BLE001 - handed to that caller, the others go on
                outcomes.append((False, exc))
        return outcomes

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await self.db.run(lambda conn: self._apply(conn, batch))
            except Exception as exc:  # the commit itself failed: nobody's write is durable
                if self.on_commit_failure is not None:
                    reset = self.on_commit_failure()
                    if asyncio.iscoroutine(reset):
                        await reset
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.commits += 1
            for (_, future), (ok, value) in zip(batch, outcomes):
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(value)
