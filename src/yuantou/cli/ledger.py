"""The ledger's commands: ``yuantou ledger``."""

from __future__ import annotations

from pathlib import Path

import typer

from yuantou.cli.common import err, fail, load_node_files

ledger_app = typer.Typer(help="The node's hash-chained, counter-signed record of its messages.", no_args_is_help=True)


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

    cfg, own, _ = load_node_files(config)
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
    import asyncio
    import json

    import httpx

    from yuantou.ledger.evidence import evidence_bundle
    from yuantou.protocol.registry_client import RegistryClient
    from yuantou.store.db import Database

    cfg, _, _ = load_node_files(config)

    async def bundle():  # noqa: ANN202
        db = Database(cfg.database_url)
        try:
            async with httpx.AsyncClient() as http:
                return await evidence_bundle(db, RegistryClient(cfg.directory_url, http), cfg.subscriber_id,
                                             transaction, cfg.signature_slack)
        finally:
            db.close()

    try:
        document = asyncio.run(bundle())
    except httpx.HTTPError as exc:
        fail(f"cannot reach {cfg.directory_url} for the parties' keys: {exc}")
    except Exception as exc:  # noqa: BLE001  a store that cannot be reached, or one from before the ledger
        fail(f"{cfg.database_url}: {exc}")
    if document is None:
        fail(f"the ledger of {cfg.subscriber_id} holds no message of transaction {transaction!r}")
    out.write_text(json.dumps(document, indent=1))
    typer.echo(f"{out}: {len(document['entries'])} entries of transaction {transaction}, "
               f"{len(document['checkpoints'])} checkpoints")


def _bundle(path: Path):  # noqa: ANN202
    """A bundle file's document, entries, checkpoints and keys; one that cannot be read exits 2 naming the field."""
    from yuantou.ledger.bundle import read_bundle
    from yuantou.protocol.json_guard import document

    try:
        doc = document(path.read_text())
        return (doc, *read_bundle(doc))
    except OSError as exc:
        fail(f"{path}: {exc.strerror}")
    except ValueError as exc:  # JSON (JsonProblem, with its line) or bundle errors (BundleError, with the field)
        fail(f"{path}: {exc}")


@ledger_app.command("check")
def ledger_check(bundle: Path = typer.Argument(..., help="a bundle from `yuantou ledger export`")) -> None:
    """Check an evidence bundle on any machine, with no network: each entry's hash, ids, signature and receipt,
    and the checkpoints, against the keys in the bundle. Exits 1 naming the first problem."""
    from yuantou.ledger.evidence import check_bundle

    doc, _, _, _ = _bundle(bundle)
    verdict = check_bundle(doc)
    _verdict(str(bundle), verdict.problem,
             f"{verdict.entries} entries of transaction {verdict.transaction_id} from {verdict.node} verify, "
             f"with {verdict.checkpoints} checkpoints")


@ledger_app.command("compare")
def ledger_compare(first: Path = typer.Argument(..., help="one party's bundle"),
                   second: Path = typer.Argument(..., help="the other party's bundle on the same transaction")) -> None:
    """Hold two parties' bundles on one transaction against each other: every message one side sent that the
    other does not hold (with whether it was receipted), every message id held under different bytes, every
    checkpoint a side signed for messages it no longer holds. Each bundle is checked first. Exits 1 on any."""
    from yuantou.ledger.compare import Side, compare
    from yuantou.ledger.verify import verify

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
