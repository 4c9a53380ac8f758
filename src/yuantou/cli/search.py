"""``yuantou search``: what the producers the directory lists offer, asked through a running buyer node (its
``/api/search``: through the gateway, or straight to one producer), as a table."""

from __future__ import annotations

import time
from typing import Any, Optional

import typer
from rich.table import Table

from yuantou.cli.common import NODE_OPTION, TOKEN_OPTION, api_call, console

search_app = typer.Typer()


def offer_rows(callbacks: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per item of each ``on_search``: producer, provider, item, price and capacity per window."""
    from yuantou.protocol.profile import CAPACITY_TAG, tag_values

    rows: list[tuple[str, ...]] = []
    for callback in callbacks:
        payload = callback.get("payload") or {}
        producer = str((payload.get("context") or {}).get("bpp_id", ""))
        for provider in ((payload.get("message") or {}).get("catalog") or {}).get("providers") or []:
            provider_name = (provider.get("descriptor") or {}).get("name") or provider.get("id", "")
            for item in provider.get("items") or []:
                price = item.get("price") or {}
                capacity = tag_values(item, CAPACITY_TAG)
                rows.append((producer, str(provider_name), str(item.get("id", "")),
                             str((item.get("descriptor") or {}).get("name") or ""),
                             f"{price.get('value', '')} {price.get('currency', '')}".strip(),
                             ", ".join(f"{window}: {left}" for window, left in capacity.items())))
    return rows


@search_app.command("search")
def search(
    query: str = typer.Argument("", help="words to match in item names and ids (empty: everything)"),
    category: Optional[str] = typer.Option(None, help="only this category"),
    producer: Optional[str] = typer.Option(None, "--producer", help="ask this producer (its subscriber id) directly"),
    wait: float = typer.Option(5.0, min=0.5, max=60, help="seconds to collect the producers' answers"),
    node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION,
) -> None:
    """Search the network through a buyer node and list what each producer offers."""
    sent = api_call(node, "POST", "/search", {"query": query, "category": category, "bpp_id": producer}, token)
    deadline, answers = time.monotonic() + wait, []
    while (left := deadline - time.monotonic()) > 0:  # the node holds each poll until an answer or the time is up
        answers = api_call(node, "GET", f"/messages/{sent['message_id']}?wait={min(left, 30):.1f}&count=1000",
                           token=token)
        if producer and answers:
            break
    rows = offer_rows(answers)
    if not rows:
        console.print(f"no producer answered within {wait:g} s" + ("" if answers else
                      " (check the node's city and domain: its start-up banner warns when the directory lists "
                      "no producer there)"))
        raise typer.Exit(1)
    table = Table("producer", "provider", "item", "name", "price", "capacity per window", title=f"{len(rows)} offers")
    for row in rows:
        table.add_row(*row)
    console.print(table)
