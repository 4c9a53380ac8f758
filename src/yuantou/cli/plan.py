"""Production and sourcing plans: ``yuantou plan``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from yuantou.cli.common import PRODUCER_OPTION, TOKEN_OPTION, api_call, console, fail, follow_job

plan_app = typer.Typer(help='Production and sourcing plans (C2M).', no_args_is_help=True)


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

    from yuantou.plan.facility_files import InstanceError, guess_format, read_instance
    from yuantou.plan.network_sourcing import NetworkInfeasible, solve

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
    from yuantou.producer.twin_files import load_twin

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
    from yuantou.producer.twin_files import save_twin

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
        follow_job(node, api_call(node, "POST", "/plan/run", body, token), token, "planning")
        stored = api_call(node, "GET", "/plan", None, token)
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
