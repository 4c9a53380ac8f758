"""What a directory's operator does: suspend, reinstate or revoke a subscriber, and clear attempts to subscribe
that never answered the challenge. One typed command each, run in one store transaction by ``OperatorDesk``.

A suspended or revoked subscriber stays listed (what it signed before still verifies), but with its status: the
gateway no longer forwards searches to it or relays its answers, a node's registry client refuses any entry that
is not SUBSCRIBED, and the directory's own checks of signatures refuse it at once. Nodes that cached its key before
(at most an hour) refuse it when the cache ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.directory import registry
from yuantou.store.db import Database
from yuantou.store.tables import subscribers

SUSPENDED = "SUSPENDED"
REVOKED = "REVOKED"


class OperatorProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message  # code: unknown_subscriber, revoked, not_suspended


@dataclass(frozen=True, slots=True)
class Suspend:
    """Stop a subscriber for now (a dispute, a key that may be lost); ``Reinstate`` undoes it."""

    subscriber_id: str


@dataclass(frozen=True, slots=True)
class Reinstate:
    subscriber_id: str


@dataclass(frozen=True, slots=True)
class Revoke:
    """Stop a subscriber for good: every key of it ends now and its entries say REVOKED. Its id stays its own;
    only ``yuantou directory reset-keys`` gives it a new key."""

    subscriber_id: str


@dataclass(frozen=True, slots=True)
class ClearPending:
    """Remove attempts to subscribe that did not answer the challenge and were last touched ``older_than`` ago."""

    older_than: timedelta = timedelta(minutes=10)


class OperatorDesk:
    def __init__(self, db: Database, forget: Any) -> None:
        """``forget(subscriber_id)``: drop what the directory cached of a subscriber's keys."""
        self.db, self.forget = db, forget

    def _statuses(self, conn: Connection, subscriber_id: str) -> set[str]:
        found = set(conn.execute(select(subscribers.c.status).where(
            subscribers.c.subscriber_id == subscriber_id, subscribers.c.status.not_in(registry.PENDING))).scalars())
        if not found:
            raise OperatorProblem("unknown_subscriber", f"the directory lists no subscriber {subscriber_id!r}")
        return found

    def _set(self, conn: Connection, subscriber_id: str, status: str) -> int:
        return conn.execute(update(subscribers).where(
            subscribers.c.subscriber_id == subscriber_id, subscribers.c.status.not_in(registry.PENDING))
            .values(status=status, updated=datetime.now(UTC))).rowcount or 0

    async def suspend(self, command: Suspend) -> int:
        def run(conn: Connection) -> int:
            if REVOKED in self._statuses(conn, command.subscriber_id):
                raise OperatorProblem("revoked", f"{command.subscriber_id} is revoked already")
            return self._set(conn, command.subscriber_id, SUSPENDED)
        return await self._changed(command.subscriber_id, run)

    async def reinstate(self, command: Reinstate) -> int:
        def run(conn: Connection) -> int:
            statuses = self._statuses(conn, command.subscriber_id)
            if REVOKED in statuses:
                raise OperatorProblem("revoked", f"{command.subscriber_id} is revoked: give it a new key with "
                                                 "yuantou directory reset-keys")
            if SUSPENDED not in statuses:
                raise OperatorProblem("not_suspended", f"{command.subscriber_id} is not suspended")
            return self._set(conn, command.subscriber_id, registry.SUBSCRIBED)
        return await self._changed(command.subscriber_id, run)

    async def revoke(self, command: Revoke) -> int:
        def run(conn: Connection) -> int:
            self._statuses(conn, command.subscriber_id)
            registry.end_keys(conn, command.subscriber_id, datetime.now(UTC))
            return self._set(conn, command.subscriber_id, REVOKED)
        return await self._changed(command.subscriber_id, run)

    async def clear_pending(self, command: ClearPending) -> int:
        return await self.db.run(lambda c: registry.expire_pending(c, datetime.now(UTC) - command.older_than))

    async def _changed(self, subscriber_id: str, run: Any) -> int:
        changed: int = await self.db.run(run)
        self.forget(subscriber_id)
        return changed

    async def entries(self) -> list[dict[str, Any]]:
        """Every entry, pending attempts too, newest change first."""
        def read(conn: Connection) -> list[dict[str, Any]]:
            rows = conn.execute(select(subscribers).order_by(subscribers.c.updated.desc())).mappings().all()
            return [{**registry.as_subscription(r), "pending": r["status"] in registry.PENDING} for r in rows]
        return await self.db.run(read)
