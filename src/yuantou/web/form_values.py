"""Numbers and times as people type them into a form; what cannot be read is a refusal naming its field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs

from starlette.datastructures import UploadFile  # what request.form() holds (FastAPI's is a subclass)
from starlette.exceptions import HTTPException
from starlette.requests import Request

from yuantou.domain.amounts import AmountError, bounded
from yuantou.domain.pooling import PoolProblem


def number(value: str | None, field: str, optional: bool = False) -> Decimal | None:
    """``2.5``, ``2,5`` or ``2，5`` (a Chinese keyboard's comma); empty is None when ``optional``. Bounded like every
    number a node takes (``domain.amounts``): ``1e999999`` is refused here, not turned into steps for seconds."""
    text = (value or "").strip().replace(",", ".").replace("，", ".")
    if not text and optional:
        return None
    try:
        return bounded(text)
    except AmountError as exc:
        raise PoolProblem("bad_number", f"{field}: {exc}", field) from None


def moment(value: str | None, field: str) -> datetime:
    """A ``datetime-local`` input's value (the node's local time) or an ISO time with its offset."""
    try:
        return datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise PoolProblem("bad_time", f"{field} is not a date and time", field) from None


MAX_FIELDS = 60


async def form_of(request: Request, max_fields: int = MAX_FIELDS) -> dict[str, str]:
    """An urlencoded form's fields, first value of each (the body's size is bounded by ``RequestLimits``); more
    than ``max_fields`` fields is a 400 that says so, never a half-read form."""
    body = (await request.body()).decode("utf-8", "replace")
    try:
        fields = parse_qs(body, max_num_fields=max_fields)
    except ValueError:
        raise HTTPException(400, f"the form has more than {max_fields} fields") from None
    return {k: v[0] for k, v in fields.items()}


class UploadProblem(ValueError):
    """An uploaded file that cannot be read, named: ``catalog.csv: not UTF-8 text (…)``."""


@dataclass(frozen=True)
class Upload:
    """The one file a console form posts (its ``file`` field), and the form's other fields."""

    name: str
    content: bytes
    fields: dict[str, str]

    def text(self) -> str:
        try:
            return self.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UploadProblem(f"{self.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


async def upload_of(request: Request) -> Upload | None:
    """A multipart form's file and fields (the body is bounded by ``RequestLimits``); None when no file was
    chosen."""
    async with request.form(max_files=1, max_fields=5) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return None
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return Upload(upload.filename[:200], await upload.read(), fields)
