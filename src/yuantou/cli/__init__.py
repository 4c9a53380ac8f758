"""The ``yuantou`` command: one module per command group, each translating to a node's API or service."""

from __future__ import annotations

import typer

from yuantou import __version__
from yuantou.cli.directory import directory_app
from yuantou.cli.forecast import forecast_app
from yuantou.cli.init import init_app
from yuantou.cli.keys import keys_app
from yuantou.cli.ledger import ledger_app
from yuantou.cli.node import node_app
from yuantou.cli.plan import plan_app
from yuantou.cli.pool import pool_app
from yuantou.cli.receipt import receipt_app
from yuantou.cli.search import search_app
from yuantou.cli.walkthrough import walkthrough_app

app = typer.Typer(help="Yuantou: producers and pooled buyers trading point to point over Beckn.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
for group, name in ((keys_app, "keys"), (directory_app, "directory"), (node_app, "node"), (pool_app, "pool"),
                    (plan_app, "plan"), (forecast_app, "forecast"), (ledger_app, "ledger"),
                    (receipt_app, "receipt")):
    app.add_typer(group, name=name)
app.registered_commands += (init_app.registered_commands + search_app.registered_commands
                            + walkthrough_app.registered_commands)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"yuantou {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                                help="print the version and exit")) -> None:
    """Yuantou: producers and pooled buyers trading point to point over Beckn."""
