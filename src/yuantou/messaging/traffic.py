"""The last few hundred Beckn requests this node answered, ACK or NACK, for its dashboard.

Only what was ACKed is stored (the inbox); a NACK leaves no row by design, so the
operator would never see why a peer is being refused. This ring keeps both, in memory,
at the cost of one deque append per request.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass

KEY_ID = re.compile(r'keyId="([^"|]*)\|')


@dataclass(frozen=True)
class Answered:
    at: float
    action: str
    sender: str  # the signer named in the Authorization header, or "unsigned"
    status: int
    ack: bool
    code: str | None = None
    message: str | None = None
    path: str | None = None


class TrafficLog:
    def __init__(self, size: int = 300) -> None:
        self.recent: deque[Answered] = deque(maxlen=size)

    def record(self, action: str, authorization: str | None, status: int, reply: dict) -> None:
        found = KEY_ID.search(authorization or "")
        ack = reply.get("message", {}).get("ack", {}).get("status") == "ACK"
        error = reply.get("error") or {}
        self.recent.append(Answered(time.time(), action, found.group(1) if found else "unsigned", status, ack,
                                    error.get("code"), error.get("message"), error.get("paths")))

    def latest(self, n: int = 30) -> list[Answered]:
        return list(reversed(self.recent))[:n]
