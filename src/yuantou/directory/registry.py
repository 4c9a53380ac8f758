"""The registry's store: who is on the network, where, with which keys (no transactions)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Connection

from yuantou.protocol.keys import KeyError_, load_signing_public
from yuantou.protocol.registry_client import SubscriberKey, first_valid, parse_subscription  # noqa: F401
from yuantou.store.db import Database
from yuantou.store.tables import subscribers

TYPES = ("BAP", "BPP", "BG")
WILDCARD = "*"


class RegistryError(ValueError):
    pass


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
        if self.type not in TYPES:
            raise RegistryError(f"type must be one of {', '.join(TYPES)}, not {self.type!r}")
        if not self.url.startswith(("http://", "https://")):
            raise RegistryError(f"url {self.url!r} must start with http:// or https://")
        for name in ("subscriber_id", "domain", "city"):
            if not getattr(self, name):
                raise RegistryError(f"{name} must not be empty")
        try:
            load_signing_public(self.signing_public_key)
        except KeyError_ as exc:
            raise RegistryError(str(exc)) from None


def _utc(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def iso(dt: datetime) -> str:
    return _utc(dt).astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def upsert(conn: Connection, entry: Entry) -> str:
    """Register or update one subscription; returns its key_id."""
    entry.check()
    now = datetime.now(timezone.utc)
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


def set_status(conn: Connection, subscriber_id: str, key_id: str, status: str) -> None:
    conn.execute(update(subscribers).where(and_(subscribers.c.subscriber_id == subscriber_id,
                                                subscribers.c.key_id == key_id))
                 .values(status=status, updated=datetime.now(timezone.utc)))


def as_subscription(row: Any) -> dict[str, Any]:
    return {
        "subscriber_id": row["subscriber_id"], "url": row["url"], "type": row["type"], "domain": row["domain"],
        "location": {"city": {"code": row["city"]}, "country": {"code": row["country"]}},
        "key_id": row["key_id"], "signing_public_key": row["signing_public_key"],
        "encr_public_key": row["encr_public_key"], "valid_from": iso(row["valid_from"]),
        "valid_until": iso(row["valid_until"]), "status": row["status"],
        "created": iso(row["created"]), "updated": iso(row["updated"]),
    }


def lookup(conn: Connection, criteria: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries matching a ``Subscription``-shaped filter; ``*`` domain/city entries match any."""
    query = select(subscribers)
    for name in ("subscriber_id", "type", "key_id", "status"):
        if criteria.get(name):
            query = query.where(getattr(subscribers.c, name) == criteria[name])
    if criteria.get("domain"):
        query = query.where(or_(subscribers.c.domain == criteria["domain"], subscribers.c.domain == WILDCARD))
    city = ((criteria.get("location") or {}).get("city") or {}).get("code") or criteria.get("city")
    if city:
        query = query.where(or_(subscribers.c.city == city, subscribers.c.city == WILDCARD))
    rows = conn.execute(query.order_by(subscribers.c.id)).mappings().all()
    return [as_subscription(r) for r in rows]


class LocalKeys:
    """Key resolver over the directory's own store (the gateway verifies without HTTP)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[tuple[str, str], tuple[SubscriberKey, float]] = {}

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
