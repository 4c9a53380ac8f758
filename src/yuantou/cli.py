"""The ``yuantou`` command."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(help="Yuantou: producers and pooled buyers trading point to point over Beckn.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
keys_app = typer.Typer(help="Signing keys.", no_args_is_help=True)
directory_app = typer.Typer(help="The directory (registry + gateway).", no_args_is_help=True)
node_app = typer.Typer(help="Buyer and producer nodes.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(directory_app, name="directory")
app.add_typer(node_app, name="node")
console = Console()
err = Console(stderr=True)


def fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(2)


@keys_app.command("new")
def keys_new(out: Path = typer.Option(..., "--out", help="folder to write the key files into")) -> None:
    """Make an Ed25519 signing key pair (and an X25519 encryption pair) in OUT."""
    from yuantou.protocol.keys import SIGNING_PRIVATE_FILE, KeyPair

    if (out / SIGNING_PRIVATE_FILE).exists():
        fail(f"{out / SIGNING_PRIVATE_FILE} exists; refusing to overwrite a key")
    keys = KeyPair.generate()
    keys.save(out)
    console.print(f"keys written to {out}")
    console.print(f"signing_public_key={keys.signing_public_b64}")
    console.print(f"encr_public_key={keys.encryption_public_b64}")


def _directory_keys(db_url: str, key_dir: Optional[Path]):  # noqa: ANN202
    from yuantou.protocol.keys import KeyError_, KeyPair

    if key_dir is None:
        if db_url.startswith("sqlite:///"):
            key_dir = Path(db_url[len("sqlite:///"):]).parent / "directory-keys"
        else:
            fail("--key-dir is required with a non-SQLite database")
    try:
        if not (key_dir / "signing_private_key").exists():
            KeyPair.generate().save(key_dir)
        return KeyPair.load(key_dir)
    except KeyError_ as exc:
        fail(str(exc))


@directory_app.command("serve")
def directory_serve(
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    db: str = typer.Option("sqlite:///yuantou-directory.db", "--db", help="database URL"),
    key_dir: Optional[Path] = typer.Option(None, help="the gateway's keys (made if missing)"),
    subscriber_id: str = typer.Option("directory.local", help="the gateway's subscriber id"),
    url: Optional[str] = typer.Option(None, help="public URL (default http://HOST:PORT)"),
) -> None:
    """Run the registry (/lookup, /subscribe) and gateway (/search, /on_search)."""
    import uvicorn

    from yuantou.directory.app import DirectorySettings, create_directory_app, ensure_self_registered
    from yuantou.store.db import Database

    keys = _directory_keys(db, key_dir)
    database = Database(db)
    database.migrate()
    settings = DirectorySettings(subscriber_id=subscriber_id, url=url or f"http://{host}:{port}")
    ensure_self_registered(database, keys, settings)
    uvicorn.run(create_directory_app(database, keys, settings), host=host, port=port, log_level="warning")


@directory_app.command("add")
def directory_add(
    db: str = typer.Option(..., "--db"),
    subscriber_id: str = typer.Option(..., "--subscriber-id"),
    url: str = typer.Option(..., "--url"),
    type_: str = typer.Option(..., "--type", help="BAP, BPP or BG"),
    domain: str = typer.Option(..., "--domain"),
    city: str = typer.Option(..., "--city"),
    signing_public_key: str = typer.Option(..., "--signing-public-key"),
    key_id: Optional[str] = typer.Option(None, "--key-id"),
    encr_public_key: Optional[str] = typer.Option(None, "--encr-public-key"),
    country: str = typer.Option("IND", "--country"),
    valid_days: int = typer.Option(365, "--valid-days"),
) -> None:
    """Register a subscriber directly (no challenge), for operators and tests."""
    from yuantou.directory.registry import Entry, RegistryError, upsert
    from yuantou.store.db import Database

    database = Database(db)
    database.migrate()
    now = datetime.now(timezone.utc)
    try:
        key = database.transaction(lambda c: upsert(c, Entry(
            subscriber_id=subscriber_id, url=url.rstrip("/"), type=type_.upper(), domain=domain, city=city,
            signing_public_key=signing_public_key, key_id=key_id or "", country=country,
            encr_public_key=encr_public_key, valid_from=now, valid_until=now + timedelta(days=valid_days))))
    except RegistryError as exc:
        fail(str(exc))
    console.print(f"registered {subscriber_id} as {type_.upper()} in {domain}/{city} with key_id {key}")


def _load_node(config_path: Path):  # noqa: ANN202
    from yuantou.domain.catalog_file import CatalogFileError
    from yuantou.node.config import ConfigError
    from yuantou.node.launch import load_node
    from yuantou.protocol.keys import KeyError_

    try:
        return load_node(config_path)
    except (ConfigError, KeyError_, CatalogFileError) as exc:
        fail(str(exc))


@node_app.command("serve")
def node_serve(config: Path = typer.Option(..., "--config", help="the node's TOML file")) -> None:
    """Run a buyer and/or producer node."""
    from yuantou.node.launch import prepare_store, serve

    cfg, keys, catalog = _load_node(config)
    try:
        prepare_store(cfg, catalog)
    except Exception as exc:  # a database that cannot be reached or migrated
        fail(f"{cfg.database_url}: {exc}")
    serve(config, cfg, keys)


@node_app.command("subscribe")
def node_subscribe(config: Path = typer.Option(..., "--config")) -> None:
    """Join the directory named in the config (the node must be running to answer the challenge)."""
    import httpx

    from yuantou.node.subscription import subscribe

    cfg, keys, _ = _load_node(config)

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


@app.command()
def demo(
    keep: bool = typer.Option(False, "--keep", help="leave the network running and print its URLs"),
    data_dir: Optional[Path] = typer.Option(None, help="where to put databases and keys (default: a temp folder)"),
    orders_per_buyer: int = typer.Option(3, help="complete order flows each buyer runs"),
) -> None:
    """Start a directory, 3 producers and 2 buyers on 127.0.0.1 and trade between them."""
    from yuantou.demo import run_demo

    logging.basicConfig(level=logging.WARNING)
    raise typer.Exit(run_demo(console, keep=keep, data_dir=data_dir, orders_per_buyer=orders_per_buyer))


if __name__ == "__main__":
    app()
