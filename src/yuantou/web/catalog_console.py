"""The producer console's catalog (``/dashboard/producer/catalog``): every item with its price, terms and what is
left in each window; an item added, edited or retired in a form checked by the catalog file's own reader; and a
catalog file uploaded, previewed item by item, and imported only when confirmed.

Routes only translate: forms become ``PutItems``, ``RetireItem`` or ``ImportCatalog`` for ``ProducerService``; a
refusal is a sentence next to its field in the reader's language, and nothing stored changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.i18n.catalogs import N_, gettext
from yuantou.producer.catalog_file import CatalogFileError, catalog_from_text, item_record, items_from_records
from yuantou.producer.commands import ImportCatalog, ProducerProblem, PutItems, RetireItem
from yuantou.producer.service import ProducerService
from yuantou.protocol import json_guard
from yuantou.protocol.envelope import timestamp_or_none
from yuantou.web.catalog_form import MAX_FIELDS as CATALOG_FORM_FIELDS
from yuantou.web.catalog_form import (
    TIER_ROWS,
    WINDOW_ROWS_FREE,
    WINDOW_ROWS_MOST,
    FormProblem,
    form_field,
    form_from_item,
    record_from_form,
    window_rows,
)
from yuantou.web.form_values import UploadProblem, form_of, upload_of
from yuantou.web.languages import locale_of
from yuantou.web.local_text import quantity, unit_price

CATALOG_ERRORS = {"bad_time": N_("Enter a date and time."), "bad_number": N_("Enter a number, such as 2 or 2.5."),
                  "required": N_("Fill this in."), "too_long": N_("This is too long."),
                  "duplicate_item": N_("Another item already has this id."),
                  "window_order": N_("The window must end after it starts."),
                  "tier_order": N_("Tiers must rise in quantity, and each price must be at most the list price and "
                                   "the tier before."),
                  "invalid": N_("This value is not valid here.")}


def mount_catalog(router: APIRouter, producer: ProducerService, page: Callable[..., HTMLResponse], home: str,
                  zone: tzinfo, window_text: Callable[[float | None, float | None, str, str], str]) -> None:  # noqa: C901
    async def catalog_answer(request: Request, done: str | None = None, error: str | None = None) -> HTMLResponse:
        locale = locale_of(request)
        items = await producer.catalog_items()
        rows = []
        for item in items.values():
            terms = [gettext(locale, N_("bulk unit {n}"), n=quantity(item.bulk_unit, item.unit))] if item.bulk_unit \
                else []
            if item.moq:
                terms.append(gettext(locale, N_("minimum {n}"), n=quantity(item.moq, item.unit)))
            terms += [f"≥ {quantity(q, item.unit)}: {unit_price(p, item.currency, item.unit, locale)}"
                      for q, p in item.tiers]
            rows.append({"id": item.id, "name": item.name, "grade": item.grade,
                         "price_text": unit_price(item.price, item.currency, item.unit, locale),
                         "terms_text": "; ".join(terms) or "—",
                         "windows": [{"text": window_text(timestamp_or_none(w.start), timestamp_or_none(w.end), w.id, locale),
                                      "left": quantity(Decimal(str(w.capacity)), item.unit)} for w in item.windows]})
        return page(request, "console/catalog.html", gettext(locale, N_("Catalog")), f"{home}/catalog", items=rows,
                    done=done, error=error)

    def item_form(request: Request, form: dict[str, str], editing: bool,
                  errors: dict[str, str] | None = None) -> HTMLResponse:
        locale = locale_of(request)
        heading = gettext(locale, N_("Edit {item}"), item=form.get("name") or form.get("id")) if editing else \
            gettext(locale, N_("Add an item"))
        at = f"{home}/catalog/items/{quote(form.get('id', ''), safe='')}" if editing else f"{home}/catalog/new"
        return page(request, "console/catalog_item.html", heading, at, form=form, editing=editing,
                    errors=errors or {}, tier_rows=range(TIER_ROWS), window_rows=range(window_rows(form)),
                    zone_name=str(zone))

    @router.get("/catalog")
    async def catalog_page(request: Request) -> HTMLResponse:
        return await catalog_answer(request)

    @router.get("/catalog/new")
    async def new_item(request: Request) -> HTMLResponse:
        return item_form(request, {"currency": "CNY", "unit": "kg"}, editing=False)

    @router.get("/catalog/items/{item_id}")
    async def edit_item(item_id: str, request: Request) -> Response:
        items, sold = await producer.catalog_with_sales()
        if item_id not in items:
            return await catalog_answer(request, error=gettext(locale_of(request), N_("There is no such item.")))
        if len(items[item_id].windows) + WINDOW_ROWS_FREE > WINDOW_ROWS_MOST:  # the form would drop some
            return await catalog_answer(request, error=gettext(locale_of(request), N_(
                "This item has more delivery windows than the form holds: change it with a catalog file.")))
        return item_form(request, form_from_item(items[item_id], sold, zone), editing=True)

    @router.post("/catalog/items")
    async def save_item(request: Request) -> Response:
        form = dict(await form_of(request, CATALOG_FORM_FIELDS))
        editing = form.get("editing") == "True"
        locale = locale_of(request)

        def refused(field: str, code: str) -> HTMLResponse:
            return item_form(request, form, editing, {field: gettext(locale, CATALOG_ERRORS.get(code, N_(
                "This value is not valid here.")))})

        try:
            (item,) = items_from_records([record_from_form(form, zone)], "form")
        except FormProblem as problem:
            return refused(problem.field, problem.code)
        except CatalogFileError as problem:
            return refused(form_field(problem.field, form), problem.code)
        items = await producer.catalog_items()
        if not editing and item.id in items:
            return refused("id", "duplicate_item")
        await producer.put_items(PutItems((item,)))
        return Response(status_code=204, headers={"HX-Redirect": f"{home}/catalog#item-{quote(item.id, safe='')}"})

    @router.post("/catalog/items/{item_id}/retire")
    async def retire(item_id: str, request: Request) -> HTMLResponse:
        locale = locale_of(request)
        try:
            await producer.retire_item(RetireItem(item_id))
        except ProducerProblem:
            return await catalog_answer(request, error=gettext(locale, N_("There is no such item.")))
        return await catalog_answer(request, done=gettext(locale, N_("{item} is retired: buyers no longer see it."),
                                                          item=item_id))

    # -- a catalog file, previewed before it is imported --------------------------------------------

    def import_page(request: Request, **context: Any) -> HTMLResponse:
        return page(request, "console/catalog_import.html", gettext(locale_of(request), N_("Import a catalog file")),
                    f"{home}/catalog/import", **{"changes": None, "error": None, **context})

    @router.get("/catalog/import")
    async def import_form(request: Request) -> HTMLResponse:
        return import_page(request)

    @router.post("/upload/catalog")
    async def upload_catalog(request: Request) -> HTMLResponse:
        upload = await upload_of(request)
        if upload is None:
            return import_page(request, error=gettext(locale_of(request), N_("Choose a file.")))
        try:
            _, items = catalog_from_text(upload.text(), upload.name)
        except (UploadProblem, CatalogFileError) as exc:
            return import_page(request, error=str(exc))
        replace = upload.fields.get("replace") == "on"
        command = ImportCatalog(tuple(items), replace)
        return import_page(request, changes=await producer.preview_import(command), file_name=upload.name,
                           replace=replace, records=json.dumps([item_record(i) for i in items], ensure_ascii=False))

    @router.post("/upload/catalog/apply")
    async def apply_catalog(request: Request) -> Response:
        form = await form_of(request)
        name = form.get("file_name", "upload")[:200]
        try:
            items = items_from_records(json_guard.document(form.get("records", "[]")), name)
        except (CatalogFileError, json_guard.JsonProblem, TypeError) as exc:  # a preview's records, changed on the way
            return import_page(request, error=str(exc))
        await producer.import_catalog(ImportCatalog(tuple(items), form.get("replace") == "on"))
        return Response(status_code=204, headers={"HX-Redirect": f"{home}/catalog"})

