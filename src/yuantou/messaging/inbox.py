"""Durable intake with group commit: a request is ACKed only once it is on disk.

Requests arriving while a commit is in flight wait and are written by the next commit
together (``store.group_commit``), so one fsync covers many ACKs. The unique key
``(sender, action, message_id)`` makes a repeated request a no-op that is still ACKed; a message id reused with
other bytes is a conflict, told apart so that it is refused and the first message keeps counting.
Each new message's ledger entry (``ledger.store``) is appended in the same commit, so there is
no stored message without its entry and no entry without its message.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.ledger.chain import RELAYED, Checkpoint, Receipt
from yuantou.ledger.store import append_entries
from yuantou.store.db import Database, insert_ignoring_duplicates
from yuantou.store.group_commit import GroupCommitter, Outcome
from yuantou.store.tables import inbox

# (conn, [(counterparty, transaction id)]) → our checkpoint on each
CheckpointSigner = Callable[[Connection, list[tuple[str, str]]], dict[tuple[str, str], Checkpoint]]


class InboxWriter:
    def __init__(self, db: Database, on_stored: Callable[[], None] | None = None, max_batch: int = 500,
                 checkpoints: CheckpointSigner | None = None, ledger: bool = True) -> None:
        self.on_stored = on_stored
        self.checkpoints = checkpoints
        self.ledger = ledger
        self.rows = 0
        # rows go in with one plain insert each (no savepoints): a failure fails the whole group, unACKed
        self._committer = GroupCommitter(db, max_batch, apply=self._insert, on_committed=self._stored)

    @property
    def commits(self) -> int:
        return self._committer.commits

    def _insert(self, conn: Connection, items: list[tuple[dict, str, Receipt | None]]) -> list[Outcome]:
        new = insert_ignoring_duplicates(conn, inbox, [row for row, _, _ in items])
        conflicts = self._conflicts(conn, [(i, row) for i, ((row, _, _), fresh) in enumerate(zip(items, new))
                                           if not fresh])
        if self.ledger:
            append_entries(conn, [dict(sender=row["sender_id"], receiver=receiver, action=row["action"],
                                       transaction_id=row["transaction_id"], message_id=row["message_id"],
                                       authorization=row["authorization"] or "", body=row["body"],
                                       recorded_at=int(row["received_at"]), receipt=receipt)
                                  for (row, receiver, receipt), fresh in zip(items, new) if fresh])
        # the receiver's word on the transaction so far, this batch's messages included, for the ACKs to carry:
        # one per sender and transaction, however many of its messages the batch holds; none for discovery,
        # which checkpoints leave out (no commitment between two parties)
        wanted = list(dict.fromkeys((row["sender_id"], row["transaction_id"]) for row, _, _ in items
                                    if row["action"] not in RELAYED))
        signed = self.checkpoints(conn, wanted) if self.checkpoints else {}
        return [(True, (None if i in conflicts else fresh, signed.get((row["sender_id"], row["transaction_id"]))))
                for i, ((row, _, _), fresh) in enumerate(zip(items, new))]

    @staticmethod
    def _conflicts(conn: Connection, repeats: list[tuple[int, dict]]) -> set[int]:
        """Which repeats (by position in the batch) differ from the stored message: not retries but conflicts."""
        conflicts = set()
        for i, row in repeats:
            stored = conn.execute(select(inbox.c.body).where(
                inbox.c.sender_id == row["sender_id"], inbox.c.action == row["action"],
                inbox.c.message_id == row["message_id"])).scalar()
            if stored is not None and bytes(stored) != row["body"]:
                conflicts.add(i)
        return conflicts

    def _stored(self, outcomes: list[Outcome]) -> None:
        self.rows += len(outcomes)
        if self.on_stored and any(new for _, (new, _) in outcomes):
            self.on_stored()

    async def store(self, row: dict, receiver: str, receipt: Receipt | None) -> tuple[bool | None, Checkpoint | None]:
        """Persist ``row`` and its ledger entry (``receipt``: ours, as the ACK carries it). Returns whether it was
        new (False: this message was already stored; None: its id was already taken by other bytes, nothing
        stored) and our checkpoint on its transaction."""
        return await self._committer.submit((row, receiver, receipt))

    async def run(self) -> None:
        await self._committer.run()
