"""Beckn envelopes: contexts, ACK/NACK bodies, error objects and TTL arithmetic.

Pure functions; the node and the directory build every message through here so
that what we send is always core-1.1.1 shaped.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

CORE_VERSION = "1.1.1"  # what we send: the core version our validator holds messages to
ACCEPTED_VERSIONS = ("1.1.0", "1.1.1")  # what we take: 1.1.1 changed no wire field of 1.1.0
DEFAULT_TTL = "PT30S"

# BECKN-005 error codes used by Yuantou
INVALID_REQUEST = "30000"
PROVIDER_NOT_FOUND = "30001"
ITEM_NOT_FOUND = "30004"
FULFILLMENT_UNAVAILABLE = "30008"
ORDER_NOT_FOUND = "30010"
BUSINESS_ERROR = "40000"
ACTION_NOT_APPLICABLE = "40001"
ITEM_QUANTITY_UNAVAILABLE = "40002"
QUOTE_UNAVAILABLE = "40003"
TRACKING_NOT_SUPPORTED = "40005"
CANCELLATION_NOT_POSSIBLE = "50001"
UPDATION_NOT_POSSIBLE = "50002"


class BecknError(Exception):
    """A refusal with its BECKN-005 code, the JSON paths at fault and a human message.

    A plain exception, not a frozen dataclass: raising one through a context manager sets its
    ``__traceback__``, which a frozen dataclass refuses (a refusal then became a 500)."""

    def __init__(self, code: str, message: str, paths: str | None = None) -> None:
        super().__init__(code, message, paths)
        self.code, self.message, self.paths = code, message, paths

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BecknError) and (self.code, self.message, self.paths) == (
            other.code, other.message, other.paths)

    __hash__ = Exception.__hash__

    def __repr__(self) -> str:
        return f"BecknError({self.code!r}, {self.message!r}, {self.paths!r})"

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.paths:
            out["paths"] = self.paths
        return out


def ack() -> dict[str, Any]:
    return {"message": {"ack": {"status": "ACK"}}}


def nack(error: BecknError | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": {"ack": {"status": "NACK"}}}
    if error is not None:
        body["error"] = error.as_dict()
    return body


def epoch_iso(epoch: float) -> str:
    """A moment in seconds since the epoch as RFC 3339 in UTC (``…Z``), as Beckn and the Yuantou profile write times."""
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


_DURATION = re.compile(
    r"^P(?:(?P<years>\d+(?:\.\d+)?)Y)?(?:(?P<months>\d+(?:\.\d+)?)M)?(?:(?P<weeks>\d+(?:\.\d+)?)W)?"
    r"(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_SECONDS = {"years": 365 * 86400, "months": 30 * 86400, "weeks": 7 * 86400, "days": 86400,
            "hours": 3600, "minutes": 60, "seconds": 1}


def duration_seconds(text: str) -> float:
    """Seconds in an ISO 8601 duration such as ``PT30S`` or ``P1D``; ``ValueError`` if malformed."""
    match = _DURATION.match(text or "")
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    return sum(float(v) * _SECONDS[k] for k, v in match.groupdict().items() if v)


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 date-time with its offset; ``ValueError`` otherwise."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no offset")
    return when.timestamp()


def timestamp_or_none(value: Any) -> float | None:
    """``parse_timestamp`` of what a stored document holds, or None where it holds no such time."""
    try:
        return parse_timestamp(str(value))
    except ValueError:
        return None


def expiry(context: dict[str, Any], default_ttl: str = DEFAULT_TTL) -> float:
    """When a message stops being valid: its timestamp plus its ttl."""
    return parse_timestamp(context["timestamp"]) + duration_seconds(context.get("ttl") or default_ttl)


def make_context(
    action: str,
    *,
    domain: str,
    city: str,
    country: str,
    bap_id: str,
    bap_uri: str,
    transaction_id: str,
    message_id: str | None = None,
    bpp_id: str | None = None,
    bpp_uri: str | None = None,
    ttl: str = DEFAULT_TTL,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "domain": domain,
        "location": {"city": {"code": city}, "country": {"code": country}},
        "action": action,
        "version": CORE_VERSION,
        "bap_id": bap_id,
        "bap_uri": bap_uri,
        "transaction_id": transaction_id,
        "message_id": message_id or new_id(),
        "timestamp": now_iso(),
        "ttl": ttl,
    }
    if bpp_id:
        context["bpp_id"] = bpp_id
    if bpp_uri:
        context["bpp_uri"] = bpp_uri
    return context


def callback_context(request_context: dict[str, Any], bpp_id: str, bpp_uri: str) -> dict[str, Any]:
    """The context of the ``on_*`` answer: same transaction and message id, fresh timestamp."""
    context = dict(request_context)
    context["action"] = "on_" + request_context["action"]
    context["version"] = CORE_VERSION  # the version we speak, whichever accepted one the request came in
    context["bpp_id"] = bpp_id
    context["bpp_uri"] = bpp_uri
    context["timestamp"] = now_iso()
    return context


def dumps(payload: dict[str, Any]) -> bytes:
    """Compact JSON bytes; what we sign is exactly what we send."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


ROUTING_FIELDS_REQUEST = ("bap_id", "bap_uri", "transaction_id", "message_id", "timestamp")
ROUTING_FIELDS_CALLBACK = ("bap_id", "bpp_id", "bpp_uri", "transaction_id", "message_id", "timestamp")


ID_LIMITS = {"transaction_id": 64, "message_id": 64, "bap_id": 255, "bpp_id": 255}  # what a node's store keeps
ORDER_ID_LIMIT = 128  # an order id a buyer keeps


def order_id_problem(action: str, message: Any) -> str | None:
    """The JSON path of an order id a callback names that no store keeps (over ``ORDER_ID_LIMIT``), or None."""
    order = message.get("order") if isinstance(message, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    if action.startswith("on_") and isinstance(order_id, str) and len(order_id) > ORDER_ID_LIMIT:
        return "$.message.order.id"
    return None


def routing_problems(action: str, context: dict[str, Any]) -> list[str]:
    """Context fields the core schema leaves optional or free but routing needs (Yuantou profile): present,
    ids no longer than the store keeps them, and a timestamp the ttl can be counted from."""
    needed = ROUTING_FIELDS_CALLBACK if action.startswith("on_") else ROUTING_FIELDS_REQUEST
    problems = [f"$.context.{f}" for f in needed if not context.get(f)]
    if not action.startswith("on_") and action != "search" and not context.get("bpp_id"):
        problems.append("$.context.bpp_id")
    problems += [f"$.context.{f}" for f, most in ID_LIMITS.items()
                 if isinstance(context.get(f), str) and len(context[f]) > most]
    if context.get("timestamp") and "$.context.timestamp" not in problems:
        try:
            parse_timestamp(context["timestamp"])
        except (ValueError, TypeError, AttributeError):
            problems.append("$.context.timestamp")
    return problems


ROUTING_RULES = ("context lacks, or has unusable, fields needed to route the answer (Yuantou profile: bap_id, "
                 "bap_uri, transaction_id and message_id present, ids of at most 64 characters, subscriber ids of "
                 "at most 255, an RFC 3339 timestamp with its offset)")


def fulfillment_state(order: dict[str, Any]) -> str | None:
    """The state code of the first of an order's fulfillments that has one (Pending, Accepted, … Delivered)."""
    for f in order.get("fulfillments") or []:
        code = ((f.get("state") or {}).get("descriptor") or {}).get("code")
        if code:
            return code
    return None
