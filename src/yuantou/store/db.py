"""Engines, migrations and the single writer thread every process uses.

SQLite runs in WAL mode with ``synchronous=FULL`` (a committed ACK survives a
crash or power loss); PostgreSQL is used by URL. All database work of a process
goes through one ``Database`` executor thread, so SQLite never sees two writers
and callers in the event loop never block.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and pick the psycopg 3 driver; pass others through."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            # pysqlite's own transaction handling defers BEGIN, so a first SAVEPOINT would open (and its
            # RELEASE commit) the transaction: take control of BEGIN, as SQLAlchemy's docs recommend.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn) -> None:  # noqa: ANN001
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to the newest Alembic revision (or to ``revision``, to test a later one's upgrade)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


class Database:
    """An engine plus one worker thread; ``await db.run(fn)`` runs ``fn(conn)`` in a transaction."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(url)
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="db")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self, revision: str = "head") -> None:
        migrate(self.engine, revision)

    def transaction(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    async def run(self, fn: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.transaction, fn)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def insert_ignoring_duplicates(conn: Connection, table, rows: list[dict]) -> list[bool]:  # noqa: ANN001
    """Insert each row unless its unique key exists; return which rows were new."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # RETURNING says which rows went in on both backends (psycopg 3 under SQLAlchemy 2.1 reports no rowcount here)
    stmt = insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return [conn.execute(stmt, row).first() is not None for row in rows]
