"""Reading a node's files and running its HTTP server in one or several worker processes.

With ``workers = 1`` (the default) the node runs in this process. With more, the
store is migrated and the catalog loaded once here, then uvicorn starts that many
processes sharing the port; each builds its own ``Node`` from the same config
(processing and outbox rows are claimed, so workers never handle one twice).
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy.engine import Connection

from yuantou.domain.catalog import CatalogItem
from yuantou.node.config import NodeConfig, load_config
from yuantou.producer.catalog_file import load_catalog_file
from yuantou.producer.catalog_store import has_catalog, replace_catalog
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import Database

CONFIG_ENV = "YUANTOU_NODE_CONFIG"
GRACEFUL_SHUTDOWN_SECONDS = 5


def load_node(config_path: Path) -> tuple[NodeConfig, KeyPair, list[CatalogItem] | None]:
    """Config, keys and (for a producer) catalog items; raises ConfigError, KeyError_ or CatalogFileError."""
    config = load_config(config_path)
    keys = KeyPair.load(config.key_file)
    catalog = None
    if config.is_producer and config.catalog_file is not None:  # a producer's config names one (load_config)
        provider, catalog = load_catalog_file(config.catalog_file)
        updates = {}
        if provider.get("id") and not config.provider_id:
            updates["provider_id"] = provider["id"]
        if provider.get("name") and not config.provider_name:
            updates["provider_name"] = provider["name"]
        if provider.get("place") and not config.provider_place:
            updates["provider_place"] = provider["place"]
        config = config.model_copy(update=updates)
    return config, keys, catalog


def prepare_store(config: NodeConfig, catalog_items: list[CatalogItem] | None) -> bool:
    """Migrate the store and (for a producer) import the catalog file the first time, before any worker serves.
    Afterwards the store is the truth: a restart keeps what orders took and what the API changed (``yuantou node
    import-catalog`` reads the file again on purpose). Returns whether the file was imported."""
    db = Database(config.database_url)
    try:
        db.migrate()
        if catalog_items is None:
            return False
        items = catalog_items

        def first_import(conn: Connection) -> bool:
            if has_catalog(conn):
                return False
            replace_catalog(conn, items)
            return True

        return db.transaction(first_import)
    finally:
        db.close()


def subscribe_in_background(config: NodeConfig, keys: KeyPair) -> threading.Thread:
    """``subscribe_at_start``: once the server answers, subscribe the node where the directory does not list it;
    the outcome is printed with the start-up banner's. One thread of the launching process, whatever the number
    of workers, so the directory is asked once."""
    import httpx

    from yuantou.node.start_report import subscribe_when_up

    async def go() -> str:
        async with httpx.AsyncClient() as http:
            return await subscribe_when_up(config, keys, http)

    def run() -> None:
        try:
            print(f"  directory     {asyncio.run(go())}", flush=True)
        except Exception as exc:  # noqa: BLE001 (a failed subscription is reported, never a crashed node)
            print(f"  directory     subscription failed: {exc}", flush=True)

    thread = threading.Thread(target=run, name="subscribe", daemon=True)
    thread.start()
    return thread


def serve(config_path: Path, config: NodeConfig, keys: KeyPair) -> None:
    """Run the node's server until stopped; the store must already be prepared."""
    import uvicorn

    if config.subscribe_at_start:
        subscribe_in_background(config, keys)

    from yuantou.node.app import create_app
    from yuantou.node.bootstrap import Node

    # a stop never waits on a request still open (a long poll of /api/messages, a slow client) more than this
    if config.workers == 1:
        uvicorn.run(create_app(Node(config, keys, config_path=Path(config_path))), host=config.host, port=config.port,
                    log_level="warning", access_log=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
    else:
        os.environ[CONFIG_ENV] = str(Path(config_path).resolve())
        uvicorn.run("yuantou.node.launch:worker_app", factory=True, workers=config.workers, host=config.host,
                    port=config.port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)


def worker_app() -> FastAPI:
    """uvicorn factory run in each worker process."""
    from yuantou.node.app import create_app
    from yuantou.node.bootstrap import Node

    path = Path(os.environ[CONFIG_ENV])
    config, keys, _ = load_node(path)
    return create_app(Node(config, keys, config_path=path))
