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
pool_app = typer.Typer(help="Pooled demand on a buyer node (organisers and household apps).", no_args_is_help=True)
app.add_typer(pool_app, name="pool")
plan_app = typer.Typer(help="Production and sourcing plans (C2M).", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
forecast_app = typer.Typer(help="Demand forecasts (C2M).", no_args_is_help=True)
app.add_typer(forecast_app, name="forecast")
ledger_app = typer.Typer(help="The node's hash-chained, counter-signed record of its messages.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")
console = Console()
err = Console(stderr=True, soft_wrap=True)  # an error names a file and line: never broken across lines


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
    now = datetime.now(timezone.utc)
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
    now = datetime.now(timezone.utc)
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


@node_app.command("import-catalog")
def node_import_catalog(config: Path = typer.Option(..., "--config", help="the producer node's TOML file"),
                        replace: bool = typer.Option(False, "--replace", help="also drop items the file no longer "
                                                                              "lists (default: keep them)")) -> None:
    """Read the catalog file into the store again (a running node offers it at once). A window's capacity in
    the file is what it holds in all: what live orders already took of it stays taken."""
    from yuantou.node.catalog_store import replace_catalog, upsert_items
    from yuantou.store.db import Database

    cfg, _, catalog = _load_node(config)
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


def _ledger_keys(cfg, subscribers: set[str]):  # noqa: ANN001, ANN202
    """Every key the subscribers have registered in the node's directory, with their validity periods."""
    import asyncio

    import httpx

    from yuantou.ledger.keys import key_history
    from yuantou.protocol.registry_client import RegistryClient

    async def keys():  # noqa: ANN202
        async with httpx.AsyncClient() as http:
            return await key_history(RegistryClient(cfg.directory_url, http), subscribers, *cfg.signature_slack)

    return asyncio.run(keys())


def _ledger_read(cfg, read):  # noqa: ANN001, ANN202
    """``read(connection)`` on the node's store; a store that cannot be reached (or predates the ledger) exits 2."""
    from yuantou.store.db import Database

    db = Database(cfg.database_url)
    try:
        return db.transaction(read)
    except Exception as exc:  # noqa: BLE001
        fail(f"{cfg.database_url}: {exc}")
    finally:
        db.close()


def _verdict(what: str, problem, ok: str) -> None:  # noqa: ANN001
    """Print what was checked and how it went; a problem exits 1 (a file that cannot be read exits 2)."""
    if problem is not None:
        typer.echo(f"{what}: BROKEN at {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{what}: {ok}")


@ledger_app.command("verify")
def ledger_verify(config: Path = typer.Option(..., "--config", help="the node's TOML file"),
                  workers: int = typer.Option(0, "--workers", help="processes checking stretches of the chain "
                                                                  "(0: one per core)")) -> None:
    """Check the node's whole chain, every signature and receipt (keys from the directory, with their validity
    periods) and every checkpoint; name the first bad entry and why. Exits 1 if anything is wrong."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from yuantou.ledger.audit import verify_store
    from yuantou.ledger.store import keyholders

    cfg, own, _ = _load_node(config)
    subscribers = _ledger_read(cfg, keyholders)
    keys = _ledger_keys(cfg, subscribers)
    keys.hold(own.signing)
    columns = (TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TextColumn("entries"),
               TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("verify", total=None)
        try:
            verdict = verify_store(cfg.database_url, keys, cfg.subscriber_id, workers or None,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))
        except Exception as exc:  # noqa: BLE001  a store that cannot be reached, or one from before the ledger
            fail(f"{cfg.database_url}: {exc}")
    run = verdict.run
    _verdict(f"ledger of {cfg.subscriber_id}", verdict.problem,
             f"{run.count} entries verify ({run.one_sided} one-sided, {len(verdict.checkpoints)} transaction "
             f"checkpoints, {len(verdict.pair_checkpoints)} pair checkpoints); head {run.last_hash or '-'}")


@ledger_app.command("export")
def ledger_export(config: Path = typer.Option(..., "--config", help="the node's TOML file"),
                  transaction: str = typer.Option(..., "--transaction", help="the transaction id"),
                  out: Path = typer.Option(..., "--out", help="where to write the bundle (JSON)")) -> None:
    """Write one transaction's evidence: its entries, receipts, checkpoints and the public keys they need."""
    import json

    from yuantou.ledger.bundle import export_bundle
    from yuantou.ledger.keys import parties
    from yuantou.ledger.store import read_chain, read_checkpoints

    cfg, _, _ = _load_node(config)
    entries, checkpoints = _ledger_read(cfg, lambda c: (read_chain(c, transaction), read_checkpoints(c)))
    if not entries:
        fail(f"the ledger of {cfg.subscriber_id} holds no message of transaction {transaction!r}")
    checkpoints = [cp for cp in checkpoints if cp.transaction_id == transaction]
    keys = _ledger_keys(cfg, parties(entries, checkpoints))
    out.write_text(json.dumps(export_bundle(cfg.subscriber_id, transaction, entries, checkpoints, keys), indent=1))
    typer.echo(f"{out}: {len(entries)} entries of transaction {transaction}, {len(checkpoints)} checkpoints")


def _bundle(path: Path):  # noqa: ANN202
    """A bundle file's document, entries, checkpoints and keys; one that cannot be read exits 2 naming the field."""
    import json

    from yuantou.ledger.bundle import BundleError, read_bundle

    try:
        doc = json.loads(path.read_text())
        return (doc, *read_bundle(doc))
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except ValueError as exc:  # JSON or bundle errors
        fail(f"{path}: {exc}" if isinstance(exc, BundleError) else f"{path}: not JSON ({exc})")


@ledger_app.command("check")
def ledger_check(bundle: Path = typer.Argument(..., help="a bundle from `yuantou ledger export`")) -> None:
    """Check an evidence bundle on any machine, with no network: each entry's hash, ids, signature and receipt,
    and the checkpoints, against the keys in the bundle. Exits 1 naming the first problem."""
    from yuantou.ledger.verify import verify

    doc, entries, checkpoints, keys = _bundle(bundle)
    _verdict(str(bundle), verify(entries, keys, checkpoints, excerpt=True),
             f"{len(entries)} entries of transaction {doc.get('transaction_id')} from {doc.get('node')} verify, "
             f"with {len(checkpoints)} checkpoints")


@ledger_app.command("compare")
def ledger_compare(first: Path = typer.Argument(..., help="one party's bundle"),
                   second: Path = typer.Argument(..., help="the other party's bundle on the same transaction")) -> None:
    """Hold two parties' bundles on one transaction against each other: every message one side sent that the
    other does not hold (with whether it was receipted), every message id held under different bytes, every
    checkpoint a side signed for messages it no longer holds. Each bundle is checked first. Exits 1 on any."""
    from yuantou.ledger.verify import verify
    from yuantou.ledger.compare import Side, compare

    sides = []
    for path in (first, second):
        doc, entries, checkpoints, keys = _bundle(path)
        _verdict(str(path), verify(entries, keys, checkpoints, excerpt=True),
                 f"{len(entries)} entries from {doc.get('node')} verify")
        sides.append((doc, Side(str(doc.get("node")), entries, checkpoints)))
    (doc_a, a), (doc_b, b) = sides
    if doc_a.get("transaction_id") != doc_b.get("transaction_id"):
        fail(f"{first} is on transaction {doc_a.get('transaction_id')!r}, {second} on {doc_b.get('transaction_id')!r}")
    if a.node == b.node:
        fail(f"both bundles are {a.node}'s: compare one party's with the other's")
    divergences = compare(a, b)
    for d in divergences:
        typer.echo(f"  {d.kind}: {d}")
    shared = len({(e.action, e.message_id) for e in a.entries} & {(e.action, e.message_id) for e in b.entries})
    if divergences:
        typer.echo(f"{a.node} and {b.node} disagree on transaction {doc_a.get('transaction_id')}: "
                   f"{len(divergences)} divergences", err=True)
        raise typer.Exit(1)
    typer.echo(f"{a.node} and {b.node} agree on transaction {doc_a.get('transaction_id')}: {shared} messages "
               "held alike")


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

    cfg, keys, _ = _load_node(config)

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


def _pool_call(node: str, method: str, path: str, body: dict | None = None, token: str | None = None):  # noqa: ANN202
    """Call a buyer node's pooling API; a refusal is printed as the node states it, naming the field."""
    import httpx

    from yuantou.client import NodeClient

    try:
        resp = NodeClient(node.rstrip("/"), token).http.request(method, "/api" + path, json=body)
    except httpx.HTTPError as exc:
        fail(f"cannot reach {node}: {exc}")
    data = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {"detail": resp.text}
    if resp.status_code >= 400:
        error = data.get("error") or {}
        if error:
            fail(f"{error.get('code')}: {error.get('message')} (field: {error.get('path')})")
        detail = data.get("detail", data)
        if isinstance(detail, list):  # FastAPI's field errors: name each field and what is wrong with it
            detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail)
        fail(f"HTTP {resp.status_code}: {detail}")
    return data


def _window(text: str, option: str = "--window") -> tuple[str, str]:
    start, sep, end = text.partition("/")
    if not sep:
        fail(f"{option}: expected START/END")
    return start, end


NODE_OPTION = typer.Option("http://127.0.0.1:8001", "--node", help="the buyer node's base URL")
PRODUCER_OPTION = typer.Option("http://127.0.0.1:8002", "--node", help="the producer node's base URL")
TOKEN_OPTION = typer.Option(None, "--token", envvar="YUANTOU_API_TOKEN", help="the node's api_token (from its config)")


@pool_app.command("open")
def pool_open(
    pickup: list[str] = typer.Option(..., "--pickup", help="pickup point (repeatable)"),
    cutoff: str = typer.Option(..., help="RFC 3339 time at which the pool closes"),
    window: str = typer.Option(..., help="delivery window START/END, RFC 3339"),
    bulk_unit: str = typer.Option(..., help="the producer ships whole multiples of this quantity"),
    tier: list[str] = typer.Option(..., help="MIN_QUANTITY:PRICE (repeatable; the first starts at 0)"),
    item: Optional[str] = typer.Option(None), category: Optional[str] = typer.Option(None),
    grade: Optional[str] = typer.Option(None), unit: str = typer.Option("kg"), step: str = typer.Option("1"),
    moq: str = typer.Option("0"), max_quantity: Optional[str] = typer.Option(None),
    target_quantity: Optional[str] = typer.Option(None), target_turnover: Optional[str] = typer.Option(None),
    currency: str = typer.Option("CNY"), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION,
) -> None:
    """Open a pool for an item (or a category and grade) at one or more pickup points."""
    start, end = _window(window)
    tiers = []
    for i, text in enumerate(tier):
        minimum, sep, price = text.partition(":")
        if not sep:
            fail(f"--tier #{i + 1} {text!r}: expected MIN_QUANTITY:PRICE")
        tiers.append({"min_quantity": minimum, "price": price})
    body = {"item_id": item, "category": category, "grade": grade, "pickup_points": pickup, "window_start": start,
            "window_end": end, "cutoff": cutoff, "unit": unit, "step": step, "bulk_unit": bulk_unit, "moq": moq,
            "max_quantity": max_quantity, "target_quantity": target_quantity, "target_turnover": target_turnover,
            "tiers": tiers, "currency": currency}
    pool = _pool_call(node, "POST", "/pools", body, token)
    console.print(f"opened {pool['pool_id']}")


@pool_app.command("join")
def pool_join(
    household: str = typer.Option(...), min_quantity: str = typer.Option(..., "--min"),
    max_quantity: str = typer.Option(..., "--max"), max_price: str = typer.Option(..., help="price limit per unit"),
    pickup: str = typer.Option(...), window: str = typer.Option(..., help="acceptable delivery START/END, RFC 3339"),
    item: Optional[str] = typer.Option(None), category: Optional[str] = typer.Option(None),
    grade: Optional[str] = typer.Option(None), pool: Optional[str] = typer.Option(None, help="join this pool"),
    node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION,
) -> None:
    """A household's intent joins the best open pool (or the one named)."""
    start, end = _window(window)
    body = {"household": household, "item_id": item, "category": category, "grade": grade,
            "min_quantity": min_quantity, "max_quantity": max_quantity, "max_price": max_price,
            "pickup_point": pickup, "window_start": start, "window_end": end, "pool_id": pool}
    joined = _pool_call(node, "POST", "/intents", body, token)
    console.print(f"intent {joined['intent_id']} joined {joined['pool_id']}")


@pool_app.command("withdraw")
def pool_withdraw(intent: str = typer.Argument(...), node: str = NODE_OPTION,
                  token: Optional[str] = TOKEN_OPTION) -> None:
    """Withdraw an intent while its pool is open."""
    _pool_call(node, "POST", f"/intents/{intent}/withdraw", {}, token)
    console.print(f"intent {intent} withdrawn")


@pool_app.command("list")
def pool_list(status: Optional[str] = typer.Option(None), node: str = NODE_OPTION,
              token: Optional[str] = TOKEN_OPTION) -> None:
    """Every pool: product, pooled quantities, outcome."""
    from rich.table import Table

    table = Table("pool", "product", "status", "households", "pooled min..max", "outcome", "bought")
    path = "/pools" + (f"?status={status}" if status else "")
    for p in _pool_call(node, "GET", path, None, token):
        product = p["product"]["item_id"] or f"{p['product']['category']} {p['product']['grade'] or ''}".strip()
        outcome = p["outcome"] or {}
        text = (f"{outcome['total']} {p['unit']} at {outcome['unit_price']}" if "total" in outcome
                else outcome.get("reason", "") if outcome else "")
        table.add_row(p["pool_id"], product, p["status"], str(p["households"]),
                      f"{p['pooled_min']}..{p['pooled_max']} {p['unit']}", text, _bought(p))
    console.print(table)


def _bought(pool: dict) -> str:
    """A pool's procurement in a few words: its state and the producers' live shares."""
    proc = pool.get("procurement")
    if not proc:
        return ""
    shares = ", ".join(f"{o['producer'].split('.')[0]} {o['quantity']}" for o in proc["orders"]
                       if o["stage"] in ("select", "init", "confirm", "confirmed"))
    return f"{proc['state']}" + (f": {shares}" if shares else "") + (f" ({proc['note']})" if proc["state"] == "unsourced" else "")


@pool_app.command("show")
def pool_show(pool: str = typer.Argument(...), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION) -> None:
    """One pool's outcome and every order placed for it with producers (including failed ones and why)."""
    from rich.table import Table

    p = _pool_call(node, "GET", f"/pools/{pool}", None, token)
    outcome = p["outcome"] or {}
    console.print(f"{pool}: {p['status']}" + (f", {outcome['total']} {p['unit']} at {outcome['unit_price']} for "
                                               f"{outcome['households']} households" if "total" in outcome else ""))
    proc = p.get("procurement")
    if not proc:
        return
    console.print(f"procurement: {proc['state']}" + (f" — {proc['note']}" if proc["note"] else ""))
    table = Table("producer", "quantity", "unit price", "landed cost", "stage", "order", "fulfillment", "reason")
    for o in proc["orders"]:
        table.add_row(o["producer"], f"{o['quantity']} {o['unit']}", o["unit_price"], o["landed_cost"], o["stage"],
                      (o["order_id"] or "")[:8], o["fulfillment"] or "", o["reason"] or "")
    console.print(table)


@pool_app.command("picklist")
def pool_picklist(pickup: Optional[str] = typer.Option(None, help="only this pickup point"), node: str = NODE_OPTION,
                  token: Optional[str] = TOKEN_OPTION) -> None:
    """Per pickup point: who collects how much, and from which producer's delivery."""
    from rich.table import Table

    path = "/pick-lists" + (f"?pickup_point={pickup}" if pickup else "")
    for point, rows in _pool_call(node, "GET", path, None, token).items():
        table = Table("household", "item", "quantity", "amount", "status", "from", title=f"pickup point {point}")
        for r in rows:
            table.add_row(r["household"], r["item"], f"{r['quantity']} {r['unit']}", r["amount"], r["status"],
                          ", ".join(f"{f['producer'].split('.')[0]} {f['quantity']}" for f in r["from"]))
        console.print(table)


@pool_app.command("purchases")
def pool_purchases(producer: Optional[str] = typer.Option(None, help="only this producer"), node: str = NODE_OPTION,
                   token: Optional[str] = TOKEN_OPTION) -> None:
    """Per producer: what pools bought from it (以销定采), and where each order is delivered."""
    from rich.table import Table

    path = "/purchase-lists" + (f"?producer={producer}" if producer else "")
    for name, rows in _pool_call(node, "GET", path, None, token).items():
        table = Table("pool", "item", "quantity", "unit price", "landed cost", "stage", "deliver to", title=name)
        for r in rows:
            table.add_row(r["pool_id"], r["item_id"], f"{r['quantity']} {r['unit']}", r["unit_price"], r["landed_cost"],
                          r["fulfillment"] or r["stage"], ", ".join(f"{k} {v}" for k, v in r["deliver_to"].items()))
        console.print(table)


@pool_app.command("resource")
def pool_resource(pool: str = typer.Argument(...), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION) -> None:
    """Try again to buy a pool that could not be sourced (say, after new catalogs came in)."""
    _pool_call(node, "POST", f"/pools/{pool}/resource", {}, token)
    console.print(f"{pool}: sourcing again")


@pool_app.command("close")
def pool_close(pool: str = typer.Argument(...), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION) -> None:
    """Close a pool now: allocate to households, or fail with the reason."""
    p = _pool_call(node, "POST", f"/pools/{pool}/close", {}, token)
    outcome = p["outcome"] or {}
    if p["status"] == "allocated":
        console.print(f"{pool} allocated {outcome['total']} {p['unit']} at {outcome['unit_price']} "
                      f"to {outcome['households']} households")
    else:
        console.print(f"{pool} failed: {outcome.get('reason')}")


@plan_app.command("sourcing")
def plan_sourcing(
    file: Path = typer.Argument(..., help="a capacitated facility-location instance: producers and pools"),
    fmt: Optional[str] = typer.Option(None, "--format", help="orlib-cap or holmberg (default: guessed from the file)"),
    single_source: bool = typer.Option(False, "--single-source", help="each pool from exactly one producer"),
    capacity: Optional[float] = typer.Option(None, help="the capacity of every producer, for files that leave it "
                                                         "as the word 'capacity' (OR-Library capa/capb/capc)"),
    time_limit: Optional[float] = typer.Option(None, help="seconds; past it the best plan found is printed"),
) -> None:
    """Assign pools to producers at least cost (fixed cost per producer used + serving costs) within capacities;
    prints the cost, the producers used and the assignment as JSON."""
    import json

    from yuantou.domain.facility_files import InstanceError, guess_format, read_instance
    from yuantou.domain.network_sourcing import NetworkInfeasible, solve

    try:
        text = file.read_text(encoding="latin-1")
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")
    try:
        net = read_instance(text, str(file), fmt or guess_format(text), capacity)
    except InstanceError as exc:
        fail(str(exc))
    plan = solve(net, single_source=single_source, time_limit=time_limit)
    if isinstance(plan, NetworkInfeasible):
        fail(f"{file}: no plan ({plan.code}): {plan.reason}")
    m, n = net.shape
    assignment = {str(j): {str(i): round(float(plan.assignment[i, j]), 6) for i in range(m)
                           if plan.assignment[i, j] > 1e-9} for j in range(n)}
    print(json.dumps({"instance": file.name, "producers": m, "pools": n, "single_source": single_source,
                      "cost": round(plan.cost, 6), "optimal": plan.optimal, "bound": round(plan.bound, 6),
                      "seconds": round(plan.seconds, 3), "open": plan.open, "assignment": assignment}))


def _twin_or_fail(path: Path):  # noqa: ANN202
    from yuantou.domain.twin import TwinError
    from yuantou.domain.twin_files import load_twin

    try:
        return load_twin(path)
    except TwinError as exc:
        fail(str(exc))


def _print_twin(twin) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title="resources")
    for column in ("id", "name", "capacity a day", "week (Mon..Sun)", "calendar days"):
        table.add_column(column)
    for r in twin.resources:
        table.add_row(r.id, r.name, f"{r.capacity:g} {r.unit}", " ".join(f"{c:g}" for c in r.weekly) if r.weekly else "",
                      str(len(r.calendar)))
    console.print(table)
    table = Table(title="products")
    for column in ("id", "price", "unit cost", "setup", "min batch", "yield", "lead", "shelf life", "routings"):
        table.add_column(column)
    for p in twin.products:
        table.add_row(p.id, f"{p.price:g}", f"{p.unit_cost:g}", f"{p.setup_cost:g}", f"{p.min_batch:g}", f"{p.yield_:g}",
                      f"{p.lead_time} d", "keeps" if p.shelf_life is None else f"{p.shelf_life} d",
                      ", ".join(f"{r.resource} {r.use:g}/{p.unit}" for r in p.routings))
    console.print(table)
    if twin.stock:
        table = Table(title="stock lots")
        for column in ("id", "product", "quantity", "expires"):
            table.add_column(column)
        for lot in twin.stock:
            table.add_row(lot.id, lot.product, f"{lot.quantity:g}", lot.expires.isoformat() if lot.expires else "")
        console.print(table)
    table = Table(title="lanes")
    for column in ("region", "cost per unit", "days", "capacity a day"):
        table.add_column(column)
    for lane in twin.lanes:
        table.add_row(lane.region, f"{lane.cost_per_unit:g}", str(lane.days), "" if lane.capacity is None else f"{lane.capacity:g}")
    console.print(table)


@plan_app.command("twin")
def plan_twin(
    path: Path = typer.Argument(..., help="the capacity twin: a JSON file or a folder of CSV tables"),
    save: Optional[Path] = typer.Option(None, help="write it back out: a .json file, or a folder of CSV tables"),
) -> None:
    """Check a capacity twin and show it as tables (or convert it between JSON and CSV)."""
    from yuantou.domain.twin_files import save_twin

    twin = _twin_or_fail(path)
    _print_twin(twin)
    if save is not None:
        save_twin(twin, save)
        console.print(f"written to {save}")


def print_plan(plan, limit: int = 20) -> None:  # noqa: ANN001
    from rich.table import Table

    money = plan.money
    console.print(f"plan from {plan.start} for {plan.days} days: margin {plan.margin:,.2f} = revenue {money['revenue']:,.2f}"
                  f" − production {money['production']:,.2f} − setups {money['setup']:,.2f} − transport "
                  f"{money['transport']:,.2f} − holding {money['holding']:,.2f} − disposal {money['disposal']:,.2f}")
    fill = plan.fill_rate
    confirmed = "-" if fill["confirmed"] is None else f"{fill['confirmed']:.0%}"
    predicted = "-" if fill["forecast"] is None else f"{fill['forecast']:.1%}"
    console.print(f"fill rate: confirmed {confirmed}, forecast {predicted}; expected waste {plan.expected_waste:,.1f}; "
                  f"{plan.status}, gap {plan.gap:.2%}, {plan.seconds.get('total', 0):.1f} s")
    table = Table(title=f"production (first {limit} of {len(plan.production)})")
    for column in ("day", "product", "resource", "started", "output", "ready"):
        table.add_column(column)
    for r in plan.production[:limit]:
        table.add_row(r["day"], r["product"], r["resource"], f"{r['started']:,.1f}", f"{r['output']:,.1f}", r["ready"])
    console.print(table)
    table = Table(title="resources: mean utilisation and the highest shadow price")
    for column in ("resource", "used", "utilisation", "top shadow price", "on"):
        table.add_column(column)
    by_resource: dict[str, list[dict]] = {}
    for r in plan.resources:
        by_resource.setdefault(r["resource"], []).append(r)
    for resource, rows in by_resource.items():
        open_days = [r for r in rows if r["capacity"] > 0]
        util = sum(r["used"] for r in open_days) / max(sum(r["capacity"] for r in open_days), 1e-9)
        top = max(rows, key=lambda r: r["shadow_price"] or 0)
        table.add_row(resource, f"{sum(r['used'] for r in rows):,.1f}", f"{util:.0%}",
                      f"{top['shadow_price'] or 0:,.2f}", top["day"] if top["shadow_price"] else "")
    console.print(table)


@plan_app.command("run")
def plan_run(
    twin_path: Optional[Path] = typer.Option(None, "--twin", help="the capacity twin: a JSON file or a folder of CSV "
                                                                 "tables; without it, the producer node at --node "
                                                                 "plans from its stored twin, orders and forecast"),
    node: str = PRODUCER_OPTION,
    token: Optional[str] = TOKEN_OPTION,
    publish: bool = typer.Option(False, help="(node) offer the plan's room for new orders as catalog capacity"),
    orders: Optional[Path] = typer.Option(None, help="confirmed orders CSV: id,product,region,due,quantity[,price]"),
    forecast: Optional[Path] = typer.Option(None, help="forecast CSV as `yuantou forecast run` writes it (id = "
                                                       "PRODUCT/REGION)"),
    start: Optional[str] = typer.Option(None, help="first day (default: the forecast's first day, else today)"),
    days: int = typer.Option(28, min=1, help="days to plan"),
    out: Optional[Path] = typer.Option(None, help="write the whole plan (every table) as JSON"),
    time_limit: Optional[float] = typer.Option(None, help="seconds for HiGHS; past it the best plan found is kept"),
    gap: float = typer.Option(1e-4, help="relative MIP gap at which a plan counts as optimal"),
) -> None:
    """Plan production, stock and shipments for the best margin; confirmed orders are met or the binding
    constraints are named."""
    import json
    from datetime import date

    from yuantou.domain.twin import TwinError
    from yuantou.plan.demand import ForecastTable
    from yuantou.plan.inputs import read_forecasts, read_orders
    from yuantou.plan.model import PlanInput
    from yuantou.plan.solve import PlanInfeasible, ProductionPlan, solve

    if twin_path is None:
        body = {"days": days, "publish": publish, **({"start": start} if start else {}),
                **({"time_limit": time_limit} if time_limit else {})}
        _follow_job(node, _pool_call(node, "POST", "/plan/run", body, token), token, "planning")
        stored = _pool_call(node, "GET", "/plan", None, token)
        if out:
            out.write_text(json.dumps(stored, indent=1))
        if stored["status"] == "infeasible":
            fail(stored["message"])
        fields = {k: stored[k] for k in ("start", "days", "margin", "money", "fill_rate", "expected_waste", "status",
                                         "gap", "seconds", "size", "production", "shipments", "stock", "waste",
                                         "resources", "offers")}
        print_plan(ProductionPlan(**fields))
        return
    twin = _twin_or_fail(twin_path)
    try:
        confirmed = read_orders(orders, twin) if orders else []
        predicted = read_forecasts(forecast) if forecast else []
        first = date.fromisoformat(start) if start else min((f.day for f in predicted), default=date.today())
        table = ForecastTable.from_records(predicted, first) if predicted else None
        spec = PlanInput(twin, first, days, tuple(confirmed), table)
        with console.status("solving on HiGHS"):
            plan = solve(spec, time_limit=time_limit, gap=gap)
    except ValueError as exc:  # TwinError, and a malformed --start
        fail(str(exc) if isinstance(exc, TwinError) else f"--start: {exc}")
    if isinstance(plan, PlanInfeasible):
        if out:
            out.write_text(json.dumps(plan.as_json(), indent=1))
        fail(plan.message)
    print_plan(plan)
    if out:
        out.write_text(json.dumps(plan.as_json(), indent=1))
        console.print(f"the whole plan is in {out}")


@forecast_app.command("import")
def forecast_import(
    file: Path = typer.Argument(..., help="daily sales from before the node existed: long CSV id,date,quantity "
                                          "with id PRODUCT/REGION (REGION: the buyer node)"),
    node: str = PRODUCER_OPTION,
    token: Optional[str] = TOKEN_OPTION,
) -> None:
    """Load sales history into a producer node (replacing the same product, region and day)."""
    from yuantou.forecast.long_csv import HistoryFileError, read_long_csv, step_date

    try:
        data = read_long_csv(file, "D")
    except HistoryFileError as exc:
        fail(str(exc))
    rows = []
    for sid, values in data.values.items():
        product, _, region = sid.rpartition("/")
        if not product or not region:
            fail(f"{file}: series id {sid!r} should read PRODUCT/REGION")
        rows += [{"product": product, "region": region, "day": step_date(data.starts[sid], k, "D").date().isoformat(),
                  "quantity": float(v)} for k, v in enumerate(values)]
    done = _pool_call(node, "POST", "/demand/history", rows, token)
    console.print(f"{done['imported']} days of sales imported from {file} ({len(data.values)} series)")


def _follow_job(node: str, job: dict, token: Optional[str], label: str) -> dict:
    """Poll a node's job, drawing its progress, until it ends; a failed job is an error."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(label, total=None)
        while True:
            job = _pool_call(node, "GET", f"/jobs/{job['job_id']}", None, token)
            bar.update(task, total=job.get("total"), completed=job.get("done", 0))
            if job["state"] != "running":
                break
            time.sleep(0.3)
    if job["state"] != "done":
        fail(f"{label} failed on {node}: {job.get('error')}")
    return job


@forecast_app.command("run")
def forecast_run(
    history: Optional[Path] = typer.Option(None, help="long CSV: id,date,quantity (date: ISO date/time or an integer "
                                                      "step); without it, the producer node at --node forecasts "
                                                      "its own demand"),
    horizon: int = typer.Option(28, min=1, help="periods ahead"),
    out: Optional[Path] = typer.Option(None, help="where to write id,date,mean,lo-80,hi-80,...,model"),
    node: str = PRODUCER_OPTION,
    token: Optional[str] = TOKEN_OPTION,
    freq: Optional[str] = typer.Option(None, help="H, D, W, M, Q or Y (needed for calendar dates)"),
    season_length: Optional[int] = typer.Option(None, min=1, help="periods per season (default from --freq, else 1)"),
    level: list[int] = typer.Option([80, 95], help="prediction interval level in % (repeatable)"),
    windows: int = typer.Option(2, min=1, help="rolling origins for choosing each series' model"),
) -> None:
    """Forecast every series of a spreadsheet's history with the model cross-validation prefers, no node needed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from yuantou.forecast.long_csv import DEFAULT_SEASON, FREQUENCIES, HistoryFileError, read_long_csv, write_forecasts
    from yuantou.forecast.pipeline import Settings, run

    if history is None:  # on the node, from its own orders and imported history
        job = _pool_call(node, "POST", "/forecast/run", {"horizon": horizon, "levels": sorted(set(level)),
                                                         "windows": windows}, token)
        _follow_job(node, job, token, "forecasting")
        run = _pool_call(node, "GET", "/forecast", None, token)
        console.print(f"{run['summary']['series']} series × {horizon} days stored on {node} as {run['run_id']}; models "
                      "chosen: " + ", ".join(f"{m} {n}" for m, n in run["summary"]["models"].items()))
        return
    if out is None:
        fail("--out is needed with --history (where to write the forecasts)")
    if freq is not None and freq not in FREQUENCIES:
        fail(f"--freq {freq!r}: use one of {', '.join(FREQUENCIES)}")
    if any(not 0 < lv < 100 for lv in level):
        fail("--level: each level must be between 0 and 100 (a percentage)")
    try:
        data = read_long_csv(history, freq)
    except HistoryFileError as exc:
        fail(str(exc))
    season = season_length or (DEFAULT_SEASON[freq] if freq else 1)
    settings = Settings(horizon=horizon, season_length=season, levels=tuple(sorted(set(level))), windows=windows)
    ids = list(data.values)
    if data.filled:
        console.print(f"{data.filled} missing periods counted as zero sales")
    forecasts = []
    chunk = 50
    with Progress(TextColumn("forecasting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("series", total=len(ids))
        for start in range(0, len(ids), chunk):
            part = {sid: data.values[sid] for sid in ids[start:start + chunk]}
            forecasts += run(part, settings)
            progress.advance(task, len(part))
    write_forecasts(out, data, forecasts, settings.levels)
    chosen: dict[str, int] = {}
    for f in forecasts:
        chosen[f.model] = chosen.get(f.model, 0) + 1
    console.print(f"{len(forecasts)} series × {horizon} periods written to {out}; models chosen: "
                  + ", ".join(f"{m} {n}" for m, n in sorted(chosen.items(), key=lambda kv: -kv[1])))
    how: dict[str, int] = {}
    for f in forecasts:
        how[f.method] = how.get(f.method, 0) + 1
    for method, n in sorted(how.items(), key=lambda kv: -kv[1]):
        console.print(f"  {n} series {method}")


@app.command()
def demo(
    demand: Optional[Path] = typer.Option(None, "--demand", help="your own history, long CSV: date,region,product,"
                                          "quantity (default: the shipped real car-part sales)"),
    products: int = typer.Option(12, help="product lines the car parts are dealt into (ignored with --demand)"),
    regions: int = typer.Option(3, help="regions, one organiser node each (ignored with --demand)"),
    producers: int = typer.Option(3, help="producer nodes; products are dealt among them"),
    warmup: int = typer.Option(12, help="periods both markets' producers have seen before the replay"),
    days: Optional[int] = typer.Option(None, help="periods to replay after the warm-up (default: all)"),
    commission: float = typer.Option(0.20, help="the platform's cut of the consumer price"),
    producer_markup: float = typer.Option(0.10, help="network price = platform's payout to the producer × (1 + this)"),
    organiser_fee: float = typer.Option(0.05, help="the organiser's cut on top of a pool's price"),
    pool_discount: float = typer.Option(0.05, help="price cut for a pool of --tier-quantity units or more"),
    tier_quantity: int = typer.Option(20, help="pool size (units) from which the discount applies"),
    moq: int = typer.Option(3, help="a pool's minimum batch in units; a smaller pool fails"),
    pooled_share: float = typer.Option(0.8, help="share of households that pre-order through a pool"),
    max_ask: int = typer.Option(3, help="a household asks for 1 to this many units"),
    capacity_factor: float = typer.Option(1.2, help="daily capacity per product, × its mean daily demand"),
    cost_share: float = typer.Option(0.5, help="making a unit costs this share of the platform price"),
    shelf_life: int = typer.Option(1, help="days a unit can be sold before it is wasted"),
    price_min: float = typer.Option(20.0, help="lowest platform price drawn (CNY)"),
    price_max: float = typer.Option(120.0, help="highest platform price drawn (CNY)"),
    seed: int = typer.Option(7, help="seeds the mapping of parts to products and regions, households and prices"),
    forecast_every: int = typer.Option(7, help="days between the network producers' forecast refits"),
    deliver: bool = typer.Option(True, help="producers mark each day's pooled orders Delivered (on_status)"),
    report: Optional[Path] = typer.Option(None, help="where to write the HTML report (default: in the data folder)"),
    data_dir: Optional[Path] = typer.Option(None, help="where to put databases and keys (default: a temp folder)"),
    keep: bool = typer.Option(False, "--keep", help="leave the network running afterwards, for its dashboards"),
) -> None:
    """Replay real demand through a local Yuantou network and compare it with a central platform."""
    from yuantou.demo import DemoOptions, run_demo
    from yuantou.sim.market import Market

    logging.basicConfig(level=logging.WARNING)
    market = Market(commission=commission, producer_markup=producer_markup, organiser_fee=organiser_fee,
                    pool_discount=pool_discount, tier_quantity=tier_quantity, moq=moq, pooled_share=pooled_share,
                    max_ask=max_ask, capacity_factor=capacity_factor, cost_share=cost_share, shelf_life=shelf_life,
                    price_min=price_min, price_max=price_max, seed=seed)
    options = DemoOptions(demand_file=demand, products=products, regions=regions, producers=producers, warmup=warmup,
                          days=days, forecast_every=forecast_every, deliver=deliver, report=report,
                          data_dir=data_dir, keep=keep, market=market)
    raise typer.Exit(run_demo(console, options))


@app.command()
def tour(
    keep: bool = typer.Option(False, "--keep", help="leave the network running and print its URLs"),
    data_dir: Optional[Path] = typer.Option(None, help="where to put databases and keys (default: a temp folder)"),
    orders_per_buyer: int = typer.Option(3, help="complete order flows each buyer runs"),
) -> None:
    """Start a directory, 3 producers and 2 buyers on 127.0.0.1 and walk through every kind of trade."""
    from yuantou.tour import run_tour

    logging.basicConfig(level=logging.WARNING)
    raise typer.Exit(run_tour(console, keep=keep, data_dir=data_dir, orders_per_buyer=orders_per_buyer))


if __name__ == "__main__":
    app()
