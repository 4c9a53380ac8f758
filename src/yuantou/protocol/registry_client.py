"""Public-key lookups against a directory's ``/lookup``, cached until ``valid_until``."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from yuantou.protocol import capped_http
from yuantou.protocol.keys import KeyError_, load_signing_public

LOOKUP_ANSWER_BYTES = 16 << 20  # a whole network's entries, for the directory's own dashboard and ledger checks


@dataclass(frozen=True)
class SubscriberKey:
    subscriber_id: str
    key_id: str
    type: str
    url: str
    public_key: Ed25519PublicKey
    valid_from: float
    valid_until: float


def _ts(text: str | None, default: float) -> float:
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_subscription(entry: dict) -> SubscriberKey:
    """One ``/lookup`` entry, as Beckn's registry spec names its fields (``url``, ``key_id``) or as ONDC-style
    registries do (``subscriber_url``, ``ukId``)."""
    return SubscriberKey(
        subscriber_id=entry["subscriber_id"],
        key_id=entry.get("key_id") or entry.get("ukId") or "",
        type=entry.get("type", ""),
        url=entry.get("url") or entry.get("subscriber_url") or "",
        public_key=load_signing_public(entry["signing_public_key"]),
        valid_from=_ts(entry.get("valid_from"), 0.0),
        valid_until=_ts(entry.get("valid_until"), float("inf")),
    )


def first_valid(entries: list[dict], now: float) -> SubscriberKey | None:
    """The first SUBSCRIBED entry whose key is valid at ``now``."""
    for entry in entries:
        if entry.get("status", "SUBSCRIBED") != "SUBSCRIBED":
            continue
        try:
            key = parse_subscription(entry)
        except (KeyError, KeyError_, TypeError, ValueError, AttributeError):
            continue  # an entry this client cannot read is not a key
        if key.valid_from <= now <= key.valid_until:
            return key
    return None


class RegistryClient:
    """Finds subscribers' keys and URLs; a found key is reused until its ``valid_until``."""

    def __init__(self, directory_url: str, http: httpx.AsyncClient, max_cache_seconds: float = 3600) -> None:
        self.directory_url = directory_url.rstrip("/")
        self.http = http
        self.max_cache_seconds = max_cache_seconds
        self._cache: dict[tuple[str, str], tuple[SubscriberKey, float]] = {}
        self.lookups = 0

    async def lookup(self, **criteria: str) -> list[dict]:
        self.lookups += 1
        resp = await capped_http.request(self.http, "POST", f"{self.directory_url}/lookup", json=criteria, timeout=10,
                                         limit=LOOKUP_ANSWER_BYTES)
        if resp.status_code != 200:
            raise ValueError(f"{self.directory_url}/lookup answered {resp.status_code}")
        entries = resp.json()
        if not isinstance(entries, list):
            raise ValueError(f"{self.directory_url}/lookup did not answer a list")
        return [e for e in entries if isinstance(e, dict)]

    async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None:
        """The subscriber's key with that id, valid now, or ``None``."""
        now = time.time()
        hit = self._cache.get((subscriber_id, key_id))
        if hit and now < hit[1]:
            return hit[0]
        criteria = {"subscriber_id": subscriber_id}
        if key_id:
            criteria["key_id"] = key_id
        try:
            entries = await self.lookup(**criteria)
        except (httpx.HTTPError, ValueError):
            return None
        key = first_valid(entries, now)
        if key is not None:
            self._cache[(subscriber_id, key_id)] = (key, min(key.valid_until, now + self.max_cache_seconds))
        return key

    async def find(self, subscriber_id: str, type_: str) -> SubscriberKey | None:
        """The current entry of a subscriber in a role (used to find a gateway's or peer's URL)."""
        try:
            entries = await self.lookup(subscriber_id=subscriber_id, type=type_)
        except (httpx.HTTPError, ValueError):
            return None
        return first_valid(entries, time.time())
