"""The producer's C2M API: its capacity twin, demand history, forecast runs and production plans.

Forecasts and plans run as jobs (``POST`` answers at once with a job id; ``GET /api/jobs/{id}``
shows progress and, when done, the stored run's id), so a long run never holds a request
open and the CLI can draw a progress bar. Jobs are kept in the store (``producer.jobs``): any
worker process answers for any job.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any

import numpy as np

from fastapi import APIRouter, HTTPException, Query
from pydantic import Field

from yuantou.domain.twin import TwinError
from yuantou.producer.twin_files import twin_from_json, twin_to_json
from yuantou.producer import c2m
from yuantou.node.api.inputs import Count, Id, Input
from yuantou.producer import jobs

SECTIONS = {"resources": "id", "products": "id", "stock": "id", "lanes": "region"}


class HistoryRow(Input):
    product: Id
    region: Annotated[str, Field(min_length=1, max_length=255)]
    day: date
    quantity: Count


class ForecastRunIn(Input):
    horizon: int = Field(28, ge=1, le=366, description="days ahead")
    levels: list[int] = Field([80, 95], max_length=10, description="interval levels in %")
    as_of: date | None = Field(None, description="forecast from this day on (default: today, UTC)")
    windows: int = Field(2, ge=1, le=10)


class PlanRunIn(Input):
    days: int = Field(28, ge=1, le=366)
    start: date | None = Field(None, description="first day (default: today, UTC)")
    publish: bool = Field(False, description="offer the plan's room for new orders as catalog capacity")
    time_limit: float | None = Field(None, gt=0, le=3600)


SERIES_PAGE = 100  # series per answer of GET /api/demand/series, unless asked otherwise (at most 1,000)
SERIES_DAYS = 3660  # days per series at most in one answer


def _within_bounds(day: date, what: str) -> date:
    """``day``, or a 422 naming ``what`` when it lies outside what a demand series may hold."""
    earliest, latest = c2m.day_bounds(_today())
    if not earliest <= day <= latest:
        raise HTTPException(422, f"{what}: {day.isoformat()} is outside {earliest.isoformat()}…{latest.isoformat()} "
                                 f"(history reaches {c2m.HISTORY_YEARS} years back, series {c2m.FUTURE_DAYS} days ahead)")
    return day


def _today() -> date:
    return datetime.now(timezone.utc).date()


def forecast_series(series: dict[str, np.ndarray], first: date, body: ForecastRunIn,
                    progress: dict[str, Any]) -> dict[str, Any]:
    """Forecast every series (the pipeline chooses how from each one's history, and says so per series)."""
    from yuantou.forecast.pipeline import Settings, run

    settings = Settings(horizon=body.horizon, season_length=7, levels=tuple(sorted(set(body.levels))),
                        windows=body.windows, jobs=1)
    start = first + timedelta(days=len(next(iter(series.values())))) if series else body.as_of
    dates = [(start + timedelta(days=k)).isoformat() for k in range(body.horizon)]
    out = []
    ids = list(series)
    for i in range(0, len(ids), 25):
        for f in run({sid: series[sid] for sid in ids[i:i + 25]}, settings):
            out.append({"id": f.id, "model": f.model, "method": f.method, "basis": f.basis, "dates": dates,
                        "mean": f.mean.round(6).tolist(),
                        "lo": {str(k): v.round(6).tolist() for k, v in f.lower.items()},
                        "hi": {str(k): v.round(6).tolist() for k, v in f.upper.items()},
                        "quantiles": {str(p): v.round(6).tolist() for p, v in f.quantiles.items()}})
        progress["done"] = len(out)
    models: dict[str, int] = {}
    for s in out:
        models[s["model"]] = models.get(s["model"], 0) + 1
    # with little history a band's extreme quantile has no finite bound: stored as null, and named here
    unbounded = sorted({s["id"] for s in out for band in (*s["lo"].values(), *s["hi"].values())
                        if not np.all(np.isfinite(np.asarray(band, dtype=float)))})
    bases: dict[str, int] = {}
    for s in out:
        bases[s["basis"]] = bases.get(s["basis"], 0) + 1
    return {"series": out, "levels": list(settings.levels), "summary": {
        "series": len(out), "horizon": body.horizon, "from": dates[0] if dates else None, "models": models,
        "bases": bases, "history_days": len(next(iter(series.values()))) if series else 0,
        "unbounded_intervals": unbounded}}


def c2m_router(node: Any) -> APIRouter:  # noqa: C901 (one router, many small endpoints)
    api = APIRouter(tags=["producer: C2M"])

    async def twin_or_404():  # noqa: ANN202
        twin = await node.db.run(c2m.read_twin)
        if twin is None:
            raise HTTPException(404, "no capacity twin yet: PUT /api/twin first")
        return twin

    async def latest_or_404(kind: str) -> dict:
        run = await node.db.run(lambda c: c2m.latest_run(c, kind))
        if run is None:
            raise HTTPException(404, f"no {kind} yet: POST /api/{kind}/run")
        return run

    @api.get("/twin", summary="the capacity twin (the document PUT /api/twin takes)")
    async def get_twin() -> dict:
        return twin_to_json(await twin_or_404())

    @api.put("/twin", summary="replace the capacity twin")
    async def put_twin(document: dict[str, Any]) -> dict:
        try:
            twin = twin_from_json(document, "request body")
        except TwinError as exc:
            raise HTTPException(422, str(exc)) from None
        await node.db.run(lambda c: c2m.write_twin(c, twin))
        return {"resources": len(twin.resources), "products": len(twin.products), "stock": len(twin.stock),
                "lanes": len(twin.lanes)}

    async def edit(section: str, key: str, record: dict[str, Any] | None) -> dict:
        document = twin_to_json(await twin_or_404())
        field = SECTIONS[section]
        rows = [r for r in document[section] if r.get(field) != key]
        if record is not None:
            if record.get(field, key) != key:
                raise HTTPException(422, f"request body.{field}: {record.get(field)!r} differs from the path's {key!r}")
            rows.append({**record, field: key})
        elif len(rows) == len(document[section]):
            raise HTTPException(404, f"no {section[:-1] if section != 'stock' else 'stock lot'} {key!r} in the twin")
        document[section] = rows
        try:
            twin = twin_from_json(document, "twin")
        except TwinError as exc:
            raise HTTPException(422, str(exc)) from None
        await node.db.run(lambda c: c2m.write_twin(c, twin))
        return twin_to_json(twin)

    @api.put("/twin/{section}/{key}", summary="add or replace one resource, product, stock lot or lane")
    async def put_record(section: str, key: str, record: dict[str, Any]) -> dict:
        if section not in SECTIONS:
            raise HTTPException(404, f"no section {section!r}: use one of {', '.join(SECTIONS)}")
        return await edit(section, key, record)

    @api.delete("/twin/{section}/{key}", summary="remove one resource, product, stock lot or lane")
    async def delete_record(section: str, key: str) -> dict:
        if section not in SECTIONS:
            raise HTTPException(404, f"no section {section!r}: use one of {', '.join(SECTIONS)}")
        return await edit(section, key, None)

    @api.post("/demand/history", summary="import sales from before the node existed (replaces those cells)")
    async def import_history(rows: list[HistoryRow]) -> dict:
        today = _today()
        for i, row in enumerate(rows):
            _within_bounds(row.day, f"request body[{i}].day")
            if row.day > today + timedelta(days=1):
                raise HTTPException(422, f"request body[{i}].day: {row.day.isoformat()} is in the future; history is "
                                         "what was sold")
        count = await node.db.run(lambda c: c2m.import_history(
            c, [(r.product, r.region, r.day, r.quantity) for r in rows]))
        return {"imported": count}

    @api.get("/demand/series", summary="daily demand per product/region from orders and imported history (paged)")
    async def series(until: date | None = None, days: int = Query(366, ge=1, le=SERIES_DAYS),
                     offset: int = Query(0, ge=0, le=10**9), limit: int = Query(SERIES_PAGE, ge=1, le=1000)) -> dict:
        end = _within_bounds(until or _today(), "until")

        def page(conn):  # noqa: ANN001, ANN202
            totals = c2m.demand_totals(conn, end, end - timedelta(days=days))
            values, first = c2m.series_of(totals, end, slice(offset, offset + limit))
            return values, first, len(totals)

        values, first, total = await node.db.run(page)
        following = offset + limit if offset + limit < total else None
        return {"from": first.isoformat() if first else None, "until": end.isoformat(), "total_series": total,
                "offset": offset, "next_offset": following, "series": {sid: v.tolist() for sid, v in values.items()}}

    running: set[asyncio.Task] = set()  # this process's jobs, kept referenced until they end

    @api.get("/jobs/{job_id}", summary="a forecast or plan job's progress (from any worker process)")
    async def job_status(job_id: str) -> dict:
        job = await node.db.run(lambda c: jobs.read(c, job_id))
        if job is None:
            raise HTTPException(404, f"no job {job_id!r}")
        return job

    @api.post("/forecast/run", status_code=202, summary="forecast every product/region series (a job)")
    async def forecast_run(body: ForecastRunIn) -> dict:
        if any(not 0 < lv < 100 for lv in body.levels):
            raise HTTPException(422, "levels: each must be between 0 and 100 (a percentage)")
        as_of = _within_bounds(body.as_of or _today(), "as_of")
        values, first = await node.db.run(lambda c: c2m.demand_series(c, as_of))
        if not values:
            raise HTTPException(409, "no demand yet: no confirmed orders and no imported history")
        body = body.model_copy(update={"as_of": as_of})

        async def work(progress: dict) -> str:
            progress["total"] = len(values)
            result = await asyncio.to_thread(forecast_series, values, first, body, progress)
            return await node.db.run(lambda c: c2m.save_run(c, "forecast", "done", result.pop("summary"), result))

        return await jobs.start(node.db, "forecast", work, running)

    @api.get("/forecast", summary="the latest forecast run, every series")
    async def latest_forecast() -> dict:
        return await latest_or_404("forecast")

    @api.post("/plan/run", status_code=202, summary="plan production from the twin, orders and forecast (a job)")
    async def plan_run(body: PlanRunIn) -> dict:
        from yuantou.plan.demand import ForecastTable
        from yuantou.plan.model import PlanInput
        from yuantou.plan.solve import PlanInfeasible, solve

        twin = await twin_or_404()
        start = _within_bounds(body.start or _today(), "start")

        def gather(conn):  # noqa: ANN001, ANN202
            forecast = c2m.latest_run(conn, "forecast")
            return (c2m.confirmed_orders(conn, twin), c2m.open_requests(conn), forecast)

        confirmed, requests, forecast = await node.db.run(gather)
        records = c2m.forecast_records(forecast, requests) if forecast else []
        known = {p.id for p in twin.products}
        regions = {lane.region for lane in twin.lanes}
        records = [r for r in records if r.product in known and r.region in regions]
        try:
            table = ForecastTable.from_records(records, start) if records else None
            spec = PlanInput(twin, start, body.days, tuple(o for o in confirmed if o.due >= start), table)
        except TwinError as exc:
            raise HTTPException(422, str(exc)) from None

        async def work(progress: dict) -> str:
            progress["total"] = 1
            try:
                plan = await asyncio.to_thread(solve, spec, body.time_limit)
            except TwinError as exc:  # an order for a product or region the twin does not know
                plan = PlanInfeasible(str(exc))
            progress["done"] = 1
            if isinstance(plan, PlanInfeasible):
                return await node.db.run(lambda c: c2m.save_run(c, "plan", "infeasible",
                                                                {"message": plan.message}, plan.as_json()))

            def store(conn):  # noqa: ANN001, ANN202
                published = c2m.publish_offers(conn, plan.offers) if body.publish else 0
                summary = {**plan.summary(), "published_windows": published,
                           "forecast_run": forecast["run_id"] if forecast else None}
                return c2m.save_run(conn, "plan", plan.status, summary, plan.as_json())

            return await node.db.run(store)

        return await jobs.start(node.db, "plan", work, running)

    @api.get("/plan", summary="the latest plan: its tables, or why the confirmed orders cannot be met")
    async def latest_plan() -> dict:
        return await latest_or_404("plan")

    return api
