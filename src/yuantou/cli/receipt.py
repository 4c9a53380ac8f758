"""Households' receipts: ``yuantou receipt check``, offline, against the organiser's public key."""

from __future__ import annotations

from pathlib import Path

import typer

from yuantou.buyer.receipts import ReceiptProblem, check_receipt
from yuantou.cli.common import console, fail
from yuantou.protocol import json_guard

receipt_app = typer.Typer(help="Households' receipts, signed by the organiser's node.", no_args_is_help=True)


@receipt_app.command("check")
def receipt_check(
    file: Path = typer.Argument(..., help="a receipt (or a household line that carries one), as JSON"),
    public_key: str = typer.Option(..., "--public-key", help="the organiser's Ed25519 signing public key, base64 "
                                                              "(its /health and the directory list it)"),
) -> None:
    """Check that the organiser's key signed exactly this receipt; needs no network."""
    try:
        document = json_guard.document(file.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{file}: cannot read ({exc.strerror})")
    except json_guard.JsonProblem as problem:
        fail(f"{file}: {problem.message}")
    if isinstance(document, dict) and "receipt" in document and "signature" not in document:
        document = document["receipt"]  # a household line, with its receipt inside
    try:
        receipt = check_receipt(document, public_key)
    except ReceiptProblem as exc:
        fail(f"{file}: {exc}")
    console.print(f"valid: {receipt['organiser']} signed {receipt['household']}'s line {receipt['intent_id']}: "
                  f"{receipt['quantity']} {receipt['unit']} of {receipt['item']} at {receipt['unit_price']} "
                  f"{receipt['currency']}, to collect at {receipt['pickup_point']}")
