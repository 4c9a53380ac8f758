"""Durable intake with group commit: a request is ACKed only once it is on disk.

Requests arriving while a commit is in flight wait and are written by the next commit
together (``store.group_commit``), so one fsync covers many ACKs. The unique key
``(sender, action, message_id)`` makes a repeated request a no-op that is still ACKed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from yuantou.store.db import Database, insert_ignoring_duplicates
from yuantou.store.group_commit import GroupCommitter, Outcome
from yuantou.store.tables import inbox


class InboxWriter:
    def __init__(self, db: Database, on_stored: Callable[[], None] | None = None, max_batch: int = 500) -> None:
        self.on_stored = on_stored
        self.rows = 0
        # rows go in with one plain insert each (no savepoints): a failure fails the whole group, unACKed
        self._committer = GroupCommitter(db, max_batch, apply=self._insert, on_committed=self._stored)

    @property
    def commits(self) -> int:
        return self._committer.commits

    @staticmethod
    def _insert(conn: Connection, rows: list[dict]) -> list[Outcome]:
        return [(True, new) for new in insert_ignoring_duplicates(conn, inbox, rows)]

    def _stored(self, outcomes: list[Outcome]) -> None:
        self.rows += len(outcomes)
        if self.on_stored and any(new for _, new in outcomes):
            self.on_stored()

    async def store(self, row: dict) -> bool:
        """Persist ``row``; ``True`` if new, ``False`` if this message was already stored."""
        return await self._committer.submit(row)

    async def run(self) -> None:
        await self._committer.run()
