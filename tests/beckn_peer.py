"""Helpers for tests that act as a Beckn peer by hand (signing, sending, rewriting examples)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import httpx

from yuantou.protocol.envelope import dumps
from yuantou.protocol.signing import sign


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post_signed(url: str, payload: dict | bytes, peer, *, created: int | None = None, expires: int | None = None,
                extra_headers: dict | None = None, sign_as: str | None = None, key=None) -> httpx.Response:  # noqa: ANN001
    body = payload if isinstance(payload, bytes) else dumps(payload)
    headers = {"Content-Type": "application/json",
               "Authorization": sign(body, key or peer.keys.signing, sign_as or peer.subscriber_id, peer.key_id,
                                     created=created, expires=expires)}
    headers.update(extra_headers or {})
    return httpx.post(url, content=body, headers=headers, timeout=10)


def context(action: str, peer, bpp, transaction_id: str | None = None, ttl: str = "PT30S") -> dict:  # noqa: ANN001
    return {
        "domain": "yuantou:agri", "location": {"city": {"code": "std:0571"}, "country": {"code": "CHN"}},
        "action": action, "version": "1.1.0", "bap_id": peer.subscriber_id, "bap_uri": peer.url,
        "bpp_id": bpp.subscriber_id, "bpp_uri": bpp.url + "/beckn",
        "transaction_id": transaction_id or str(uuid.uuid4()), "message_id": str(uuid.uuid4()),
        "timestamp": now_iso(), "ttl": ttl,
    }


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def ack_status(resp: httpx.Response) -> str | None:
    try:
        return resp.json()["message"]["ack"]["status"]
    except (ValueError, KeyError, TypeError):
        return None


def rewrite_for(payload: dict, peer, bpp) -> dict:  # noqa: ANN001
    """An example message re-addressed as if our peer sent it now to ``bpp``."""
    out = json.loads(json.dumps(payload))
    ctx = out["context"]
    ctx.update(bap_id=peer.subscriber_id, bap_uri=peer.url, bpp_id=bpp.subscriber_id,
               bpp_uri=bpp.url + "/beckn", timestamp=now_iso())
    return out
