"""Core-schema validation of Beckn 1.1.1 messages (no domain rules here).

Each action's request body is validated with the generated pydantic models in
strict mode, which mirrors JSON Schema typing (no string-to-number coercion).
Errors come back as JSON paths so that a NACK can name exactly what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from yuantou.protocol import core_models as cm

REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "search": cm.SearchPostRequest,
    "select": cm.SelectPostRequest,
    "init": cm.InitPostRequest,
    "confirm": cm.ConfirmPostRequest,
    "status": cm.StatusPostRequest,
    "track": cm.TrackPostRequest,
    "cancel": cm.CancelPostRequest,
    "update": cm.UpdatePostRequest,
    "rating": cm.RatingPostRequest,
    "support": cm.SupportPostRequest,
    "on_search": cm.OnSearchPostRequest,
    "on_select": cm.OnSelectPostRequest,
    "on_init": cm.OnInitPostRequest,
    "on_confirm": cm.OnConfirmPostRequest,
    "on_track": cm.OnTrackPostRequest,
    "on_cancel": cm.OnCancelPostRequest,
    "on_update": cm.OnUpdatePostRequest,
    "on_status": cm.OnStatusPostRequest,
    "on_rating": cm.OnRatingPostRequest,
    "on_support": cm.OnSupportPostRequest,
}

REQUEST_ACTIONS = tuple(a for a in REQUEST_MODELS if not a.startswith("on_"))
CALLBACK_ACTIONS = tuple(a for a in REQUEST_MODELS if a.startswith("on_"))


@dataclass(frozen=True)
class SchemaViolation:
    """One breach of the core schema: where (JSON path) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def json_path(loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into a JSONPath such as ``$.message.order.items[0].id``."""
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in ("root",) or part.startswith("function-") or "[" in part:
            continue  # RootModel / union branch markers are not JSON keys
        else:
            path += f".{part}"
    return path


def validate_message(action: str, body: bytes | str) -> list[SchemaViolation]:
    """Validate a raw request body for ``action``; an empty list means it conforms."""
    model = REQUEST_MODELS.get(action)
    if model is None:
        return [SchemaViolation("$.context.action", f"unknown Beckn action {action!r}")]
    try:
        model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        seen: dict[str, SchemaViolation] = {}
        for err in exc.errors(include_url=False):
            violation = SchemaViolation(json_path(err["loc"]), err["msg"])
            seen.setdefault(violation.path, violation)
        return list(seen.values())
    return []
