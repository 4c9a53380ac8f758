"""The producer's C2M API: its capacity twin, demand history, forecast runs and production plans.

Each route turns its input into a ``producer.commands`` command for ``ProducerService``. Forecasts and
plans run as jobs (``POST`` answers at once with a job id; ``GET /api/jobs/{id}`` shows progress and,
when done, the stored run's id), so a long run never holds a request open and the CLI can draw a
progress bar. Jobs are kept in the store: any worker process answers for any job.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from yuantou.domain.twin import TwinError
from yuantou.node.api.inputs import Count, Id, Input
from yuantou.producer.commands import (
    EditTwin,
    ImportHistory,
    ProducerProblem,
    PublishPlan,
    ReplaceTwin,
    RunForecast,
    RunPlan,
    SalesDay,
)
from yuantou.producer.service import SERIES_DAYS, SERIES_PAGE, ProducerService
from yuantou.producer.twin_files import twin_from_json, twin_to_json


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


def c2m_router(producer: ProducerService) -> APIRouter:
    api = APIRouter(tags=["producer: C2M"])

    @api.get("/twin", summary="the capacity twin (the document PUT /api/twin takes)")
    async def get_twin() -> dict[str, Any]:
        return twin_to_json(await producer.twin())

    @api.put("/twin", summary="replace the capacity twin")
    async def put_twin(document: dict[str, Any]) -> dict[str, int]:
        try:
            twin = twin_from_json(document, "request body")
        except TwinError as exc:
            raise ProducerProblem("invalid", str(exc)) from None
        return await producer.replace_twin(ReplaceTwin(twin))

    @api.put("/twin/{section}/{key}", summary="add or replace one resource, product, stock lot or lane")
    async def put_record(section: str, key: str, record: dict[str, Any]) -> dict[str, Any]:
        return await producer.edit_twin(EditTwin(section, key, record))

    @api.delete("/twin/{section}/{key}", summary="remove one resource, product, stock lot or lane")
    async def delete_record(section: str, key: str) -> dict[str, Any]:
        return await producer.edit_twin(EditTwin(section, key, None))

    @api.post("/demand/history", summary="import sales from before the node existed (replaces those cells)")
    async def import_history(rows: list[HistoryRow]) -> dict[str, int]:
        return await producer.import_history(ImportHistory(tuple(
            SalesDay(r.product, r.region, r.day, r.quantity) for r in rows)))

    @api.get("/demand/series", summary="daily demand per product/region from orders and imported history (paged)")
    async def series(until: date | None = None, days: int = Query(366, ge=1, le=SERIES_DAYS),
                     offset: int = Query(0, ge=0, le=10**9),
                     limit: int = Query(SERIES_PAGE, ge=1, le=1000)) -> dict[str, Any]:
        return await producer.demand_page(until, days, offset, limit)

    @api.get("/jobs/{job_id}", summary="a forecast or plan job's progress (from any worker process)")
    async def job_status(job_id: str) -> dict[str, Any]:
        return await producer.job(job_id)

    @api.post("/forecast/run", status_code=202, summary="forecast every product/region series (a job)")
    async def forecast_run(body: ForecastRunIn) -> dict[str, Any]:
        return await producer.run_forecast(RunForecast(body.horizon, tuple(body.levels), body.as_of, body.windows))

    @api.get("/forecast", summary="the latest forecast run, every series")
    async def latest_forecast() -> dict[str, Any]:
        return await producer.latest_run("forecast")

    @api.post("/plan/run", status_code=202, summary="plan production from the twin, orders and forecast (a job)")
    async def plan_run(body: PlanRunIn) -> dict[str, Any]:
        return await producer.run_plan(RunPlan(body.days, body.start, body.publish, body.time_limit))

    @api.post("/plan/publish", summary="offer the latest plan's room for new orders as catalog capacity")
    async def publish_plan() -> dict[str, Any]:
        return await producer.publish_plan(PublishPlan())

    @api.get("/plan", summary="the latest plan: its tables, or why the confirmed orders cannot be met")
    async def latest_plan() -> dict[str, Any]:
        return await producer.latest_run("plan")

    return api
