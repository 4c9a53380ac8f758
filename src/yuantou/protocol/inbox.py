"""Durable intake with group commit: a request is ACKed only once it is on disk.

Requests arriving while a commit is in flight wait and are written by the next commit
together (``store.group_commit``), so one fsync covers many ACKs. The unique key
``(sender, action, message_id)`` makes a repeated request a no-op that is still ACKed.
Each new message's ledger entry (``ledger.store``) is appended in the same commit, so there is
no stored message without its entry and no entry without its message.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from yuantou.ledger.chain import Receipt
from yuantou.ledger.store import append_entry
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
    def _insert(conn: Connection, items: list[tuple[dict, str, Receipt | None]]) -> list[Outcome]:
        new = insert_ignoring_duplicates(conn, inbox, [row for row, _, _ in items])
        for (row, receiver, receipt), fresh in zip(items, new):
            if fresh:
                append_entry(conn, sender=row["sender_id"], receiver=receiver, action=row["action"],
                             transaction_id=row["transaction_id"], message_id=row["message_id"],
                             authorization=row["authorization"] or "", body=row["body"],
                             recorded_at=int(row["received_at"]), receipt=receipt)
        return [(True, fresh) for fresh in new]

    def _stored(self, outcomes: list[Outcome]) -> None:
        self.rows += len(outcomes)
        if self.on_stored and any(new for _, new in outcomes):
            self.on_stored()

    async def store(self, row: dict, receiver: str, receipt: Receipt | None) -> bool:
        """Persist ``row`` and its ledger entry (``receipt``: ours, as the ACK carries it); ``True`` if new,
        ``False`` if this message was already stored."""
        return await self._committer.submit((row, receiver, receipt))

    async def run(self) -> None:
        await self._committer.run()
