"""Token buckets per key (a client address, a subscriber id): bursts pass, a steady flood is slowed."""

from __future__ import annotations

import time
from collections import OrderedDict


class RateLimiter:
    """``allow(key)`` spends one token of ``key``'s bucket; buckets refill at ``per_minute`` a minute up to
    ``burst``. Only the ``max_keys`` most recently seen keys are remembered, so a flood of new keys costs
    bounded memory (a forgotten key starts again with a full bucket)."""

    def __init__(self, per_minute: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, then = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` has a token again (for a ``Retry-After`` header)."""
        tokens, _ = self._buckets.get(key, (float(self.burst), 0.0))
        return max(1, int((1.0 - tokens) / self.rate) + 1) if self.rate > 0 else 60
