"""Who may register what at ``/subscribe``: the registry's rules, apart from HTTP.

- A new subscriber id is taken by a request signed with the key it registers (proof of possession).
- An id that is already someone's changes (a new key, URL, role, domain or validity) only by a request signed
  with a key that id holds and that is valid now. Lost keys are the operator's to reset
  (``yuantou directory reset-keys``).
- A key id names one public key for good: a new key needs a new key id.
- The subscriber's URL must answer the registry's encrypted challenge, and nothing is written before it has:
  a failed attempt leaves the store as it was. Every way the challenge can fail gets one answer, so the
  registry cannot be used to tell a closed port from a silent one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from yuantou.directory import registry
from yuantou.directory.registry import Entry, RegistryError
from yuantou.protocol.keys import KeyError_, load_encryption_public, load_signing_public
from yuantou.protocol.registry_client import SubscriberKey

CHALLENGE_FAILED = "the subscriber's URL did not answer the registry's challenge (POST {url}/on_subscribe)"


class Refusal(Exception):
    """A subscription the registry will not take: HTTP status, what is wrong and where."""

    def __init__(self, status: int, message: str, path: str = "$") -> None:
        super().__init__(status, message, path)
        self.status, self.message, self.path = status, message, path


def _time(data: dict[str, Any], name: str) -> datetime | None:
    text = data.get(name)
    if text is None:
        return None
    if not isinstance(text, str):
        raise Refusal(400, "must be an RFC 3339 date-time string", f"$.{name}")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Refusal(400, f"{text[:40]!r} is not an RFC 3339 date-time", f"$.{name}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _text(data: dict[str, Any], name: str, path: str | None = None) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise Refusal(400, "required, a non-empty string", path or f"$.{name}")
    return value


def requested_entry(data: Any) -> Entry:
    """The subscription a ``/subscribe`` body asks for, checked field by field."""
    if not isinstance(data, dict):
        raise Refusal(400, "a subscription is a JSON object")
    location = data.get("location")
    if not isinstance(location, dict) or not isinstance(location.get("city"), dict):
        raise Refusal(400, "location.city.code is required", "$.location.city.code")
    country = location.get("country") or {}
    if not isinstance(country, dict) or not isinstance(country.get("code", "IND"), str):
        raise Refusal(400, "must be an object with a string code", "$.location.country")
    entry = Entry(
        subscriber_id=_text(data, "subscriber_id"), url=_text(data, "url").rstrip("/"), type=_text(data, "type"),
        domain=_text(data, "domain"), city=_text(location["city"], "code", "$.location.city.code"),
        country=country.get("code", "IND"), signing_public_key=_text(data, "signing_public_key"),
        encr_public_key=_text(data, "encr_public_key"), key_id=_text(data, "key_id"),
        valid_from=_time(data, "valid_from"), valid_until=_time(data, "valid_until"), status=registry.SUBSCRIBED)
    if entry.valid_from and entry.valid_until and entry.valid_until <= entry.valid_from:
        raise Refusal(400, "valid_until must come after valid_from", "$.valid_until")
    try:
        entry.check()
    except RegistryError as exc:
        raise Refusal(400, str(exc), exc.path) from None
    try:
        load_encryption_public(entry.encr_public_key or "")
    except KeyError_ as exc:
        raise Refusal(400, str(exc), "$.encr_public_key") from None
    return entry


def _key(row: Any) -> SubscriberKey:
    return SubscriberKey(row["subscriber_id"], row["key_id"], row["type"], row["url"],
                         load_signing_public(row["signing_public_key"]), 0.0, float("inf"))


def signing_key(conn: Connection, entry: Entry, signer_key_id: str, now: datetime) -> SubscriberKey:
    """The key that must have signed a request for ``entry``, named by the request's ``keyId``."""
    if registry.owned(conn, entry.subscriber_id):
        row = registry.held_key(conn, entry.subscriber_id, signer_key_id, now)
        if row is None:
            raise Refusal(401, f"{entry.subscriber_id} is already registered: a change must be signed by one of its "
                               "keys that is valid now (a lost key is reset by the directory's operator)")
        return _key(row)
    if signer_key_id != entry.key_id:
        raise Refusal(401, "a new subscriber signs its subscription with the key it registers (keyId "
                           f"{entry.subscriber_id}|{entry.key_id}|ed25519)")
    return SubscriberKey(entry.subscriber_id, entry.key_id, entry.type, entry.url,
                         load_signing_public(entry.signing_public_key), 0.0, float("inf"))


def record(conn: Connection, entry: Entry, was_owned: bool) -> str:
    """Write the subscription whose challenge succeeded; refuse it if the id changed hands meanwhile."""
    if not was_owned and registry.owned(conn, entry.subscriber_id):
        raise Refusal(409, f"{entry.subscriber_id} was registered by another request meanwhile; sign with its key")
    if registry.key_id_conflict(conn, entry):
        raise Refusal(409, f"key id {entry.key_id} of {entry.subscriber_id} already names another public key; "
                           "register a new key under a new key id", "$.key_id")
    return registry.upsert(conn, entry)
