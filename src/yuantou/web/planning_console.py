"""The producer console's planning page (``/dashboard/producer/planning``): upload the capacity twin (JSON, or the
CSV folder as a zip) and past sales (the long CSV), run the forecast and the plan as jobs with a progress bar, and
publish the plan's offers after a preview of what they change, window by window.

Uploads are read by the same readers as the CLI's files, so a bad file gets the same file, line and field. Jobs
live in the store: a reload, or another worker process, still finds and follows them.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from yuantou.domain.twin import TwinError
from yuantou.forecast.long_csv import HistoryFileError, read_long_rows
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.input_errors import producer_refusal_text
from yuantou.producer.commands import ImportHistory, ProducerProblem, PublishPlan, ReplaceTwin, RunForecast, RunPlan
from yuantou.producer.history_file import sales_days
from yuantou.producer.service import ProducerService
from yuantou.producer.twin_files import CSV_TABLES, twin_from_csv, twin_from_json
from yuantou.web.form_values import form_of
from yuantou.web.languages import locale_of

PAGE = "/planning"
ZIP_MOST_BYTES = 20 << 20  # what a twin's CSV folder may unpack to
JOB_TEXT = {"forecast": N_("Forecasting: {done} of {total} series"), "plan": N_("Planning production")}
DONE = {"twin": N_("Twin imported: {resources} resources, {products} products, {stock} stock lots, {lanes} lanes."),
        "history": N_("{days} days of sales imported."),
        "published": N_("Published: {n} item-days of capacity offered to buyers.")}

Page = Callable[..., HTMLResponse]


class UploadProblem(ValueError):
    pass


async def _upload(request: Request) -> tuple[str, bytes]:
    """The one file a planning form posts: its name and bytes (the body is bounded by ``RequestLimits``)."""
    async with request.form(max_files=1, max_fields=3) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise UploadProblem("")
        return upload.filename[:200], await upload.read()


def _text(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadProblem(f"{name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def twin_from_upload(name: str, content: bytes) -> Any:
    """A twin from an uploaded JSON document, or a zip of the CSV tables (``resources.csv``, …, at any depth)."""
    if not name.lower().endswith(".zip"):
        try:
            document = json.loads(_text(name, content))
        except json.JSONDecodeError as exc:
            raise UploadProblem(f"{name}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
        return twin_from_json(document, name)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise UploadProblem(f"{name}: not a zip file") from None
    wanted = {f"{table}.csv" for table in CSV_TABLES}
    members = [m for m in archive.infolist() if not m.is_dir() and PurePosixPath(m.filename).name in wanted]
    if sum(m.file_size for m in members) > ZIP_MOST_BYTES:
        raise UploadProblem(f"{name}: its CSV tables unpack to more than {ZIP_MOST_BYTES >> 20} MiB")
    with tempfile.TemporaryDirectory(prefix="yuantou-twin-") as folder:
        for member in members:  # by their base name only: nothing is written outside the folder
            (Path(folder) / PurePosixPath(member.filename).name).write_bytes(archive.read(member))
        return twin_from_csv(Path(folder))


def mount_planning(router: APIRouter, producer: ProducerService, page: Page, home: str) -> None:  # noqa: C901
    async def planning_answer(request: Request, done: str | None = None, error: str | None = None,
                              job: dict[str, Any] | None = None, preview: Any = None) -> HTMLResponse:
        locale = locale_of(request)
        try:
            twin = await producer.twin()
            counts = {"resources": len(twin.resources), "products": len(twin.products), "stock": len(twin.stock),
                      "lanes": len(twin.lanes)}
        except ProducerProblem:
            counts = None
        return page(request, "console/planning.html", gettext(locale, N_("Planning")), home + PAGE,
                    twin=counts, done=done, error=error, job=job_view(job, locale) if job else None,
                    preview=preview)

    def job_view(job: dict[str, Any], locale: str) -> dict[str, Any]:
        text = gettext(locale, JOB_TEXT[job["kind"]], done=job["done"], total=job["total"] or "…")
        return {**job, "text": text, "error_text": job.get("error") or ""}

    @router.get(PAGE)
    async def planning(request: Request) -> HTMLResponse:
        return await planning_answer(request)

    @router.post("/upload/twin")
    async def upload_twin(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        try:
            name, content = await _upload(request)
            twin = twin_from_upload(name, content)
        except UploadProblem as problem:
            return await planning_answer(request, error=str(problem) or gettext(locale, N_("Choose a file.")))
        except TwinError as problem:
            return await planning_answer(request, error=str(problem))
        counts = await producer.replace_twin(ReplaceTwin(twin))
        return await planning_answer(request, done=gettext(locale, DONE["twin"], **counts))

    @router.post("/upload/history")
    async def upload_history(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        try:
            name, content = await _upload(request)
            days = sales_days(read_long_rows(io.StringIO(_text(name, content), newline=""), name, "D"), name)
            imported = await producer.import_history(ImportHistory(days))
        except UploadProblem as problem:
            return await planning_answer(request, error=str(problem) or gettext(locale, N_("Choose a file.")))
        except HistoryFileError as problem:
            return await planning_answer(request, error=str(problem))
        except ProducerProblem as problem:
            return await planning_answer(request, error=problem.message)
        return await planning_answer(request, done=gettext(locale, DONE["history"], days=imported["imported"]))

    @router.post(PAGE + "/forecast")
    async def run_forecast(request: Request) -> HTMLResponse:
        try:
            job = await producer.run_forecast(RunForecast())
        except ProducerProblem as problem:
            return await planning_answer(request, error=refused(problem, request))
        return await planning_answer(request, job=job)

    @router.post(PAGE + "/plan")
    async def run_plan(request: Request) -> HTMLResponse:
        try:
            job = await producer.run_plan(RunPlan())
        except ProducerProblem as problem:
            return await planning_answer(request, error=refused(problem, request))
        return await planning_answer(request, job=job)

    @router.get(PAGE + "/jobs/{job_id}")
    async def job_progress(job_id: str, request: Request) -> Response:
        """The progress bar's fragment: polled every second until the job is done or failed."""
        try:
            job = await producer.job(job_id)
        except ProducerProblem:
            return Response(status_code=404)
        return page(request, "console/job.html", "", home + PAGE, job=job_view(job, locale_of(request)),
                    fragment=True)

    @router.get(PAGE + "/publish")
    async def publish_preview(request: Request) -> HTMLResponse:
        try:
            run_id, changes = await producer.publish_preview()
        except ProducerProblem as problem:
            return await planning_answer(request, error=refused(problem, request))
        return await planning_answer(request, preview={"run_id": run_id, "changes": changes})

    @router.post(PAGE + "/publish")
    async def publish(request: Request) -> HTMLResponse:
        await form_of(request)
        try:
            done = await producer.publish_plan(PublishPlan())
        except ProducerProblem as problem:
            return await planning_answer(request, error=refused(problem, request))
        return await planning_answer(request, done=gettext(locale_of(request), DONE["published"],
                                                           n=done["published_windows"]))

    def refused(problem: ProducerProblem, request: Request) -> str:
        text = producer_refusal_text(problem.kind, locale_of(request), problem.code)
        return f"{text} ({problem.message})"
