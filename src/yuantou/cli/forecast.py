"""Demand forecasts: ``yuantou forecast``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from yuantou.cli.common import PRODUCER_OPTION, TOKEN_OPTION, api_call, console, fail, follow_job

forecast_app = typer.Typer(help='Demand forecasts (C2M).', no_args_is_help=True)


@forecast_app.command("import")
def forecast_import(
    file: Path = typer.Argument(..., help="daily sales from before the node existed: long CSV id,date,quantity "
                                          "with id PRODUCT/REGION (REGION: the buyer node)"),
    node: str = PRODUCER_OPTION,
    token: Optional[str] = TOKEN_OPTION,
) -> None:
    """Load sales history into a producer node (replacing the same product, region and day)."""
    from yuantou.forecast.long_csv import HistoryFileError, read_long_csv
    from yuantou.producer.history_file import sales_days

    try:
        data = read_long_csv(file, "D")
        days = sales_days(data, str(file))
    except HistoryFileError as exc:
        fail(str(exc))
    rows = [{"product": d.product, "region": d.region, "day": d.day.isoformat(), "quantity": d.quantity}
            for d in days]
    done = api_call(node, "POST", "/demand/history", rows, token)
    console.print(f"{done['imported']} days of sales imported from {file} ({len(data.values)} series)")



@forecast_app.command("run")
def forecast_run(
    history: Optional[Path] = typer.Option(None, help="long CSV: id,date,quantity (date: ISO date/time or an integer "
                                                      "step); without it, the producer node at --node forecasts "
                                                      "its own demand"),
    horizon: int = typer.Option(28, min=1, help="periods ahead"),
    out: Optional[Path] = typer.Option(None, help="where to write id,date,mean,lo-80,hi-80,...,model"),
    node: str = PRODUCER_OPTION,
    token: Optional[str] = TOKEN_OPTION,
    freq: Optional[str] = typer.Option(None, help="H, D, W, M, Q or Y (needed for calendar dates)"),
    season_length: Optional[int] = typer.Option(None, min=1, help="periods per season (default from --freq, else 1)"),
    level: list[int] = typer.Option([80, 95], help="prediction interval level in % (repeatable)"),
    windows: int = typer.Option(2, min=1, help="rolling origins for choosing each series' model"),
) -> None:
    """Forecast every series of a spreadsheet's history with the model cross-validation prefers, no node needed."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from yuantou.forecast.long_csv import DEFAULT_SEASON, FREQUENCIES, HistoryFileError, read_long_csv, write_forecasts
    from yuantou.forecast.pipeline import Settings, run

    if history is None:  # on the node, from its own orders and imported history
        job = api_call(node, "POST", "/forecast/run", {"horizon": horizon, "levels": sorted(set(level)),
                                                         "windows": windows}, token)
        follow_job(node, job, token, "forecasting")
        stored = api_call(node, "GET", "/forecast", None, token)
        console.print(f"{stored['summary']['series']} series × {horizon} days stored on {node} as {stored['run_id']}; "
                      "models chosen: " + ", ".join(f"{m} {n}" for m, n in stored["summary"]["models"].items()))
        return
    if out is None:
        fail("--out is needed with --history (where to write the forecasts)")
    if freq is not None and freq not in FREQUENCIES:
        fail(f"--freq {freq!r}: use one of {', '.join(FREQUENCIES)}")
    if any(not 0 < lv < 100 for lv in level):
        fail("--level: each level must be between 0 and 100 (a percentage)")
    try:
        data = read_long_csv(history, freq)
    except HistoryFileError as exc:
        fail(str(exc))
    season = season_length or (DEFAULT_SEASON[freq] if freq else 1)
    settings = Settings(horizon=horizon, season_length=season, levels=tuple(sorted(set(level))), windows=windows)
    ids = list(data.values)
    if data.filled:
        console.print(f"{data.filled} missing periods counted as zero sales")
    forecasts = []
    chunk = 50
    with Progress(TextColumn("forecasting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("series", total=len(ids))
        for start in range(0, len(ids), chunk):
            part = {sid: data.values[sid] for sid in ids[start:start + chunk]}
            forecasts += run(part, settings)
            progress.advance(task, len(part))
    write_forecasts(out, data, forecasts, settings.levels)
    chosen: dict[str, int] = {}
    for f in forecasts:
        chosen[f.model] = chosen.get(f.model, 0) + 1
    console.print(f"{len(forecasts)} series × {horizon} periods written to {out}; models chosen: "
                  + ", ".join(f"{m} {n}" for m, n in sorted(chosen.items(), key=lambda kv: -kv[1])))
    how: dict[str, int] = {}
    for f in forecasts:
        how[f.method] = how.get(f.method, 0) + 1
    for method, n in sorted(how.items(), key=lambda kv: -kv[1]):
        console.print(f"  {n} series {method}")
