"""One transaction's evidence, as the CLI writes it to a file and a node's page offers it as a download, and the
check of a bundle anyone hands over: one place for both, so a file and a download are the same document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.ledger.bundle import BundleError, export_bundle, read_bundle
from yuantou.ledger.keys import key_history, parties
from yuantou.ledger.store import read_chain, read_checkpoints
from yuantou.ledger.verify import verify
from yuantou.protocol.registry_client import RegistryClient
from yuantou.store.db import Database
from yuantou.store.tables import ledger_entries


@dataclass(frozen=True)
class Verdict:
    """What checking a bundle found: ``problem`` is None when every entry, receipt and checkpoint holds."""

    node: str
    transaction_id: str
    entries: int
    checkpoints: int
    problem: str | None


def recent_transactions(conn: Connection, limit: int = 20) -> list[tuple[str, int]]:
    """The transactions the ledger holds messages of, latest first, with how many."""
    rows = conn.execute(select(ledger_entries.c.transaction_id, func.count(), func.max(ledger_entries.c.height))
                        .group_by(ledger_entries.c.transaction_id)
                        .order_by(func.max(ledger_entries.c.height).desc()).limit(limit))
    return [(tx, int(n)) for tx, n, _ in rows]


async def evidence_bundle(db: Database, registry: RegistryClient, node: str, transaction_id: str,
                          slack: tuple[int, int] = (0, 0)) -> dict[str, Any] | None:
    """The transaction's entries, receipts, checkpoints and every key they need (from the directory, rotated-out
    keys too); None when the ledger holds no message of it."""
    def read(conn: Connection) -> tuple[list, list]:
        entries = read_chain(conn, transaction_id)
        return entries, [cp for cp in read_checkpoints(conn) if cp.transaction_id == transaction_id]

    entries, checkpoints = await db.run(read)
    if not entries:
        return None
    keys = await key_history(registry, parties(entries, checkpoints), *slack)
    return export_bundle(node, transaction_id, entries, checkpoints, keys)


def check_bundle(document: Any) -> Verdict:
    """Check a bundle offline against the keys it carries; ``BundleError`` names a field that cannot be read."""
    entries, checkpoints, keys = read_bundle(document)
    problem = verify(entries, keys, checkpoints, excerpt=True)
    return Verdict(str(document.get("node")), str(document.get("transaction_id")), len(entries), len(checkpoints),
                   None if problem is None else str(problem))


__all__ = ["BundleError", "Verdict", "check_bundle", "evidence_bundle", "recent_transactions"]
