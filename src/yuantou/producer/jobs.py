"""C2M jobs kept in the store: a forecast or plan run is started by one worker process and answered for by all.

The process running a job writes its progress, and a heartbeat, every ``BEAT_SECONDS``; a job whose heartbeat is
older than ``LOST_AFTER_SECONDS`` ran in a process that stopped, and is reported as failed with that reason.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from yuantou.store.db import Database
from yuantou.store.tables import c2m_jobs

BEAT_SECONDS = 1.0
LOST_AFTER_SECONDS = 30.0
LOST = "the node process running it stopped before it finished"

Progress = dict[str, Any]  # "done" and "total", updated by the work as it goes
Work = Callable[[Progress], Awaitable[str]]  # does the job, returns the stored run's id


def _view(row: Any, now: float) -> dict[str, Any]:
    job = {k: row[k] for k in ("job_id", "kind", "state", "done", "total", "started_at", "finished_at", "run_id",
                                "error")}
    if job["state"] == "running" and now - row["heartbeat_at"] > LOST_AFTER_SECONDS:
        job.update(state="failed", error=LOST)
    return job


def create(conn: Connection, kind: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    job_id = f"{kind}-{uuid.uuid4().hex[:10]}"
    conn.execute(insert(c2m_jobs).values(job_id=job_id, kind=kind, state="running", done=0, total=None,
                                         started_at=now, heartbeat_at=now))
    return read(conn, job_id, now)  # type: ignore[return-value]


def beat(conn: Connection, job_id: str, progress: Progress, now: float | None = None) -> None:
    conn.execute(update(c2m_jobs).where(c2m_jobs.c.job_id == job_id, c2m_jobs.c.state == "running").values(
        done=int(progress.get("done") or 0), total=progress.get("total"),
        heartbeat_at=time.time() if now is None else now))


def finish(conn: Connection, job_id: str, progress: Progress, run_id: str | None, error: str | None) -> None:
    now = time.time()
    conn.execute(update(c2m_jobs).where(c2m_jobs.c.job_id == job_id).values(
        state="failed" if error else "done", done=int(progress.get("done") or 0), total=progress.get("total"),
        heartbeat_at=now, finished_at=now, run_id=run_id, error=error))


def running(conn: Connection, now: float | None = None) -> list[dict[str, Any]]:
    """The jobs still running, oldest first: a page opened (or reloaded) while they run follows them."""
    now = time.time() if now is None else now
    rows = conn.execute(select(c2m_jobs).where(c2m_jobs.c.state == "running").order_by(c2m_jobs.c.started_at))
    return [job for job in (_view(row, now) for row in rows.mappings()) if job["state"] == "running"]


def read(conn: Connection, job_id: str, now: float | None = None) -> dict[str, Any] | None:
    row = conn.execute(select(c2m_jobs).where(c2m_jobs.c.job_id == job_id)).mappings().first()
    return None if row is None else _view(row, time.time() if now is None else now)


async def start(db: Database, kind: str, work: Work, tasks: set[asyncio.Task]) -> dict[str, Any]:
    """Record a new job, run ``work`` in the background with a heartbeat, and answer at once with the job."""
    job = await db.run(lambda c: create(c, kind))
    progress: Progress = {"done": 0, "total": None}

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(BEAT_SECONDS)
            await db.run(lambda c: beat(c, job["job_id"], progress))

    async def runner() -> None:
        beating = asyncio.create_task(heartbeat())
        run_id = error = None
        try:
            run_id = await work(progress)
        except Exception as exc:  # the job's error is shown to whoever asks, not lost in a log
            error = f"{type(exc).__name__}: {exc}"
        finally:
            beating.cancel()
        await db.run(lambda c: finish(c, job["job_id"], progress, run_id, error))

    task = asyncio.create_task(runner())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return job
