"""The directory's commands: ``yuantou directory``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Optional

import typer

from yuantou.cli.common import console, err, fail

directory_app = typer.Typer(help='The directory (registry + gateway).', no_args_is_help=True)


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
    token: Optional[str] = typer.Option(None, "--token", envvar="YUANTOU_DIRECTORY_TOKEN",
                                        help="the dashboard's login token (default: a new one, printed at start)"),
    subscribes_per_minute: float = typer.Option(30, "--subscribes-per-minute", min=1,
                                                help="subscription attempts allowed per client address (a third "
                                                     "of it per subscriber id); each sends a challenge out"),
    max_body: int = typer.Option(1 << 20, "--max-body", min=1024, help="largest search or on_search relayed, bytes"),
) -> None:
    """Run the registry (/lookup, /subscribe) and gateway (/search, /on_search), with a dashboard at /dashboard."""
    import uvicorn

    from yuantou.directory.app import DirectorySettings, create_directory_app, ensure_self_registered
    from yuantou.store.db import Database

    keys = _directory_keys(db, key_dir)
    database = Database(db)
    database.migrate()
    if token is not None and len(token) < 16:
        fail("--token: the dashboard token must be 16 characters or more")
    if token is None:
        import secrets

        token = secrets.token_urlsafe(24)
        err.print(f"dashboard: http://{host}:{port}/dashboard  token: {token}  (choose one with --token)")
    settings = DirectorySettings(subscriber_id=subscriber_id, url=url or f"http://{host}:{port}",
                                 dashboard_token=token, subscribes_per_minute=subscribes_per_minute,
                                 max_body_bytes=max_body)
    ensure_self_registered(database, keys, settings)
    uvicorn.run(create_directory_app(database, keys, settings), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=5)


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
    now = datetime.now(UTC)
    try:
        key = database.transaction(lambda c: upsert(c, Entry(
            subscriber_id=subscriber_id, url=url.rstrip("/"), type=type_.upper(), domain=domain, city=city,
            signing_public_key=signing_public_key, key_id=key_id or "", country=country,
            encr_public_key=encr_public_key, valid_from=now, valid_until=now + timedelta(days=valid_days))))
    except RegistryError as exc:
        fail(str(exc))
    console.print(f"registered {subscriber_id} as {type_.upper()} in {domain}/{city} with key_id {key}")


@directory_app.command("reset-keys")
def directory_reset_keys(
    db: str = typer.Option(..., "--db", help="the directory's database URL"),
    subscriber_id: str = typer.Option(..., "--subscriber-id"),
    key_id: str = typer.Option(..., "--key-id", help="the new key's id (not one the subscriber used before)"),
    signing_public_key: str = typer.Option(..., "--signing-public-key", help="the new key, base64"),
    encr_public_key: Optional[str] = typer.Option(None, "--encr-public-key", help="a new encryption key, if it "
                                                                                 "changed too"),
    url: Optional[str] = typer.Option(None, "--url", help="a new URL, if it changed too"),
    valid_days: int = typer.Option(365, "--valid-days"),
) -> None:
    """For a subscriber that lost its signing key (checked by you, out of band): end every key it holds now and
    list the new one in each of its roles. Its old entries stay, so what they signed still verifies; from now on
    a change to the subscriber must be signed by the new key."""
    from yuantou.directory.registry import RegistryError, reset_keys
    from yuantou.store.db import Database

    database = Database(db)
    database.migrate()
    now = datetime.now(UTC)
    try:
        entries = database.transaction(lambda c: reset_keys(
            c, subscriber_id, key_id, signing_public_key, encr_public_key, url.rstrip("/") if url else None,
            now, now + timedelta(days=valid_days)))
    except RegistryError as exc:
        fail(str(exc))
    finally:
        database.close()
    roles = ", ".join(f"{e.type} in {e.domain}" for e in entries)
    console.print(f"{subscriber_id}: every earlier key ended now; {key_id} listed as {roles}")
