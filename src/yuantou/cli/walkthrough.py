"""The local walk-throughs: ``yuantou demo`` and ``yuantou tour``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from yuantou.cli.common import console

walkthrough_app = typer.Typer()


@walkthrough_app.command()
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
    from yuantou.devnet.demo import DemoOptions, run_demo
    from yuantou.devnet.sim.market import Market

    logging.basicConfig(level=logging.WARNING)
    market = Market(commission=commission, producer_markup=producer_markup, organiser_fee=organiser_fee,
                    pool_discount=pool_discount, tier_quantity=tier_quantity, moq=moq, pooled_share=pooled_share,
                    max_ask=max_ask, capacity_factor=capacity_factor, cost_share=cost_share, shelf_life=shelf_life,
                    price_min=price_min, price_max=price_max, seed=seed)
    options = DemoOptions(demand_file=demand, products=products, regions=regions, producers=producers, warmup=warmup,
                          days=days, forecast_every=forecast_every, deliver=deliver, report=report,
                          data_dir=data_dir, keep=keep, market=market)
    raise typer.Exit(run_demo(console, options))


@walkthrough_app.command()
def tour(
    keep: bool = typer.Option(False, "--keep", help="leave the network running and print its URLs"),
    data_dir: Optional[Path] = typer.Option(None, help="where to put databases and keys (default: a temp folder)"),
    orders_per_buyer: int = typer.Option(3, help="complete order flows each buyer runs"),
) -> None:
    """Start a directory, 3 producers and 2 buyers on 127.0.0.1 and walk through every kind of trade."""
    from yuantou.devnet.tour import run_tour

    logging.basicConfig(level=logging.WARNING)
    raise typer.Exit(run_tour(console, keep=keep, data_dir=data_dir, orders_per_buyer=orders_per_buyer))
