"""Group commit: many writes per transaction, each undone alone when it fails, none acknowledged before commit."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from yuantou.store.db import Database
from yuantou.store.group_commit import GroupCommitter
from yuantou.store.tables import pools


def insert_pool(n: int, fail: bool = False):  # noqa: ANN201
    def write(conn):  # noqa: ANN001, ANN202
        conn.execute(pools.insert().values(pool_id=f"p{n}", terms="{}", status="open", cutoff=0, created_at=0))
        if fail:
            raise ValueError(f"write {n} refused")
        return n
    return write


def test_writes_share_commits_and_a_failure_is_undone_alone(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    db.migrate()

    async def go() -> list:
        committer = GroupCommitter(db)
        runner = asyncio.create_task(committer.run())
        results = await asyncio.gather(*(committer.submit(insert_pool(n, fail=n % 7 == 3)) for n in range(60)),
                                       return_exceptions=True)
        runner.cancel()
        return results, committer.commits

    try:
        results, commits = asyncio.run(go())
        failed = [n for n, r in enumerate(results) if isinstance(r, ValueError)]
        assert failed == [n for n in range(60) if n % 7 == 3]
        assert [r for r in results if not isinstance(r, Exception)] == [n for n in range(60) if n % 7 != 3]
        assert commits < 60  # grouped: fewer transactions than writes
        stored = db.transaction(lambda c: set(c.execute(select(pools.c.pool_id)).scalars()))
        assert stored == {f"p{n}" for n in range(60) if n % 7 != 3}
    finally:
        db.close()


def test_a_failed_commit_fails_every_caller_and_resets_state(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'g.db'}")
    db.migrate()
    resets = []

    async def go() -> list:
        committer = GroupCommitter(db, on_commit_failure=lambda: resets.append(1))
        real_run = db.run

        async def broken_run(fn):  # noqa: ANN001, ANN202 - the database call fails (say, disk full at commit)
            await real_run(fn)
            raise OSError("disk full")
        db.run = broken_run
        runner = asyncio.create_task(committer.run())
        results = await asyncio.gather(*(committer.submit(insert_pool(n)) for n in range(5)), return_exceptions=True)
        runner.cancel()
        db.run = real_run
        return results

    try:
        results = asyncio.run(go())
        assert all(isinstance(r, OSError) for r in results) and resets
    finally:
        db.close()
