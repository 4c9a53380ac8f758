"""What keeps the pages' forms safe: same-origin checks, CSRF tokens bound to a session, rate limits.

A form post must come from one of this node's own pages: its ``Origin`` (or, failing that, ``Referer``)
names this host, and it carries a token only the holder of the session cookie can know. Requests that
guess secrets (personal links) are rate-limited per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from starlette.requests import Request


def same_origin(request: Request) -> bool:
    """The request was sent by a page of this host (browsers send ``Origin`` on every form post)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return False
    return urlsplit(source).netloc == request.headers.get("host", "")


def csrf_token(session_secret: str) -> str:
    """A form token derived from the session's secret: another site can read neither."""
    return hashlib.blake2b(session_secret.encode(), digest_size=16, person=b"yuantou-csrf").hexdigest()


def csrf_valid(session_secret: str | None, given: str | None) -> bool:
    return bool(session_secret and given) and hmac.compare_digest(csrf_token(str(session_secret)), str(given))


class RateLimit:
    """At most ``count`` events per ``seconds`` per key (a sliding window), kept in memory."""

    def __init__(self, count: int, seconds: float, keys: int = 10_000) -> None:
        self.count, self.seconds, self.keys = count, seconds, keys
        self._events: dict[str, list[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if len(self._events) >= self.keys:  # never grows without bound: forget the quietest half
            self._events = dict(sorted(self._events.items(), key=lambda kv: kv[1][-1])[self.keys // 2:])
        recent = [t for t in self._events.get(key, []) if now - t < self.seconds]
        if len(recent) >= self.count:
            self._events[key] = recent
            return False
        recent.append(now)
        self._events[key] = recent
        return True


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
