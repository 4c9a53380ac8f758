"""``yuantou tour``: a directory, three producers and two buyers walk through every kind of trade on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yuantou.devnet.client import FlowError, NodeClient, order_flow
from yuantou.devnet.localnet import LocalNetwork
from yuantou.devnet.tour_pools import (
    HOUSEHOLDS_PER_POINT,
    PICKUP_POINTS,
    close_and_buy,
    households_pool,
    list_lines,
    pool_lines,
    producer_packs,
)

SHOPPING = [("apple", 40), ("milk", 24), ("rice", 3), ("yogurt", 12), ("pear", 30), ("apple", 25)]


def _offers(callbacks: list[dict]) -> list[dict]:
    """Every item offered in the on_search answers, cheapest first."""
    offers = []
    for cb in callbacks:
        ctx = cb["payload"]["context"]
        for provider in cb["payload"]["message"]["catalog"].get("providers", []):
            for item in provider.get("items", []):
                offers.append({"bpp_id": ctx["bpp_id"], "provider_id": provider["id"], "item": item,
                               "price": float(item["price"]["value"])})
    return sorted(offers, key=lambda o: o["price"])


def run_tour(console: Console, keep: bool = False, data_dir: Path | None = None, orders_per_buyer: int = 3) -> int:
    root = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="yuantou-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    net = LocalNetwork(root)
    console.rule("[bold]Yuantou tour: point-to-point trade over signed Beckn messages")
    console.print(f"data folder: {root}")
    flows = 2 * orders_per_buyer
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console) as progress:
            boot = progress.add_task("starting directory, 3 producers, 2 buyers", total=6)
            net.start_directory()
            progress.advance(boot)
            from yuantou.devnet.localnet import PRODUCERS, catalog_document
            nodes = [net.add_node(key, ["producer"], catalog_document(key, name, items), wait=False)
                     for key, (name, items) in PRODUCERS.items()]
            nodes += [net.add_node(f"buyer{i}", ["buyer"], wait=False) for i in (1, 2)]
            net.wait_started(nodes, lambda _: progress.advance(boot))
            trade = progress.add_task("order flows (search → confirm → status)", total=flows + 2)
            clients = {name: NodeClient(p.url, p.token) for name, p in net.buyers.items()}
            producers = {p.subscriber_id: NodeClient(p.url, p.token) for p in net.producers.values()}
            confirmed: list[tuple[str, str, str]] = []  # (buyer, order_id, bpp_id)
            log_lines: list[str] = []
            for n in range(flows):
                buyer_name = f"buyer{n % 2 + 1}"
                buyer = clients[buyer_name]
                query, qty = SHOPPING[n % len(SHOPPING)]
                sent = buyer.post("/api/search", {"query": query})
                found = buyer.callbacks(sent["message_id"], wait=3, count=3)
                offers = _offers(found)
                if not offers:
                    log_lines.append(f"{buyer_name}: no producer offers {query!r}")
                    progress.advance(trade)
                    continue
                best = offers[0]
                item = best["item"]
                window = item["fulfillment_ids"][n % len(item["fulfillment_ids"])]
                unit = item["quantity"]["unitized"]["measure"]["unit"]
                result = order_flow(buyer, sent["transaction_id"], best["bpp_id"], best["provider_id"],
                                    [{"id": item["id"], "quantity": qty, "unit": unit}], window)
                if result.get("error"):
                    log_lines.append(f"{buyer_name}: {query} refused: {result['error']}")
                else:
                    order = result["message"]["order"]
                    confirmed.append((buyer_name, order["id"], best["bpp_id"]))
                    log_lines.append(f"{buyer_name}: {qty} {unit} {item['descriptor']['name']} from {best['bpp_id']} "
                                     f"at {item['price']['value']} → order {order['id'][:8]} {order['status']} "
                                     f"(total {order['quote']['price']['value']} {order['quote']['price']['currency']})")
                    st = buyer.post(f"/api/orders/{order['id']}/status")
                    buyer.one_callback(st["message_id"])
                progress.advance(trade)
            # a producer accepts one order: an unsolicited on_status reaches the buyer
            if confirmed:
                buyer_name, order_id, bpp_id = confirmed[0]
                producers[bpp_id].post(f"/api/orders/{order_id}/fulfillment", {"state": "Accepted"})
                log_lines.append(f"{bpp_id} accepted order {order_id[:8]} (unsolicited on_status to {buyer_name})")
            progress.advance(trade)
            # one cancel
            if len(confirmed) > 1:
                buyer_name, order_id, _ = confirmed[-1]
                sent = clients[buyer_name].post(f"/api/orders/{order_id}/cancel", {"reason": "household changed plans"})
                answer = clients[buyer_name].one_callback(sent["message_id"])
                log_lines.append(f"{buyer_name}: cancelled order {order_id[:8]} → {answer['message']['order']['status']}")
            # one business refusal: far more than any window holds
            sent = clients["buyer1"].post("/api/search", {"query": "rice"})
            offers = _offers(clients["buyer1"].callbacks(sent["message_id"], wait=3, count=len(net.producers)))
            if not offers:
                log_lines.append("buyer1: no producer answered the search for rice; refusal not shown")
            else:
                o = offers[0]
                sel = clients["buyer1"].post("/api/select", {
                    "transaction_id": sent["transaction_id"], "bpp_id": o["bpp_id"], "provider_id": o["provider_id"],
                    "items": [{"id": o["item"]["id"], "quantity": 100000, "unit": "bag"}],
                    "window_id": o["item"]["fulfillment_ids"][0]})
                refusal = clients["buyer1"].one_callback(sel["message_id"])
                log_lines.append(f"buyer1: 100000 bags of rice → refused with {refusal.get('error')}")
            progress.advance(trade)
            pool_task = progress.add_task("households pooling (云拼), pools bought from producers",
                                          total=len(PICKUP_POINTS) * (HOUSEHOLDS_PER_POINT + 1))
            organiser = clients["buyer1"]
            pools = households_pool(organiser, len(net.producers), lambda: progress.advance(pool_task))
            bought = close_and_buy(organiser, pools, lambda: progress.advance(pool_task))
            pool_log = pool_lines(bought) + list_lines(organiser)
            pool_log.append(producer_packs(organiser, producers["orchard.yuantou.local"], "orchard.yuantou.local"))
            time.sleep(0.5)  # let the last unsolicited callbacks land
        console.rule("single orders")
        for line in log_lines:
            console.print(" •", line)
        console.rule(f"pooled demand: {len(PICKUP_POINTS) * HOUSEHOLDS_PER_POINT} households of buyer1's community")
        for line in pool_log:
            console.print(" •", line)
        wide = console.width >= 120  # per-action detail only where it fits without wrapping
        table = Table(title="What each node holds (its own store; the directory holds no transaction)")
        for col in ("node", "role", "received" + (" (per action)" if wide else ""), "sent/pending", "orders"):
            table.add_column(col, overflow="fold")
        for proc in net.all():
            if proc is net.directory:
                info = NodeClient(proc.url, proc.token).get("/")
                g = info["gateway"]
                table.add_row(proc.name, "registry, gateway", f"{g['searches']} searches → {g['forwarded']} producers",
                              f"{g['on_search_relayed']} on_search", "none, by design")
                continue
            s = NodeClient(proc.url, proc.token).summary()
            received = str(sum(s["inbox"].values()))
            if wide:
                received += " (" + ", ".join(f"{k} {v}" for k, v in sorted(s["inbox"].items())) + ")"
            orders: dict[str, int] = {}
            for key, n in s["orders"].items():
                status = key.split(":", 1)[1].lower()
                orders[status] = orders.get(status, 0) + n
            table.add_row(proc.name, ",".join(s["roles"]), received,
                          f"{s['outbox'].get('delivered', 0)}/{s['outbox'].get('pending', 0)}",
                          ", ".join(f"{n} {k}" for k, n in sorted(orders.items())) or "-")
        console.print(table)
        if keep:
            console.print("[bold]network is running[/bold] (Ctrl-C to stop):")
            for proc in net.all():
                console.print(f"  {proc.name:10s} {proc.url}" + ("/docs" if proc is not net.directory else "/"))
            net.hold()
        return 0
    except (FlowError, RuntimeError) as exc:
        console.print(f"[red]tour failed:[/red] {exc}")
        console.print(net.failure_logs(), markup=False)
        return 1
    finally:
        net.stop()
        if not keep and data_dir is None:
            shutil.rmtree(root, ignore_errors=True)
