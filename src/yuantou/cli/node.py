"""A node's commands: ``yuantou node``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import typer

from yuantou.cli.common import console, fail, load_node_files

node_app = typer.Typer(help='Buyer and producer nodes.', no_args_is_help=True)


@node_app.command("serve")
def node_serve(config: Path = typer.Option(..., "--config", help="the node's TOML file")) -> None:
    """Run a buyer and/or producer node."""
    import httpx

    from yuantou.node.launch import prepare_store, serve
    from yuantou.node.start_report import banner, look_up

    cfg, keys, catalog = load_node_files(config)
    try:
        prepare_store(cfg, catalog)
    except Exception as exc:  # a database that cannot be reached or migrated
        fail(f"{cfg.database_url}: {exc}")

    async def ask_directory():  # noqa: ANN202
        async with httpx.AsyncClient() as http:
            return await look_up(cfg, keys, http)

    typer.echo("\n".join(banner(cfg, asyncio.run(ask_directory()))))
    sys.stdout.flush()
    serve(config, cfg, keys)


@node_app.command("import-catalog")
def node_import_catalog(config: Path = typer.Option(..., "--config", help="the producer node's TOML file"),
                        replace: bool = typer.Option(False, "--replace", help="also drop items the file no longer "
                                                                              "lists (default: keep them)")) -> None:
    """Read the catalog file into the store again (a running node offers it at once). A window's capacity in
    the file is what it holds in all: what live orders already took of it stays taken."""
    from yuantou.producer.catalog_store import replace_catalog, upsert_items
    from yuantou.store.db import Database

    cfg, _, catalog = load_node_files(config)
    if catalog is None:
        fail(f"{config}: not a producer node (roles: {', '.join(cfg.roles)})")
    database = Database(cfg.database_url)
    try:
        database.migrate()
        database.transaction(lambda c: (replace_catalog if replace else upsert_items)(c, catalog))
    except Exception as exc:  # a database that cannot be reached or migrated
        fail(f"{cfg.database_url}: {exc}")
    finally:
        database.close()
    console.print(f"{len(catalog)} items read from {cfg.catalog_file} into {cfg.subscriber_id}'s catalog"
                  + (" (items not in the file dropped)" if replace else ""))



@node_app.command("subscribe")
def node_subscribe(config: Path = typer.Option(..., "--config")) -> None:
    """Join the directory named in the config (the node must be running to answer the challenge)."""
    import httpx

    from yuantou.node.subscription import subscribe

    cfg, keys, _ = load_node_files(config)

    async def go() -> list[dict]:
        async with httpx.AsyncClient() as http:
            return await subscribe(cfg, keys, http)

    try:
        answers = asyncio.run(go())
    except httpx.HTTPError as exc:
        fail(f"cannot reach {cfg.directory_url}: {exc}")
    for answer in answers:
        console.print(answer)
    if any(a["status_code"] != 200 for a in answers):
        raise typer.Exit(1)


@node_app.command("rotate-key")
def node_rotate_key(config: Path = typer.Option(..., "--config", help="the node's TOML file"),
                    key_id: str = typer.Option("", "--key-id", help="the new key's id (default: the current one "
                                                                  "with its number raised, orchard-k1 → orchard-k2)"),
                    overlap: int = typer.Option(300, "--overlap", min=0,
                                                help="seconds the old key stays valid, for messages in flight")) -> None:
    """Give the node a new signing key: registered in the directory from now, the old key ended after
    ``--overlap``, the config pointed at the new key (a running node switches within seconds). Entries signed
    before still verify under the old key. The node must be running to answer the directory's challenge."""
    from datetime import timedelta

    import httpx

    from yuantou.node.rotation import RotationError, rotate

    cfg, keys, _ = load_node_files(config)

    async def go():  # noqa: ANN202
        async with httpx.AsyncClient() as http:
            return await rotate(config, cfg, keys, http, key_id or None, timedelta(seconds=overlap))

    try:
        done = asyncio.run(go())
    except RotationError as exc:
        fail(str(exc))
    except httpx.HTTPError as exc:
        fail(f"cannot reach {cfg.directory_url}: {exc}")
    typer.echo(f"{cfg.subscriber_id} now signs with {done.new_key_id} (keys in {done.key_folder}); "
               f"{done.old_key_id} stays valid until {done.old_valid_until:%Y-%m-%d %H:%M:%S}Z")
