"""Signing keys: ``yuantou keys``."""

from __future__ import annotations

from pathlib import Path

import typer

from yuantou.cli.common import console, fail

keys_app = typer.Typer(help='Signing keys.', no_args_is_help=True)


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
