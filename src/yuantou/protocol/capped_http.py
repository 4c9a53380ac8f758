"""Reading a peer's answer without trusting its size: an answer over the limit is a failed exchange.

httpx reads a whole response into memory; a stranger answering a callback, a challenge or a checkpoint with
gigabytes would take the node's memory with it. Our peers' answers are ACKs and small documents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

MAX_ANSWER_BYTES = 1 << 20  # an ACK is a few hundred bytes; a lookup of a big network a few hundred kilobytes


class AnswerTooLarge(httpx.HTTPError):
    """The peer's answer passed the limit; it was not read further."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


async def request(client: httpx.AsyncClient, method: str, url: str, *, limit: int = MAX_ANSWER_BYTES,
                  **kwargs: Any) -> Answer:
    """``client.request`` whose answer is read only up to ``limit`` bytes (``AnswerTooLarge`` beyond)."""
    async with client.stream(method, url, **kwargs) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise AnswerTooLarge(f"{url} answered with {declared} bytes (at most {limit} are read)")
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise AnswerTooLarge(f"{url} answered with more than {limit} bytes")
            chunks.append(chunk)
        return Answer(response.status_code, response.headers, b"".join(chunks))
