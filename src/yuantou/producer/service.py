"""A producer node's service layer: its catalog and orders, and C2M (capacity twin, demand, forecast, plan).

``ProducerService`` answers buyers' requests the processor hands it (``RequestHandler``) and runs
each command of the co-op manager or factory planner in one store transaction. Forecasts and plans
run as jobs kept in the store (``jobs``), so any worker process can report on any of them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.domain.catalog import CatalogItem
from yuantou.domain.catalog_changes import CatalogChanges, catalog_changes
from yuantou.domain.fulfilment import MoveRefused
from yuantou.domain.twin import Twin, TwinError
from yuantou.messaging.core import Messenger
from yuantou.producer import c2m, jobs, order_book
from yuantou.producer import orders as producer_orders
from yuantou.producer.catalog_store import read_catalog, remove_items, replace_catalog, sold_by_window, upsert_items
from yuantou.producer.commands import (
    TWIN_SECTIONS,
    AdvanceOrder,
    EditTwin,
    ImportCatalog,
    ImportHistory,
    ProblemKind,
    ProducerProblem,
    PublishPlan,
    PutItems,
    ReplaceTwin,
    RetireItem,
    RunForecast,
    RunPlan,
    SetAutoAccept,
)
from yuantou.producer.twin_files import twin_from_json, twin_to_json
from yuantou.protocol import envelope as env
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.profile import catalog_json
from yuantou.store.settings import read_setting, write_setting
from yuantou.store.tables import inbox, orders

MOVE_INPUT_ERRORS = ("unknown_state", "reason_too_long")  # the rest: the order's state forbids the move
SERIES_PAGE = 100  # series per page of demand, unless asked otherwise (at most 1,000)
SERIES_DAYS = 3660  # days per series at most in one page


def today() -> date:
    return datetime.now(UTC).date()


def within_bounds(day: date, what: str) -> date:
    """``day``, or a refusal naming ``what`` when it lies outside what a demand series may hold."""
    earliest, latest = c2m.day_bounds(today())
    if not earliest <= day <= latest:
        raise ProducerProblem("invalid", f"{what}: {day.isoformat()} is outside {earliest.isoformat()}…"
                                         f"{latest.isoformat()} (history reaches {c2m.HISTORY_YEARS} years back, "
                                         f"series {c2m.FUTURE_DAYS} days ahead)")
    return day


def forecast_series(series: dict[str, np.ndarray], first: date | None, command: RunForecast,
                    progress: jobs.Progress) -> dict[str, Any]:
    """Forecast every series (the pipeline chooses how from each one's history, and says so per series)."""
    from yuantou.forecast.pipeline import Settings, run

    settings = Settings(horizon=command.horizon, season_length=7, levels=tuple(sorted(set(command.levels))),
                        windows=command.windows, jobs=1)
    start = first + timedelta(days=len(next(iter(series.values())))) if series and first else command.as_of
    assert start is not None  # as_of is set before a run starts
    dates = [(start + timedelta(days=k)).isoformat() for k in range(command.horizon)]
    out: list[dict[str, Any]] = []
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
    bases: dict[str, int] = {}
    for s in out:
        models[s["model"]] = models.get(s["model"], 0) + 1
        bases[s["basis"]] = bases.get(s["basis"], 0) + 1
    # with little history a band's extreme quantile has no finite bound: stored as null, and named here
    unbounded = sorted({s["id"] for s in out for band in (*s["lo"].values(), *s["hi"].values())
                        if not np.all(np.isfinite(np.asarray(band, dtype=float)))})
    return {"series": out, "levels": list(settings.levels), "summary": {
        "series": len(out), "horizon": command.horizon, "from": dates[0] if dates else None, "models": models,
        "bases": bases, "history_days": len(next(iter(series.values()))) if series else 0,
        "unbounded_intervals": unbounded}}


class ProducerService:
    """The producer role of a node (a co-op, an orchard, a small factory)."""

    def __init__(self, messenger: Messenger, provider: producer_orders.Provider, zone: tzinfo = UTC) -> None:
        """``zone``: the producer's local time, whose days its plan's offers are published on."""
        self.zone = zone
        self.messenger = messenger
        self.db = messenger.db
        self.provider = provider
        self._running: set[asyncio.Task[Any]] = set()  # this process's jobs, kept referenced until they end

    # -- the producer side of Beckn (RequestHandler) ---------------------------------------

    def answer(self, conn: Connection, action: str, message: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        handler = producer_orders.HANDLERS[action]
        result: dict[str, Any] = handler(conn, message, provider=self.provider, context=context)
        return result

    # -- orders and catalog --------------------------------------------------------------------

    def advance_order_in(self, conn: Connection, command: AdvanceOrder) -> tuple[dict[str, Any], dict[str, Any]]:
        """Move a sold order along and queue the buyer's unsolicited ``on_status``, in the caller's one transaction
        (never a new state without its message); the buyer is answered where its order came from."""
        order = producer_orders.advance_fulfillment(conn, command.order_id, command.state, command.reason)
        row = conn.execute(select(orders.c.counterparty_id, orders.c.transaction_id)
                           .where(orders.c.order_id == command.order_id)).one()
        bap_uri = conn.execute(select(inbox.c.reply_to).where(  # checked against the directory when it came
            inbox.c.transaction_id == row.transaction_id, inbox.c.action == "confirm",
            inbox.c.sender_id == row.counterparty_id).order_by(inbox.c.id.desc()).limit(1)).scalar()
        if not bap_uri:
            raise BecknError(env.BUSINESS_ERROR, f"no confirm from {row.counterparty_id} is kept for this order")
        return order, self.messenger.queue_unsolicited_status(conn, order, row.counterparty_id, row.transaction_id,
                                                              bap_uri)

    async def advance_order(self, command: AdvanceOrder) -> dict[str, Any]:
        """The order as it now is, and the id of the ``on_status`` that tells its buyer."""
        try:
            order, context = await self.db.run(lambda c: self.advance_order_in(c, command))
        except MoveRefused as refused:
            raise ProducerProblem("invalid" if refused.code in MOVE_INPUT_ERRORS else "conflict", refused.message,
                                  refused.code) from None
        except BecknError as exc:
            kind: ProblemKind = "not_found" if exc.code == env.ORDER_NOT_FOUND else \
                "invalid" if exc.code == env.INVALID_REQUEST else "conflict"
            raise ProducerProblem(kind, exc.message, "unknown_order" if kind == "not_found" else "") from None
        self.messenger.outbox.wake()
        return {"order": order, "message_id": context["message_id"]}

    async def auto_accepts(self) -> bool:
        return bool(await self.db.run(lambda c: read_setting(c, producer_orders.AUTO_ACCEPT, False)))

    async def set_auto_accept(self, command: SetAutoAccept) -> bool:
        await self.db.run(lambda c: write_setting(c, producer_orders.AUTO_ACCEPT, command.enabled))
        return command.enabled

    async def sold_orders(self, open_only: bool = False) -> list[order_book.SoldOrder]:
        """The latest sold orders, newest first (only those still moving with ``open_only``)."""
        return await self.db.run(lambda c: order_book.sold_orders(c, open_only))

    async def sold_order(self, order_id: str) -> order_book.SoldOrder | None:
        return await self.db.run(lambda c: order_book.find_order(c, order_id))

    async def packing_lists(self) -> list[order_book.PackingList]:
        """What to pack for each delivery window and place, from the orders not shipped yet."""
        sold = await self.db.run(lambda c: order_book.sold_orders(c, open_only=True, limit=10_000))
        return order_book.packing_lists(sold)

    async def catalog(self) -> dict[str, Any]:
        items = await self.db.run(read_catalog)
        return catalog_json(self.provider.id, self.provider.name, list(items.values()), self.provider.place)

    async def put_items(self, command: PutItems) -> dict[str, Any]:
        await self.db.run(lambda c: upsert_items(c, list(command.items)))
        return {"updated": [i.id for i in command.items]}

    async def preview_import(self, command: ImportCatalog) -> CatalogChanges:
        current, sold = await self.catalog_with_sales()
        return catalog_changes(current, list(command.items), sold, command.replace)

    async def import_catalog(self, command: ImportCatalog) -> CatalogChanges:
        """What the preview showed, done in one transaction (compared again inside it)."""
        def apply(conn: Connection) -> CatalogChanges:
            changes = catalog_changes(read_catalog(conn), list(command.items), sold_by_window(conn), command.replace)
            (replace_catalog if command.replace else upsert_items)(conn, list(command.items))
            return changes

        return await self.db.run(apply)

    async def retire_item(self, command: RetireItem) -> None:
        if not await self.db.run(lambda c: remove_items(c, [command.item_id])):
            raise ProducerProblem("not_found", f"no item {command.item_id!r} in the catalog", "unknown_item")

    async def catalog_items(self) -> dict[str, CatalogItem]:
        """The items as stored, each window with what is left of it."""
        return await self.db.run(read_catalog)

    async def catalog_with_sales(self) -> tuple[dict[str, CatalogItem], dict[tuple[str, str], float]]:
        """The items as stored (each window's capacity: what is left) and what live orders hold of each window:
        a form shows a window's capacity in all, as the catalog file states it."""
        return await self.db.run(lambda c: (read_catalog(c), sold_by_window(c)))

    # -- the capacity twin ---------------------------------------------------------------------

    async def twin(self) -> Twin:
        twin = await self.db.run(c2m.read_twin)
        if twin is None:
            raise ProducerProblem("not_found", "no capacity twin yet: PUT /api/twin first")
        return twin

    async def replace_twin(self, command: ReplaceTwin) -> dict[str, int]:
        twin = command.twin
        await self.db.run(lambda c: c2m.write_twin(c, twin))
        return {"resources": len(twin.resources), "products": len(twin.products), "stock": len(twin.stock),
                "lanes": len(twin.lanes)}

    async def edit_twin(self, command: EditTwin) -> dict[str, Any]:
        if command.section not in TWIN_SECTIONS:
            raise ProducerProblem("not_found", f"no section {command.section!r}: use one of {', '.join(TWIN_SECTIONS)}")
        current = await self.db.run(c2m.read_twin)  # none yet: the twin is built record by record
        document = twin_to_json(current or Twin(resources=(), products=(), stock=(), lanes=()))
        section, key, record = command.section, command.key, command.record
        field = TWIN_SECTIONS[section]
        rows = [r for r in document[section] if r.get(field) != key]
        if record is not None:
            if record.get(field, key) != key:
                raise ProducerProblem("invalid", f"request body.{field}: {record.get(field)!r} differs from the "
                                                 f"path's {key!r}")
            rows.append({**record, field: key})
        elif len(rows) == len(document[section]):
            what = section[:-1] if section != "stock" else "stock lot"
            raise ProducerProblem("not_found", f"no {what} {key!r} in the twin")
        document[section] = rows
        try:
            twin = twin_from_json(document, "twin")
        except TwinError as exc:
            raise ProducerProblem("invalid", str(exc)) from None
        await self.db.run(lambda c: c2m.write_twin(c, twin))
        return twin_to_json(twin)

    # -- demand, forecast and plan -----------------------------------------------------------

    async def import_history(self, command: ImportHistory) -> dict[str, int]:
        now = today()
        for i, row in enumerate(command.rows):
            within_bounds(row.day, f"request body[{i}].day")
            if row.day > now + timedelta(days=1):
                raise ProducerProblem("invalid", f"request body[{i}].day: {row.day.isoformat()} is in the future; "
                                                 "history is what was sold")
        count = await self.db.run(lambda c: c2m.import_history(
            c, [(r.product, r.region, r.day, r.quantity) for r in command.rows]))
        return {"imported": count}

    async def demand_page(self, until: date | None, days: int, offset: int, limit: int) -> dict[str, Any]:
        """Daily demand per product/region from orders and imported history, one page of series."""
        end = within_bounds(until or today(), "until")

        def page(conn: Connection) -> tuple[dict[str, np.ndarray], date | None, int]:
            totals = c2m.demand_totals(conn, end, end - timedelta(days=days))
            values, first = c2m.series_of(totals, end, slice(offset, offset + limit))
            return values, first, len(totals)

        values, first, total = await self.db.run(page)
        following = offset + limit if offset + limit < total else None
        return {"from": first.isoformat() if first else None, "until": end.isoformat(), "total_series": total,
                "offset": offset, "next_offset": following, "series": {sid: v.tolist() for sid, v in values.items()}}

    async def job(self, job_id: str) -> dict[str, Any]:
        job = await self.db.run(lambda c: jobs.read(c, job_id))
        if job is None:
            raise ProducerProblem("not_found", f"no job {job_id!r}")
        return job

    async def running_jobs(self) -> list[dict[str, Any]]:
        return await self.db.run(jobs.running)

    async def latest_run(self, kind: str) -> dict[str, Any]:
        run = await self.db.run(lambda c: c2m.latest_run(c, kind))
        if run is None:
            raise ProducerProblem("not_found", f"no {kind} yet: POST /api/{kind}/run")
        return run

    async def run_forecast(self, command: RunForecast) -> dict[str, Any]:
        """Start forecasting every product/region series; answers at once with the job."""
        if any(not 0 < level < 100 for level in command.levels):
            raise ProducerProblem("invalid", "levels: each must be between 0 and 100 (a percentage)")
        as_of = within_bounds(command.as_of or today(), "as_of")
        values, first = await self.db.run(lambda c: c2m.demand_series(c, as_of))
        if not values:
            raise ProducerProblem("conflict", "no demand yet: no confirmed orders and no imported history")
        settled = RunForecast(command.horizon, command.levels, as_of, command.windows)

        async def work(progress: jobs.Progress) -> str:
            progress["total"] = len(values)
            result = await asyncio.to_thread(forecast_series, values, first, settled, progress)
            summary = result.pop("summary")
            return await self.db.run(lambda c: c2m.save_run(c, "forecast", "done", summary, result))

        return await jobs.start(self.db, "forecast", work, self._running)

    @staticmethod
    def _offering_plan(conn: Connection) -> dict[str, Any]:
        run = c2m.latest_run(conn, "plan")
        if run is None:
            raise ProducerProblem("not_found", "no plan yet: POST /api/plan/run", "no_plan")
        if run["status"] == "infeasible":
            raise ProducerProblem("conflict", f"the latest plan ({run['run_id']}) is infeasible: it offers nothing",
                                  "infeasible_plan")
        return run

    async def publish_preview(self) -> tuple[str, list[c2m.OfferChange]]:
        """What publishing the latest plan would change, item by item and local day (nothing is written)."""
        def preview(conn: Connection) -> tuple[str, list[c2m.OfferChange]]:
            run = self._offering_plan(conn)
            return run["run_id"], c2m.publish_changes(conn, run.get("offers") or [], self.zone)
        return await self.db.run(preview)

    async def publish_plan(self, command: PublishPlan) -> dict[str, Any]:
        def publish(conn: Connection) -> dict[str, Any]:
            run = self._offering_plan(conn)
            return {"plan_run": run["run_id"],
                    "published_windows": c2m.publish_offers(conn, run.get("offers") or [], self.zone)}
        return await self.db.run(publish)

    async def run_plan(self, command: RunPlan) -> dict[str, Any]:
        """Start planning production from the twin, the orders and the latest forecast; answers with the job."""
        from yuantou.plan.demand import ForecastTable
        from yuantou.plan.model import PlanInput
        from yuantou.plan.solve import PlanInfeasible, solve

        twin = await self.twin()
        start = within_bounds(command.start or datetime.now(self.zone).date(), "start")

        def gather(conn: Connection) -> tuple[Any, Any, dict[str, Any] | None]:
            return c2m.confirmed_orders(conn, twin), c2m.open_requests(conn), c2m.latest_run(conn, "forecast")

        confirmed, requests, forecast = await self.db.run(gather)
        records = c2m.forecast_records(forecast, requests) if forecast else []
        known = {p.id for p in twin.products}
        regions = {lane.region for lane in twin.lanes}
        records = [r for r in records if r.product in known and r.region in regions]
        try:
            table = ForecastTable.from_records(records, start) if records else None
            spec = PlanInput(twin, start, command.days, tuple(o for o in confirmed if o.due >= start), table)
        except TwinError as exc:
            raise ProducerProblem("invalid", str(exc)) from None

        async def work(progress: jobs.Progress) -> str:
            progress["total"] = 1
            try:
                plan = await asyncio.to_thread(solve, spec, command.time_limit)
            except TwinError as exc:  # an order for a product or region the twin does not know
                plan = PlanInfeasible(str(exc))
            progress["done"] = 1
            if isinstance(plan, PlanInfeasible):
                infeasible = plan
                return await self.db.run(lambda c: c2m.save_run(c, "plan", "infeasible",
                                                                {"message": infeasible.message}, infeasible.as_json()))

            def store(conn: Connection) -> str:
                published = c2m.publish_offers(conn, plan.offers, self.zone) if command.publish else 0
                summary = {**plan.summary(), "published_windows": published,
                           "forecast_run": forecast["run_id"] if forecast else None}
                return c2m.save_run(conn, "plan", plan.status, summary, plan.as_json())

            return await self.db.run(store)

        return await jobs.start(self.db, "plan", work, self._running)
