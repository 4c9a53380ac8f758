"""Pooling at scale: intents ingested into pools, pools closed (allocated) and sourced.

    python bench/pooling.py [--intents 1000000] [--places 10000] [--repeats 3] [--join-rate 1000]

A synthetic but shaped-like-real market: ``--places`` (product × pickup point) each get
one pool at a time with a 10 kg-crate bulk unit, an MOQ, three price tiers and a
cap that forces a second pool where demand is heavy; households ask 1-5 kg up to 1-15 kg
with price limits around the tiers. Three producers offer every product with different
prices, tiers, capacities, MOQs and delivery charges. Measured: ingestion (every intent
placed in its best pool or opening one), closing (allocation) and sourcing (the HiGHS MIP
per allocated pool, across both cores). Then households joining over HTTP: ``wrk``
offers ``--join-rate`` intents/s to a real buyer node's ``POST /api/intents`` (each join
committed before its answer) and reports p50/p99. Medians of ``--repeats``; writes
``bench/results/pooling.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC
from decimal import Decimal
from pathlib import Path

from yuantou.domain.pool_book import PoolBook
from yuantou.domain.pooling import Allocation, Intent, PoolProblem, PoolTerms, PriceTier, ProductSpec
from yuantou.domain.sourcing import Offer, Sourcing
from yuantou.plan.sourcing import source

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
STEP = Decimal("0.5")  # kg
CUTOFF = 1_000.0
WINDOW = (2_000.0, 3_000.0)


def market(places: int, seed: int) -> tuple[list[tuple[str, str]], dict[str, list[Offer]]]:
    rng = random.Random(seed)
    products = max(1, int(places ** 0.5))
    points = -(-places // products)
    place_list = [(f"item-{p}", f"point-{q}") for p in range(products) for q in range(points)][:places]
    offers = {}
    for p in range(products):
        item = f"item-{p}"
        offers[item] = [
            Offer(f"producer-{k}", f"producer-{k}", item,
                  (PriceTier(0, base), PriceTier(200, base - 40), PriceTier(600, base - 80)),
                  bulk_unit=20, moq=rng.choice([0, 100, 200]), capacity=rng.randrange(400, 4000, 20),
                  delivery_fixed=rng.choice([0, 2000, 5000]), delivery_per_unit=rng.randint(0, 30))
            for k, base in enumerate(rng.sample(range(700, 1000, 10), 3))
        ]
    return place_list, offers


def opener_for(offers: dict[str, list[Offer]]):  # noqa: ANN201
    cache: dict[tuple[str, str], PoolTerms] = {}

    def opener(intent: Intent, now: float) -> PoolTerms | None:
        key = (intent.spec.item_id, intent.pickup_point)
        if key not in cache:
            first = offers.get(intent.spec.item_id)
            if not first:
                return None
            cheapest = min(first, key=lambda o: o.tiers[0].unit_price)
            cache[key] = PoolTerms(
                spec=intent.spec, pickup_points=frozenset({intent.pickup_point}), window=WINDOW, cutoff=CUTOFF,
                bulk_unit=cheapest.bulk_unit, moq=100, tiers=cheapest.tiers, max_quantity=2_000, step=STEP,
                unit="kg")
        return cache[key]

    return opener


def make_intents(n: int, places: list[tuple[str, str]], seed: int) -> list[Intent]:
    rng = random.Random(seed)
    specs = {item: ProductSpec(item_id=item, category="fruit") for item, _ in places}
    out = []
    for i in range(n):
        item, point = places[rng.randrange(len(places))]
        lo = rng.randint(2, 10)
        out.append(Intent(f"i{i}", f"h{i}", specs[item], lo, lo + rng.randint(0, 20), rng.randint(780, 1100),
                          point, (1_500.0, 3_500.0)))
    return out


def source_batch(jobs: list[tuple[int, list[Offer]]]) -> list[tuple[int, str]]:
    out = []
    for total, offers in jobs:
        plan = source(total, offers, STEP)
        out.append((total, "ok" if isinstance(plan, Sourcing) else plan.code))
    return out


def run(args, places, offers, seed: int) -> dict:  # noqa: ANN001
    intents = make_intents(args.intents, places, seed)
    book = PoolBook(opener_for(offers))
    refused = 0
    t0 = time.perf_counter()
    for n, intent in enumerate(intents):
        try:
            book.place(intent, now=n * 1e-6)
        except PoolProblem:  # e.g. a price limit below every tier: the household is told, nothing opens
            refused += 1
    t1 = time.perf_counter()
    allocated, failed = [], 0
    for pool in book.due(CUTOFF):
        book.close(pool)
        if isinstance(pool.outcome, Allocation):
            allocated.append(pool)
        else:
            failed += 1
    t2 = time.perf_counter()
    jobs = [(p.outcome.total, offers[p.terms.spec.item_id]) for p in allocated]
    chunks = [jobs[i::args.workers] for i in range(args.workers)]
    with ProcessPoolExecutor(args.workers) as pool_exec:
        results = [r for part in pool_exec.map(source_batch, chunks) for r in part]
    t3 = time.perf_counter()
    sourced = sum(1 for _, status in results if status == "ok")
    conserved = all(sum(line.quantity for line in p.outcome.lines) == p.outcome.total for p in allocated)
    return {"ingest_s": t1 - t0, "close_s": t2 - t1, "source_s": t3 - t2, "total_s": t3 - t0,
            "pools": len(book.pools), "refused": refused, "allocated": len(allocated), "failed": failed, "sourced": sourced,
            "unsourced": len(results) - sourced, "conserved": conserved,
            "intents_per_s": args.intents / (t1 - t0)}


def http_joins(args) -> dict:  # noqa: ANN001
    """Households joining one buyer node over HTTP at a paced rate (wrk; every join committed)."""
    import shutil
    import tempfile
    from datetime import datetime, timedelta

    from protocol import paced

    from yuantou.devnet.localnet import LocalNetwork

    if not shutil.which("wrk"):
        return {"skipped": "wrk not installed (apt-get install wrk)"}
    root = Path(tempfile.mkdtemp(prefix="yt-pool-bench-"))
    net = LocalNetwork(root)
    try:
        net.start_directory()
        from yuantou.devnet.localnet import catalog_document

        net.add_node("orchard", ["producer"], catalog_document("orchard", "Orchard", [  # pools open only for
            ("apple", "Apples", "fruit", "kg", 9.0, 100_000)]))  # what a producer the organiser found lists
        buyer = net.add_node("organiser", ["buyer"])
        found = buyer.client().post("/search", json={"query": "apple"}).json()
        buyer.client().get(f"/messages/{found['message_id']}", params={"wait": 15})
        now = datetime.now(UTC)
        iso = lambda d: d.isoformat()  # noqa: E731
        points = [f"point-{i}" for i in range(20)]
        for point in points:
            resp = buyer.client().post("/pools", json={
                "item_id": "apple", "pickup_points": [point], "window_start": iso(now + timedelta(days=1)),
                "window_end": iso(now + timedelta(days=1, hours=8)), "cutoff": iso(now + timedelta(hours=6)),
                "bulk_unit": "10", "moq": "50", "tiers": [{"min_quantity": "0", "price": "9"}]})
            resp.raise_for_status()
        rng = random.Random(3)
        lines = []
        for n in range(int(args.join_rate * args.repeats * (args.join_seconds + 3) * 1.3) + 500):
            lo = rng.randint(1, 5)
            body = json.dumps({"household": f"h{n}", "item_id": "apple", "min_quantity": str(lo),
                               "max_quantity": str(lo + rng.randint(0, 10)), "max_price": "10",
                               "pickup_point": rng.choice(points), "window_start": iso(now),
                               "window_end": iso(now + timedelta(days=3))})
            lines.append(f"Bearer {buyer.token}\t" + body)
        requests_file = root / "joins.tsv"
        requests_file.write_text("\n".join(lines) + "\n")
        connections = 16
        runs, skip = [], 0
        for _ in range(args.repeats):
            run = paced(buyer.url, "/api/intents", requests_file, args.join_seconds, connections, args.join_rate,
                        skip=skip, ok_marker='"pool_id"')
            skip += run["probe"]["requests"] + run["requests"] + 2 * connections
            runs.append(run)
        probes = [r["probe"] for r in runs]
        stored = sum(p["households"] for p in buyer.client(timeout=60).get("/pools").json())
        return {"offered_rate": args.join_rate, "connections": connections,
                "rate": statistics.median(r["rate"] for r in runs), "p50_ms": statistics.median(r["p50_ms"] for r in runs),
                "p99_ms": statistics.median(r["p99_ms"] for r in runs),
                "all_joined": all(r["not_acked"] == 0 and r["socket_errors"] == 0 for r in runs + probes),
                "joined": sum(r["requests"] for r in runs + probes), "stored_households": stored, "runs": runs}
    finally:
        net.stop()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--intents", type=int, default=1_000_000)
    parser.add_argument("--places", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for sourcing")
    parser.add_argument("--join-rate", type=float, default=1000, help="intents/s offered over HTTP")
    parser.add_argument("--join-seconds", type=float, default=10)
    parser.add_argument("--skip-bulk", action="store_true", help="only the HTTP joins")
    parser.add_argument("--skip-http", action="store_true", help="only the bulk ingest, close and sourcing")
    parser.add_argument("--smoke", action="store_true", help="2,000 intents once, 2 s of joins: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.intents, args.places, args.repeats, args.join_rate, args.join_seconds = 2000, 50, 1, 100, 2
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "settings": vars(args)}
    if not args.skip_bulk:
        places, offers = market(args.places, seed=7)
        runs = [run(args, places, offers, seed=100 + r) for r in range(args.repeats)]
        median = {k: statistics.median(r[k] for r in runs) for k in ("ingest_s", "close_s", "source_s", "total_s",
                                                                      "intents_per_s")}
        results |= {"median": median, "runs": runs}
        print(f"{args.intents:,} intents over {args.places:,} places, {args.repeats} runs (medians):")
        print(f"  ingest {median['ingest_s']:.2f} s ({median['intents_per_s']:,.0f} intents/s), "
              f"close {median['close_s']:.2f} s, source {median['source_s']:.2f} s, total {median['total_s']:.2f} s")
        last = runs[-1]
        print(f"  intents refused at joining {last['refused']:,}; pools {last['pools']:,}: allocated "
              f"{last['allocated']:,}, failed {last['failed']:,}; sourced {last['sourced']:,}, not sourceable "
              f"{last['unsourced']:,}; conserved: {last['conserved']}")
    joins = results["http_joins"] = {"skipped": "--skip-http"} if args.skip_http else http_joins(args)
    if "skipped" in joins:
        print(f"HTTP joins: skipped, {joins['skipped']}")
    else:
        print(f"HTTP joins offered {joins['offered_rate']:.0f}/s: served {joins['rate']:.0f}/s, p50 {joins['p50_ms']:.1f} ms, "
              f"p99 {joins['p99_ms']:.1f} ms; all joined: {joins['all_joined']}, {joins['joined']:,} answered, "
              f"{joins['stored_households']:,} households stored")
    from protocol import write_results

    write_results("pooling", results)


if __name__ == "__main__":
    main()
