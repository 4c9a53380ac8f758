"""The ledger as its dashboard panel and ``GET /api/ledger`` show it: height, head, one-sided entries, each counterparty's
latest signed word, and the outcome of the last full verification.

Verification is the same check as ``yuantou ledger verify`` (keys from the directory, every
signature and checkpoint), run in a thread, one at a time. It reruns on its own when the
chain has grown and the last run is older than ``every`` seconds, and only for chains small
enough to check in a few seconds; a bigger one is verified when the operator asks.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.ledger.store import counterparties, head, keyholders, one_sided_count, read_pair_checkpoints
from yuantou.messaging.core import Messenger
from yuantou.store.tables import ledger_checkpoints

AUTO_VERIFY_UP_TO = 50_000  # entries: about 5 s of one core at libsodium's speed here


@dataclass
class Verification:
    """One run of the full check, as its panel and ``GET /api/ledger`` report it."""

    started_at: float
    finished_at: float | None = None
    height: int | None = None  # the head it checked
    entries: int = 0
    one_sided: int = 0
    checkpoints: int = 0
    problem: str | None = None  # what ``ledger verify`` would print after BROKEN at
    error: str | None = None  # it could not run (directory unreachable, say)


def ledger_counts(conn: Connection, me: str) -> dict[str, Any]:
    """What the chain holds now, and how far each counterparty has signed for it."""
    top = head(conn)
    one_sided = one_sided_count(conn)
    latest: dict[str, Any] = {}
    for cp in read_pair_checkpoints(conn):
        signer = cp.signer.partition("|")[0]
        if signer == me:
            continue
        if signer not in latest or cp.signed_at > latest[signer].signed_at:
            latest[signer] = cp
    others = sorted(counterparties(conn, me))
    transaction_cps: dict[str, int] = {}
    for key_id, n in conn.execute(select(ledger_checkpoints.c.signer, func.count())
                                  .group_by(ledger_checkpoints.c.signer)):
        signer = key_id.partition("|")[0]
        if signer != me:
            transaction_cps[signer] = transaction_cps.get(signer, 0) + n
    return {"height": None if top is None else top[0], "head": None if top is None else top[1],
            "entries": 0 if top is None else top[0] + 1, "one_sided": int(one_sided),
            "counterparties": [{"id": other, "pair": latest.get(other),
                                "transaction_checkpoints": transaction_cps.get(other, 0)} for other in others]}


class LedgerWatch:
    """Verifies the node's whole ledger now and then, one run at a time, and keeps the last outcome."""

    def __init__(self, messenger: Messenger, database_url: str, signature_slack: tuple[int, int],
                 every: float = 60.0) -> None:
        self.messenger, self.database_url, self.signature_slack, self.every = messenger, database_url, signature_slack, every
        self.last: Verification | None = None
        self._running: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def maybe_verify(self, height: int | None) -> None:
        """Start a check if the chain moved since the last one, that one is old, and the chain is small."""
        if height is None or height + 1 > AUTO_VERIFY_UP_TO or self.running:
            return
        if self.last is None or (self.last.height != height and time.time() - self.last.started_at >= self.every):
            self.start()

    def start(self) -> asyncio.Task[None]:
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._verify())
        return self._running

    async def verify_now(self) -> Verification:
        """Verify (or join the check already running) and return its outcome."""
        await asyncio.shield(self.start())
        assert self.last is not None  # the check just run recorded it, failed or not
        return self.last

    async def _verify(self) -> None:
        from yuantou.ledger.audit import verify_store
        from yuantou.ledger.keys import key_history

        m = self.messenger
        check = Verification(time.time())
        try:
            keys = await key_history(m.registry, await m.db.run(keyholders), *self.signature_slack)
            keys.hold(m.keys.signing)
            verdict = await asyncio.to_thread(verify_store, self.database_url, keys, m.config.subscriber_id, 1)
            check.height = verdict.run.count - 1 if verdict.run.count else None
            check.entries, check.one_sided = verdict.run.count, verdict.run.one_sided
            check.checkpoints = len(verdict.checkpoints) + len(verdict.pair_checkpoints)
            check.problem = None if verdict.problem is None else str(verdict.problem)
        except Exception as exc:  # noqa: BLE001  shown on the panel; the node keeps serving
            check.error = f"{type(exc).__name__}: {exc}"
        check.finished_at = time.time()
        self.last = check
