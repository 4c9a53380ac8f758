"""``yuantou demo``: a whole network on 127.0.0.1 replays real demand, then compares itself with a platform.

It starts a directory, one producer node per group of products and one organiser node per
region, prints their dashboards, replays the demand day by day through them (households
pool, orders flow point to point, producers forecast and make, ledgers grow), verifies
every ledger, writes an HTML report and prints the comparison with a central-platform
baseline the same simulator runs on the same demand.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from yuantou.devnet.localnet import LocalNetwork, Proc
from yuantou.devnet.sim.demand import Demand, DemandFileError, carparts, read_long
from yuantou.devnet.sim.market import Market
from yuantou.devnet.sim.replay import DemoNetwork, NodeForecasts, ReplayError
from yuantou.devnet.sim.report import NETWORK, PLATFORM, rows, write_report
from yuantou.devnet.sim.run import plan_replay, run_replay


@dataclass
class DemoOptions:
    demand_file: Path | None = None
    products: int = 12
    regions: int = 3
    producers: int = 3
    warmup: int = 12
    days: int | None = None
    forecast_every: int = 7
    deliver: bool = True
    report: Path | None = None
    data_dir: Path | None = None
    keep: bool = False
    market: Market = field(default_factory=Market)


def load_demand(options: DemoOptions) -> Demand:
    if options.demand_file is not None:
        return read_long(options.demand_file)
    return carparts(options.products, options.regions, options.market.seed)


def ledger_rows(network: DemoNetwork) -> list[dict[str, Any]]:
    """Each node's ledger after the replay, verified as ``yuantou ledger verify`` would."""
    out = []
    for role, procs, page in (("producer", network.producers, "/dashboard/producer"),
                              ("organiser", network.organisers, "/dashboard/buyer")):
        for proc in procs:
            with proc.client(timeout=600) as api:
                verdict = api.post("/ledger/verify").json()
            ok = verdict["finished_at"] and not verdict["problem"] and not verdict["error"]
            out.append({"name": proc.subscriber_id, "role": role, "entries": verdict["entries"],
                        "verified": "every entry, signature and checkpoint verifies" if ok else
                        f"BROKEN: {verdict['problem'] or verdict['error']}", "dashboard": proc.url + page})
    return out


def print_dashboards(console: Console, net: LocalNetwork, network: DemoNetwork) -> None:
    console.print("[bold]Dashboards[/bold] (log in with the token shown; they update live during the replay):")
    entries: list[tuple[str, Proc, str]] = [("directory", net.directory, "/dashboard")] if net.directory else []
    entries += [(p.name, p, "/dashboard/buyer") for p in network.organisers]
    entries += [(p.name, p, "/dashboard/producer") for p in network.producers]
    for name, proc, page in entries:
        console.print(f"  {name:22s} {proc.url}{page}   token [cyan]{proc.token}[/cyan]", soft_wrap=True)


def comparison_table(replay) -> Table:  # noqa: ANN001
    days = f"{replay.days} day{'s' if replay.days != 1 else ''}"
    table = Table(title=f"The same demand ({days}, {replay.network.total('demand'):,.0f} units asked)")
    table.add_column("figure")
    table.add_column(PLATFORM, justify="right")
    table.add_column(NETWORK, justify="right")
    table.add_column("change", justify="right")
    for row in rows(replay):
        table.add_row(*row)
    return table


def _interrupt_on_sigterm() -> None:
    """A ``kill`` (or a CI timeout) stops the demo as Ctrl-C does, so its nodes are stopped too: they run in
    their own sessions and would otherwise outlive it."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def run_demo(console: Console, options: DemoOptions) -> int:
    problems = options.market.problems()
    if options.producers < 1:
        problems.append("--producers: must be at least 1")
    if options.forecast_every < 1:
        problems.append("--forecast-every: must be at least 1")
    if problems:
        for problem in problems:
            console.print(f"[red]error:[/red] {problem}")
        return 2
    try:
        demand = load_demand(options)
        replay = plan_replay(demand, options.market, options.warmup, options.days, options.forecast_every)
    except (DemandFileError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    producers = min(options.producers, len(demand.products))
    _interrupt_on_sigterm()
    root = Path(options.data_dir) if options.data_dir else Path(tempfile.mkdtemp(prefix="yuantou-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    net = LocalNetwork(root)
    network = DemoNetwork(net, demand, options.market, replay.prices, replay.capacity, replay.days)
    console.rule("[bold]Yuantou demo: real demand through a point-to-point network")
    console.print(f"demand: {demand.source}")
    started = time.perf_counter()
    try:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            boot = bar.add_task(f"starting the directory, {producers} producers, {len(demand.regions)} organisers",
                                total=1 + producers + len(demand.regions))
            network.start(producers, lambda: bar.advance(boot))
            replay.forecaster = NodeForecasts(network, replay.spot_history, options.warmup, options.forecast_every)
        print_dashboards(console, net, network)
        with Progress(*columns, TextColumn("{task.fields[last]}"), console=console) as bar:
            task = bar.add_task("simulated days", total=replay.days, last="")
            run_replay(replay, network, lambda d: bar.update(task, advance=1, last=replay.labels[d]),
                       deliver=options.deliver)
            verifying = bar.add_task("verifying every ledger", total=None, last="")
            nodes = ledger_rows(network)
            bar.update(verifying, total=1, completed=1)
        report = write_report(options.report or (root / "yuantou-demo-report.html"), replay, nodes,
                              {"forecast_every": options.forecast_every,
                               "warmup": options.warmup, "days": replay.days, "producers": producers,
                               "regions": len(demand.regions), "products": len(demand.products)})
        console.print(comparison_table(replay))
        pools = replay.pools
        console.print(f"pools: {pools['opened']:,} opened, {pools['bought']:,} bought in full, {pools['short']:,} "
                      f"in part, {pools['failed']:,} not bought · ledgers: "
                      f"{sum(n['entries'] for n in nodes):,} entries, "
                      + ("all verified" if all(n["verified"].startswith("every") for n in nodes) else "[red]NOT all verified[/red]")
                      + f" · {time.perf_counter() - started:.0f} s (pools {replay.seconds['pools']:.0f} s, "
                        f"forecasts {replay.seconds['forecast']:.0f} s, deliveries {replay.seconds['deliver']:.0f} s)")
        models = ", ".join(f"{m} {n}" for m, n in sorted(replay.forecaster.models.items(), key=lambda kv: -kv[1]))
        console.print(f"producer nodes' forecasts: {replay.forecaster.fits} refits (models chosen: {models or '-'})")
        console.print(f"report: {report}")
        if options.keep:
            console.print("[bold]the network is still running[/bold] (Ctrl-C to stop); dashboards above")
            net.hold()
        return 0
    except KeyboardInterrupt:
        console.print("[yellow]interrupted:[/yellow] stopping the network")
        return 130
    except (ReplayError, RuntimeError) as exc:
        console.print(f"[red]demo failed:[/red] {exc}")
        console.print(net.failure_logs(), markup=False)
        return 1
    finally:
        net.stop()
        if not options.keep and options.data_dir is None and options.report is not None:
            shutil.rmtree(root, ignore_errors=True)
