"""The registry's store: who is on the network, where, with which keys (no transactions)."""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.engine import Connection

from yuantou.protocol.keys import KeyError_, load_signing_public
from yuantou.protocol.registry_client import SubscriberKey, first_valid, parse_subscription  # noqa: F401
from yuantou.store.db import Database
from yuantou.store.tables import subscribers

TYPES = ("BAP", "BPP", "BG")
WILDCARD = "*"
SUBSCRIBED = "SUBSCRIBED"
# rows that do not make an id anyone's: attempts whose challenge never succeeded (older versions wrote them first)
PENDING = ("INITIATED", "UNDER_SUBSCRIPTION")
TEXT_CRITERIA = ("subscriber_id", "type", "key_id", "status", "domain", "city", "country")


SUBSCRIBER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,254}")
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")  # never '|': it separates a keyId's parts


class RegistryError(ValueError):
    """An entry the registry will not hold: what is wrong, and the path of the field at fault."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Entry:
    subscriber_id: str
    url: str
    type: str
    domain: str
    city: str
    signing_public_key: str
    key_id: str = ""
    country: str = "IND"
    encr_public_key: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    status: str = "SUBSCRIBED"

    def check(self) -> None:
        if not SUBSCRIBER_ID.fullmatch(self.subscriber_id):
            raise RegistryError("subscriber_id: letters, digits and . _ : @ / + - only, at most 255", "$.subscriber_id")
        if self.key_id and not KEY_ID.fullmatch(self.key_id):
            raise RegistryError("key_id: letters, digits and . _ : @ + - only, at most 128", "$.key_id")
        if self.type not in TYPES:
            raise RegistryError(f"type must be one of {', '.join(TYPES)}, not {self.type[:20]!r}", "$.type")
        if not self.url.startswith(("http://", "https://")) or len(self.url) > 2048 or any(
                c.isspace() or c in '"<>' for c in self.url):
            raise RegistryError(f"url {self.url[:80]!r} must be an http:// or https:// URL", "$.url")
        for name, path, most in (("domain", "$.domain", 128), ("city", "$.location.city.code", 64),
                                 ("country", "$.location.country.code", 8)):
            value = getattr(self, name)
            if not value or len(value) > most:
                raise RegistryError(f"{name} must be 1 to {most} characters", path)
        try:
            load_signing_public(self.signing_public_key)
        except KeyError_ as exc:
            raise RegistryError(str(exc), "$.signing_public_key") from None


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def iso(dt: datetime) -> str:
    return _utc(dt).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def upsert(conn: Connection, entry: Entry) -> str:
    """Register or update one subscription; returns its key_id."""
    entry.check()
    now = datetime.now(UTC)
    key_id = entry.key_id or str(uuid.uuid4())
    values = dict(
        url=entry.url, city=entry.city, country=entry.country, signing_public_key=entry.signing_public_key,
        encr_public_key=entry.encr_public_key, status=entry.status,
        valid_from=entry.valid_from or now, valid_until=entry.valid_until or now + timedelta(days=365),
        updated=now,
    )
    where = and_(subscribers.c.subscriber_id == entry.subscriber_id, subscribers.c.type == entry.type,
                 subscribers.c.domain == entry.domain, subscribers.c.key_id == key_id)
    if conn.execute(update(subscribers).where(where).values(**values)).rowcount == 0:
        conn.execute(subscribers.insert().values(
            subscriber_id=entry.subscriber_id, type=entry.type, domain=entry.domain, key_id=key_id,
            created=now, **values))
    return key_id


def owned(conn: Connection, subscriber_id: str) -> bool:
    """Whether the id already belongs to someone: any entry of it but a pending attempt (a revoked or expired id
    stays its owner's; only the operator gives it to a new key, ``yuantou directory reset-keys``)."""
    return conn.execute(select(subscribers.c.id).where(
        subscribers.c.subscriber_id == subscriber_id, subscribers.c.status.not_in(PENDING)).limit(1)).first() is not None


def held_key(conn: Connection, subscriber_id: str, key_id: str, now: datetime) -> Any | None:
    """The id's subscribed entry under ``key_id`` whose key is valid at ``now`` (what may sign a change)."""
    return conn.execute(select(subscribers).where(
        subscribers.c.subscriber_id == subscriber_id, subscribers.c.key_id == key_id,
        subscribers.c.status == SUBSCRIBED, subscribers.c.valid_from <= now, subscribers.c.valid_until >= now,
    ).order_by(subscribers.c.id).limit(1)).mappings().first()


def key_id_conflict(conn: Connection, entry: Entry) -> bool:
    """A key id names one public key for good: ``entry`` would give the id's ``key_id`` another one."""
    return conn.execute(select(subscribers.c.id).where(
        subscribers.c.subscriber_id == entry.subscriber_id, subscribers.c.key_id == entry.key_id,
        subscribers.c.status.not_in(PENDING), subscribers.c.signing_public_key != entry.signing_public_key,
    ).limit(1)).first() is not None


def expire_pending(conn: Connection, older_than: datetime) -> int:
    """Drop pending attempts last touched before ``older_than``; returns how many."""
    return conn.execute(delete(subscribers).where(subscribers.c.status.in_(PENDING),
                                                  subscribers.c.updated < older_than)).rowcount or 0


def end_keys(conn: Connection, subscriber_id: str, at: datetime) -> int:
    """End every key of the id at ``at`` (entries stay, so what they signed before still verifies)."""
    return conn.execute(update(subscribers).where(
        subscribers.c.subscriber_id == subscriber_id, subscribers.c.valid_until > at,
    ).values(valid_until=at, updated=datetime.now(UTC))).rowcount or 0


def entries_of(conn: Connection, subscriber_id: str) -> list[Any]:
    return list(conn.execute(select(subscribers).where(subscribers.c.subscriber_id == subscriber_id,
                                                       subscribers.c.status.not_in(PENDING))
                             .order_by(subscribers.c.id)).mappings())


def reset_keys(conn: Connection, subscriber_id: str, key_id: str, signing_public_key: str,
               encr_public_key: str | None, url: str | None, at: datetime, valid_until: datetime) -> list[Entry]:
    """The operator's answer to lost keys: end every key of the id at ``at`` and list the new key in each of
    its roles from then on (the URL kept unless given). The old entries stay, so what they signed verifies."""
    rows = entries_of(conn, subscriber_id)
    if not rows:
        raise RegistryError(f"{subscriber_id} is not registered; add it with `yuantou directory add`")
    if any(r["key_id"] == key_id for r in rows):
        raise RegistryError(f"{subscriber_id} already has a key {key_id}; the new key needs a new key id", "$.key_id")
    roles = {(r["type"], r["domain"]): r for r in rows}  # the latest entry of each role
    end_keys(conn, subscriber_id, at)
    entries = [Entry(subscriber_id=subscriber_id, url=url or r["url"], type=r["type"], domain=r["domain"],
                     city=r["city"], country=r["country"], signing_public_key=signing_public_key, key_id=key_id,
                     encr_public_key=encr_public_key or r["encr_public_key"], valid_from=at, valid_until=valid_until)
               for r in roles.values()]
    for entry in entries:
        upsert(conn, entry)
    return entries


def as_subscription(row: Any) -> dict[str, Any]:
    """A ``Subscription`` as Beckn's registry spec shapes it, with the names deployed ONDC-style clients read
    (``subscriber_url``, ``ukId``, ``city``, ``country``) beside it."""
    return {
        "subscriber_id": row["subscriber_id"], "url": row["url"], "type": row["type"], "domain": row["domain"],
        "location": {"city": {"code": row["city"]}, "country": {"code": row["country"]}},
        "key_id": row["key_id"], "signing_public_key": row["signing_public_key"],
        "encr_public_key": row["encr_public_key"], "valid_from": iso(row["valid_from"]),
        "valid_until": iso(row["valid_until"]), "status": row["status"],
        "created": iso(row["created"]), "updated": iso(row["updated"]),
        "subscriber_url": row["url"], "ukId": row["key_id"], "city": row["city"], "country": row["country"],
    }


def criteria_problem(criteria: Any) -> str | None:
    """What is wrong with a ``/lookup`` filter (its JSON path and why), or ``None``."""
    if not isinstance(criteria, dict):
        return "$: a lookup takes a Subscription object"
    for name in (*TEXT_CRITERIA, "ukId"):
        if criteria.get(name) is not None and not isinstance(criteria[name], str):
            return f"$.{name}: must be a string"
    location = criteria.get("location")
    if location is not None:
        if not isinstance(location, dict):
            return "$.location: must be an object"
        for part in ("city", "country"):
            inner = location.get(part)
            if inner is not None and not (isinstance(inner, dict) and isinstance(inner.get("code", ""), str)):
                return f"$.location.{part}: must be an object with a string code"
    return None


def lookup(conn: Connection, criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries matching a ``Subscription``-shaped filter (``criteria_problem`` first); ``*`` domain/city entries
    match any. ONDC-style filters (``ukId``, ``city``, ``country`` as strings) are read too."""
    query = select(subscribers)
    location = criteria.get("location") or {}
    wanted = {
        "subscriber_id": criteria.get("subscriber_id"), "type": criteria.get("type"),
        "key_id": criteria.get("key_id") or criteria.get("ukId"), "status": criteria.get("status"),
        "country": (location.get("country") or {}).get("code") or criteria.get("country"),
    }
    for name, value in wanted.items():
        if value:
            query = query.where(getattr(subscribers.c, name) == value)
    if criteria.get("domain"):
        query = query.where(or_(subscribers.c.domain == criteria["domain"], subscribers.c.domain == WILDCARD))
    city = (location.get("city") or {}).get("code") or criteria.get("city")
    if city:
        query = query.where(or_(subscribers.c.city == city, subscribers.c.city == WILDCARD))
    rows = conn.execute(query.order_by(subscribers.c.id)).mappings().all()
    return [as_subscription(r) for r in rows]


class LocalKeys:
    """Key resolver over the directory's own store (the gateway verifies without HTTP)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[str, str], tuple[SubscriberKey, float]] = {}

    def forget(self, subscriber_id: str) -> None:
        """Drop what is cached of a subscriber whose entries just changed."""
        for cached in [k for k in self._cache if k[0] == subscriber_id]:
            self._cache.pop(cached, None)

    async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None:
        now = time.time()
        hit = self._cache.get((subscriber_id, key_id))
        if hit and now < hit[1]:
            return hit[0]
        criteria = {"subscriber_id": subscriber_id, "status": "SUBSCRIBED"}
        if key_id:
            criteria["key_id"] = key_id
        for entry in await self.db.run(lambda c: lookup(c, criteria)):
            key = parse_subscription(entry)
            if key.valid_from <= now <= key.valid_until:
                self._cache[(subscriber_id, key_id)] = (key, min(key.valid_until, now + 30))
                return key
        return None
