"""The producer console's planning page (``/dashboard/producer/planning``): upload the capacity twin (JSON, or the
CSV folder as a zip) and past sales (the long CSV), run the forecast and the plan as jobs with a progress bar, and
publish the plan's offers after a preview of what they change, window by window.

Uploads are read by the same readers as the CLI's files, so a bad file gets the same file, line and field. Jobs
live in the store: a reload, or another worker process, still finds and follows them.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.domain.twin import TwinError
from yuantou.forecast.long_csv import HistoryFileError, read_long_rows
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.input_errors import producer_refusal_text
from yuantou.producer.commands import EditTwin, ImportHistory, ProducerProblem, PublishPlan, ReplaceTwin, RunForecast, RunPlan
from yuantou.producer.history_file import sales_days
from yuantou.producer.service import ProducerService
from yuantou.producer.twin_files import CSV_TABLES, twin_from_csv, twin_from_json, twin_to_json
from yuantou.protocol import json_guard
from yuantou.web.form_values import Upload, UploadProblem, form_of, upload_of
from yuantou.web.languages import locale_of
from yuantou.web.twin_form import FIELDS, KEY, LINES, TwinFormProblem, field_of, form_from_record, record_from_form

PAGE = "/planning"
SECTIONS = {"resources": N_("Resources"), "products": N_("Products"), "stock": N_("Stock lots"),
            "lanes": N_("Lanes")}
HINTS = {"weekly": N_("seven capacities, Monday to Sunday"), "calendar": N_("one line each: DATE CAPACITY"),
         "routings": N_("one line each: RESOURCE USE-PER-UNIT [SETUP-TIME]"), "expires": N_("a date"),
         "yield": N_("0 to 1"), "lead_time": N_("days"), "shelf_life": N_("days"), "days": N_("days")}
ZIP_MOST_BYTES = 20 << 20  # what a twin's CSV folder may unpack to
JOB_TEXT = {"forecast": N_("Forecasting: {done} of {total} series"), "plan": N_("Planning production")}
DONE = {"twin": N_("Twin imported: {resources} resources, {products} products, {stock} stock lots, {lanes} lanes."),
        "history": N_("{days} days of sales imported."),
        "published": N_("Published: {n} item-days of capacity offered to buyers.")}

Page = Callable[..., HTMLResponse]


def twin_from_upload(upload: Upload) -> Any:
    """A twin from an uploaded JSON document, or a zip of the CSV tables (``resources.csv``, …, at any depth)."""
    name, content = upload.name, upload.content
    if not name.lower().endswith(".zip"):
        try:
            document = json_guard.document(upload.text())
        except json_guard.JsonProblem as problem:
            raise UploadProblem(f"{name}: {problem.message}") from None
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
        following = [job] if job else await producer.running_jobs()  # a reload follows what still runs
        return page(request, "console/planning.html", gettext(locale, N_("Planning")), home + PAGE,
                    twin=counts, done=done, error=error, jobs=[job_view(j, locale) for j in following],
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
        upload = await upload_of(request)
        if upload is None:
            return await planning_answer(request, error=gettext(locale, N_("Choose a file.")))
        try:
            twin = twin_from_upload(upload)
        except UploadProblem as problem:
            return await planning_answer(request, error=str(problem))
        except TwinError as problem:
            return await planning_answer(request, error=str(problem))
        counts = await producer.replace_twin(ReplaceTwin(twin))
        return await planning_answer(request, done=gettext(locale, DONE["twin"], **counts))

    @router.post("/upload/history")
    async def upload_history(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        upload = await upload_of(request)
        if upload is None:
            return await planning_answer(request, error=gettext(locale, N_("Choose a file.")))
        try:
            rows = read_long_rows(io.StringIO(upload.text(), newline=""), upload.name, "D")
            imported = await producer.import_history(ImportHistory(sales_days(rows, upload.name)))
        except UploadProblem as problem:
            return await planning_answer(request, error=str(problem))
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

    # -- the twin, record by record ----------------------------------------------------------------

    async def twin_document() -> dict[str, Any]:
        try:
            return twin_to_json(await producer.twin())
        except ProducerProblem:  # none yet: built record by record
            return {section: [] for section in FIELDS}

    async def section_page(request: Request, section: str, done: str | None = None,
                           error: str | None = None) -> Response:
        if section not in FIELDS:
            return Response(status_code=404)
        locale = locale_of(request)
        records = (await twin_document())[section]
        columns = [name for name in FIELDS[section] if name not in LINES]
        return page(request, "console/twin_section.html", gettext(locale, SECTIONS[section]),
                    f"{home}{PAGE}/twin/{section}", section=section, records=records, columns=columns,
                    key=KEY[section], done=done, error=error,
                    sections=[(name, gettext(locale, label)) for name, label in SECTIONS.items()])

    def record_page(request: Request, section: str, form: dict[str, str], editing: bool,
                    errors: dict[str, str] | None = None) -> HTMLResponse:
        locale = locale_of(request)
        return page(request, "console/twin_record.html", gettext(locale, SECTIONS[section]),
                    f"{home}{PAGE}/twin/{section}/edit", section=section, form=form, editing=editing,
                    errors=errors or {}, fields=FIELDS[section], lines=LINES, key=KEY[section],
                    hints={name: gettext(locale, hint) for name, hint in HINTS.items()})

    @router.get(PAGE + "/twin/{section}")
    async def twin_section(section: str, request: Request) -> Response:
        return await section_page(request, section)

    @router.get(PAGE + "/twin/{section}/edit")
    async def twin_record(section: str, request: Request, key: str = "") -> Response:
        if section not in FIELDS:
            return Response(status_code=404)
        found = next((r for r in (await twin_document())[section] if r.get(KEY[section]) == key), None)
        return record_page(request, section, form_from_record(section, found) if found else {}, found is not None)

    @router.post(PAGE + "/twin/{section}")
    async def save_record(section: str, request: Request) -> Response:
        if section not in FIELDS:
            return Response(status_code=404)
        form = await form_of(request)
        editing, key = form.get("editing") == "True", form.get(KEY[section], "").strip()
        locale = locale_of(request)
        lead = gettext(locale, N_("This value was refused:"))
        try:
            if not key:
                raise TwinFormProblem(KEY[section], f"{KEY[section]}: missing")
            if not editing and any(r.get(KEY[section]) == key for r in (await twin_document())[section]):
                raise TwinFormProblem(KEY[section], gettext(locale, N_("Another record already has this id.")))
            await producer.edit_twin(EditTwin(section, key, record_from_form(section, form)))
        except TwinFormProblem as problem:
            return record_page(request, section, form, editing, {problem.field: f"{lead} {problem}"})
        except ProducerProblem as problem:
            return record_page(request, section, form, editing,
                               {field_of(problem.message, section): f"{lead} {problem.message}"})
        return Response(status_code=204, headers={"HX-Redirect": f"{home}{PAGE}/twin/{section}"})

    @router.post(PAGE + "/twin/{section}/remove")
    async def remove_record(section: str, request: Request) -> Response:
        key = (await form_of(request)).get("key", "")
        try:
            await producer.edit_twin(EditTwin(section, key, None))
        except ProducerProblem as problem:
            return await section_page(request, section, error=problem.message)
        return await section_page(request, section, done=gettext(locale_of(request), N_("{key} removed."), key=key))

    def refused(problem: ProducerProblem, request: Request) -> str:
        text = producer_refusal_text(problem.kind, locale_of(request), problem.code)
        return f"{text} ({problem.message})"
