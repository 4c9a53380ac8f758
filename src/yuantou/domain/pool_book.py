"""An organiser's book of pools: where each new intent goes, and which pools are due to close (pure).

An intent joins the best open pool that accepts it — the one already holding the most
(so the most likely to reach its minimum batch and a better tier), then the earliest
cut-off — or, if none does, a new pool opened from the terms the organiser's offers give
for that product and pickup point.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from yuantou.domain.pooling import Intent, Pool, PoolProblem, PoolStatus, PoolTerms, ProductSpec

# Terms for a new pool that would serve this intent, or None when no producer offers it.
Opener = Callable[[Intent, float], PoolTerms | None]


class PoolBook:
    def __init__(self, opener: Opener, new_id: Callable[[], str] | None = None) -> None:
        self.opener = opener
        counter = itertools.count(1)
        self.new_id = new_id or (lambda: f"pool-{next(counter)}")
        self.pools: dict[str, Pool] = {}
        self.intent_pool: dict[str, str] = {}
        self._by_place: dict[tuple, list[Pool]] = {}  # (item or category, pickup point) -> open pools
        self._cutoffs: list[tuple[float, str]] = []  # heap of (cut-off, pool id)

    @staticmethod
    def _places(spec: ProductSpec, pickup_points) -> list[tuple]:  # noqa: ANN001
        keys = [("item", spec.item_id)] if spec.item_id else []
        if spec.category:
            keys.append(("category", spec.category))
        return [(key, point) for key in keys for point in pickup_points]

    def add_pool(self, pool: Pool) -> Pool:
        self.pools[pool.id] = pool
        for place in self._places(pool.terms.spec, pool.terms.pickup_points):
            self._by_place.setdefault(place, []).append(pool)
        heapq.heappush(self._cutoffs, (pool.terms.cutoff, pool.id))
        for intent_id in pool.intents:
            self.intent_pool[intent_id] = pool.id
        return pool

    def candidates(self, spec: ProductSpec, pickup_point: str) -> list[Pool]:
        """Open pools that may serve this product at this pickup point."""
        key = ("item", spec.item_id) if spec.item_id else ("category", spec.category)
        return self._by_place.get((key, pickup_point), [])

    def _check_new(self, intent: Intent) -> None:
        intent.check()
        if intent.id in self.intent_pool:
            raise PoolProblem("duplicate_intent", f"intent {intent.id} is already in pool {self.intent_pool[intent.id]}",
                              "intent_id")

    def join(self, intent: Intent, pool_id: str, now: float) -> Pool:
        """Put an intent in the pool it names; raises PoolProblem (``unknown_pool`` if the book lacks it)."""
        return self.admit(self.target(intent, pool_id, now), intent, now)

    def target(self, intent: Intent, pool_id: str, now: float) -> Pool:
        """The named pool, if it takes this intent; changes nothing."""
        self._check_new(intent)
        pool = self.pools.get(pool_id)
        if pool is None:
            raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
        problem = pool.refusal(intent, now)
        if problem:
            raise problem
        return pool

    def place(self, intent: Intent, now: float) -> Pool:
        """Put an intent in the best open pool for it, opening one if needed; raises PoolProblem."""
        return self.admit(self.choose(intent, now), intent, now)

    def choose(self, intent: Intent, now: float) -> Pool:
        """The best open pool for an intent, or a new one not yet in the book; changes nothing.

        Callers that must store the join first (a node) choose, write, then ``admit``."""
        self._check_new(intent)
        best, refusal = None, None
        for pool in self.candidates(intent.spec, intent.pickup_point):
            problem = pool.refusal(intent, now)
            if problem is None:
                if best is None or (pool.min_total, -pool.terms.cutoff) > (best.min_total, -best.terms.cutoff):
                    best = pool
            elif refusal is None or problem.code != "pool_closed":
                refusal = problem
        if best is not None:
            return best
        terms = self.opener(intent, now)
        if terms is None:
            raise refusal or PoolProblem("unknown_product", "no producer offers this product at this pickup point",
                                         "product")
        fresh = Pool(self.new_id(), terms)
        problem = fresh.refusal(intent, now, name="the pool this node would open for it")  # never stored: no id
        if problem:  # not even a new pool would take it: refuse, and open nothing
            raise problem
        return fresh

    def admit(self, pool: Pool, intent: Intent, now: float) -> Pool:
        """Record a choice made by ``choose`` or ``target`` (checked there): the pool, if new, and the intent."""
        if pool.id not in self.pools:
            self.add_pool(pool)
        pool.admit(intent, now)
        self.intent_pool[intent.id] = pool.id
        return pool

    def withdraw(self, intent_id: str, now: float) -> Intent:
        pool_id = self.intent_pool.get(intent_id)
        if pool_id is None:
            raise PoolProblem("unknown_intent", f"intent {intent_id} is not in any pool (withdrawn already?)", "intent_id")
        intent = self.pools[pool_id].withdraw(intent_id, now)
        del self.intent_pool[intent_id]
        return intent

    def due(self, now: float) -> list[Pool]:
        """Open pools whose cut-off has come (early-closing targets are checked by the caller)."""
        out = []
        while self._cutoffs and self._cutoffs[0][0] <= now:
            _, pool_id = heapq.heappop(self._cutoffs)
            pool = self.pools[pool_id]
            if pool.status is PoolStatus.OPEN:
                out.append(pool)
        return out

    def close(self, pool: Pool) -> None:
        """Close a pool and stop offering it to new intents."""
        pool.close()
        for place in self._places(pool.terms.spec, pool.terms.pickup_points):
            open_pools = self._by_place.get(place, [])
            if pool in open_pools:
                open_pools.remove(pool)
