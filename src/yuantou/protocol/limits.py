"""Size and nesting limits on every request body, applied before any handler reads it.

Pure ASGI, outermost in the app: a body over its path's limit is refused from its ``Content-Length`` without
being read, or as soon as a streamed body passes the limit; a JSON body nested deeper than
``json_guard.MAX_DEPTH`` is refused before a parser recurses into it. Each refusal is answered in the form the
path's clients read: a Beckn NACK, or ``{"detail": ...}`` on the business API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from yuantou.protocol.json_guard import JsonProblem, check_depth

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class PathLimit:
    """Bodies under ``prefix`` may be at most ``max_bytes``; ``api``: refusals in the business API's form."""

    prefix: str
    max_bytes: int
    api: bool = False


def refusal_body(limit: PathLimit, status: int, message: str) -> bytes:
    if limit.api:
        return json.dumps({"detail": message}).encode()
    code = "30000"  # BECKN-005: invalid request
    return json.dumps({"message": {"ack": {"status": "NACK"}},
                       "error": {"code": code, "paths": "$", "message": message}}).encode()


class RequestLimits:
    def __init__(self, app: Any, limits: list[PathLimit], default: PathLimit) -> None:
        self.app = app
        self.limits = sorted(limits, key=lambda lim: -len(lim.prefix))  # the longest prefix wins
        self.default = default

    def limit_for(self, path: str) -> PathLimit:
        return next((lim for lim in self.limits if path.startswith(lim.prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit.max_bytes):
            return await self._refuse(send, limit, 413, f"request body over {limit.max_bytes} bytes")
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit.max_bytes:
                return await self._refuse(send, limit, 413, f"request body over {limit.max_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if not content_type.startswith((b"multipart/", b"application/x-www-form-urlencoded")):
            try:
                check_depth(body)
            except JsonProblem as problem:
                return await self._refuse(send, limit, 400, problem.message)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, limit: PathLimit, status: int, message: str) -> None:
        data = refusal_body(limit, status, message)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": data})
