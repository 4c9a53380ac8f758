"""Pooled demand on a buyer node: ``yuantou pool``."""

from __future__ import annotations

from typing import Optional

import typer

from yuantou.cli.common import NODE_OPTION, TOKEN_OPTION, api_call, console, fail, parse_window

pool_app = typer.Typer(help='Pooled demand on a buyer node (organisers and household apps).', no_args_is_help=True)


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
    start, end = parse_window(window)
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
    pool = api_call(node, "POST", "/pools", body, token)
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
    start, end = parse_window(window)
    body = {"household": household, "item_id": item, "category": category, "grade": grade,
            "min_quantity": min_quantity, "max_quantity": max_quantity, "max_price": max_price,
            "pickup_point": pickup, "window_start": start, "window_end": end, "pool_id": pool}
    joined = api_call(node, "POST", "/intents", body, token)
    console.print(f"intent {joined['intent_id']} joined {joined['pool_id']}")


@pool_app.command("withdraw")
def pool_withdraw(intent: str = typer.Argument(...), node: str = NODE_OPTION,
                  token: Optional[str] = TOKEN_OPTION) -> None:
    """Withdraw an intent while its pool is open."""
    api_call(node, "POST", f"/intents/{intent}/withdraw", {}, token)
    console.print(f"intent {intent} withdrawn")


@pool_app.command("list")
def pool_list(status: Optional[str] = typer.Option(None), node: str = NODE_OPTION,
              token: Optional[str] = TOKEN_OPTION) -> None:
    """Every pool: product, pooled quantities, outcome."""
    from rich.table import Table

    table = Table("pool", "product", "status", "households", "pooled min..max", "outcome", "bought")
    path = "/pools" + (f"?status={status}" if status else "")
    for p in api_call(node, "GET", path, None, token):
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

    p = api_call(node, "GET", f"/pools/{pool}", None, token)
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
    for point, rows in api_call(node, "GET", path, None, token).items():
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
    for name, rows in api_call(node, "GET", path, None, token).items():
        table = Table("pool", "item", "quantity", "unit price", "landed cost", "stage", "deliver to", title=name)
        for r in rows:
            table.add_row(r["pool_id"], r["item_id"], f"{r['quantity']} {r['unit']}", r["unit_price"], r["landed_cost"],
                          r["fulfillment"] or r["stage"], ", ".join(f"{k} {v}" for k, v in r["deliver_to"].items()))
        console.print(table)


@pool_app.command("resource")
def pool_resource(pool: str = typer.Argument(...), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION) -> None:
    """Try again to buy a pool that could not be sourced (say, after new catalogs came in)."""
    api_call(node, "POST", f"/pools/{pool}/resource", {}, token)
    console.print(f"{pool}: sourcing again")


@pool_app.command("close")
def pool_close(pool: str = typer.Argument(...), node: str = NODE_OPTION, token: Optional[str] = TOKEN_OPTION) -> None:
    """Close a pool now: allocate to households, or fail with the reason."""
    p = api_call(node, "POST", f"/pools/{pool}/close", {}, token)
    outcome = p["outcome"] or {}
    if p["status"] == "allocated":
        console.print(f"{pool} allocated {outcome['total']} {p['unit']} at {outcome['unit_price']} "
                      f"to {outcome['households']} households")
    else:
        console.print(f"{pool} failed: {outcome.get('reason')}")
