"""Group commit for small writes that must be durable before their caller is answered.

Callers arriving while a commit is in flight queue up and are written together by the
next one, so one fsync covers many answers. By default each item is a write
``fn(conn)`` run in its own savepoint: one that raises is undone alone and its caller
gets the exception; the others commit. A caller with a cheaper way to write a whole
batch (the inbox inserts rows in one go) passes its own ``apply``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from yuantou.store.db import Database

Outcome = tuple[bool, Any]  # (succeeded, result or exception)
Apply = Callable[[Connection, list[Any]], list[Outcome]]


def each_in_savepoint(conn: Connection, writes: list[Callable[[Connection], Any]]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for write in writes:
        try:
            with conn.begin_nested():
                outcomes.append((True, write(conn)))
        except Exception as exc:  # noqa: BLE001 - handed to that caller, the others go on
            outcomes.append((False, exc))
    return outcomes


class GroupCommitter:
    def __init__(self, db: Database, max_batch: int = 200, apply: Apply = each_in_savepoint,
                 on_committed: Callable[[list[Outcome]], None] | None = None,
                 on_commit_failure: Callable[[], Any] | None = None) -> None:
        """``on_commit_failure`` (awaited if async) lets callers drop in-memory state the failed batch changed."""
        self.db = db
        self.max_batch = max_batch
        self.apply = apply
        self.on_committed = on_committed
        self.on_commit_failure = on_commit_failure
        self._queue: asyncio.Queue[tuple[Any, asyncio.Future]] = asyncio.Queue()
        self.commits = 0

    async def submit(self, item: Any) -> Any:
        """Write ``item`` in the next group commit; its result (or exception) once committed."""
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < self.max_batch:
                batch.append(self._queue.get_nowait())
            items = [item for item, _ in batch]
            try:
                outcomes = await self.db.run(lambda conn: self.apply(conn, items))
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
            if self.on_committed is not None:
                self.on_committed(outcomes)
            for (_, future), (ok, value) in zip(batch, outcomes):
                if not future.done():
                    future.set_result(value) if ok else future.set_exception(value)
