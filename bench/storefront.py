"""The storefront in the last minute before a cut-off: households joining through its own pages' endpoints, and
how soon every other open page shows the new total.

    python bench/storefront.py [--households 500] [--minute 60] [--listeners 200] [--concurrency 50] [--repeats 3]
                               [--smoke]

A real organiser's node and a real producer on 127.0.0.1 (separate processes, SQLite, every join committed
before its answer). ``--households`` register at ``/shop/register`` beforehand (each with its own cookies and
form token, as a phone would). Each repeat opens two fresh pools and measures:

- **The last minute before a cut-off.** Every household joins through ``POST /shop/join`` once, arriving in the
  last ``--minute`` seconds at a rate that rises toward the cut-off (arrival density proportional to time: the
  last seconds see twice the average rate), each on its own new connection, as phones do. ``--listeners`` of
  them keep the pool's page open, i.e. its live stream (``/shop/live``, Server-Sent Events). Measured: each
  join's latency, connect to answer (p50, p99; goal p99 < 100 ms), and for every join the delay from its answer
  until the last open page received a total that includes it (the households count its live block shows;
  goal: within 2 s).
- **Saturation.** The same households join a second pool all at once, ``--concurrency`` kept-alive
  connections sending one join after another: joins per second the node sustains.

Medians of ``--repeats``; writes ``bench/results/storefront.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx

from yuantou.devnet.localnet import LocalNetwork, Proc, catalog_document, window_times

HERE = Path(__file__).resolve().parent
APPLE = "apple-fuji-a"
POINT = "gate-3"
COUNT = re.compile(r"Households joined: (\d+)")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def start_network(root: Path, households: int) -> tuple[LocalNetwork, Proc]:
    net = LocalNetwork(root)
    net.start_directory()
    catalog = catalog_document("orchard", "Hillside Orchard", [(APPLE, "Fuji apples", "fruit", "kg", 9.0, 100_000)])
    catalog["items"][0].update(grade="A", bulk_unit="5", tiers=[{"min_quantity": "200", "price": "8.5"}])
    started = [net.add_node("orchard", ["producer"], catalog, wait=False),
               net.add_node("organiser", ["buyer"], wait=False, extra={
                   "time_zone": "Asia/Shanghai", "storefront_registrations_per_minute": households + 10})]
    net.wait_started(started)
    organiser = net.buyers["organiser"]
    api = organiser.client(timeout=20)
    sent = api.post("/search", json={"query": ""}).json()
    assert api.get(f"/messages/{sent['message_id']}", params={"wait": 15}).json(), "the producer never answered"
    return net, organiser


def open_pool(organiser: Proc, cutoff_in: float) -> str:
    day = datetime.fromisoformat(window_times(1)[0].replace("Z", "+00:00"))
    answer = organiser.client(timeout=20).post("/pools", json={
        "item_id": APPLE, "pickup_points": [POINT], "window_start": iso(day + timedelta(hours=2)),
        "window_end": iso(day + timedelta(hours=6)), "cutoff": iso(datetime.now(UTC) + timedelta(seconds=cutoff_in)),
        "unit": "kg", "step": "0.5", "bulk_unit": "5",
        "tiers": [{"min_quantity": "0", "price": "9.00"}, {"min_quantity": "200", "price": "8.50"}]})
    answer.raise_for_status()
    return str(answer.json()["pool_id"])


class Household:
    def __init__(self, base: str, limits: httpx.Limits) -> None:
        self.base = base
        self.http = httpx.AsyncClient(base_url=base, timeout=60, limits=limits,
                                      headers={"Origin": base, "Accept-Language": "en"})
        self.token = ""

    def join_request(self, pool_id: str) -> bytes:
        """The bytes a phone's browser sends to join: its cookie, the page's Origin and form token."""
        body = urlencode({"pool_id": pool_id, "pickup_point": POINT, "quantity": "2", "back": "/shop",
                          "csrf": self.token}).encode()
        cookie = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        host = self.base.removeprefix("http://")
        return (f"POST /shop/join HTTP/1.1\r\nHost: {host}\r\nOrigin: {self.base}\r\nCookie: {cookie}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body

    async def register(self, n: int) -> None:
        answer = await self.http.post("/shop/register", data={"name": f"Flat {n}", "phone": f"1380000{n:04d}",
                                                               "next": "/shop"})
        assert answer.status_code == 303, answer.text[:300]
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await self.http.get("/shop/orders")).text)
        assert found, "no form token after registering"
        self.token = found.group(1)



class Connection:
    """One kept-alive HTTP/1.1 connection of the load generator: requests written as bytes, answers read to their
    end (a Python HTTP client would spend more time per request than the node does)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, base: str) -> Connection:
        host, port = base.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """The answer's status and head (its body is read and dropped)."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        if length:
            await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1]), head


async def join_all(base: str, requests: list[bytes], concurrency: int) -> list[tuple[float, float]]:
    """Every request once, ``concurrency`` connections each sending one after another: (took, answered at)."""
    queue = list(reversed(requests))
    answered: list[tuple[float, float]] = []

    async def worker() -> None:
        connection = await Connection.open(base)
        while queue:
            request = queue.pop()
            began = time.perf_counter()
            status, head = await connection.send(request)
            done = time.perf_counter()
            assert status == 303 and b"done=joined" in head, head[:400]
            answered.append((done - began, done))
        connection.writer.close()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answered


async def listen(base: str, pool_id: str, seen: list[tuple[float, int]], ready: asyncio.Event) -> None:
    """One open page's live stream: the time each new households count arrived (until cancelled)."""
    async with httpx.AsyncClient(base_url=base, timeout=None) as http, \
            http.stream("GET", "/shop/live", params={"pool": pool_id}, headers={"Accept-Language": "en"}) as stream:
        ready.set()
        async for line in stream.aiter_lines():
            if line.startswith("data: "):
                found = COUNT.search(json.loads(line[6:])["html"])
                if found:
                    seen.append((time.perf_counter(), int(found.group(1))))


async def arrive(base: str, requests: list[bytes], minute: float) -> list[tuple[float, float]]:
    """Each request once, at its own moment in the last ``minute`` seconds (density rising toward the end), each
    on a new connection: (took, answered at)."""
    rng = random.Random(len(requests))
    moments = sorted(minute * math.sqrt(rng.random()) for _ in requests)
    start = time.perf_counter()
    answered: list[tuple[float, float]] = []

    async def one(at: float, request: bytes) -> None:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        began = time.perf_counter()
        connection = await Connection.open(base)
        status, head = await connection.send(request)
        done = time.perf_counter()
        connection.writer.close()
        assert status == 303 and b"done=joined" in head, head[:400]
        answered.append((done - began, done))
    await asyncio.gather(*(one(at, r) for at, r in zip(moments, requests)))
    return answered


async def one_run(organiser: Proc, households: list[Household], listeners: int, concurrency: int,
                  minute: float) -> dict:
    pool_id = open_pool(organiser, cutoff_in=minute + 20)  # the households arrive in its last minute
    streams: list[list[tuple[float, int]]] = [[] for _ in range(listeners)]
    ready = [asyncio.Event() for _ in range(listeners)]
    tasks = [asyncio.create_task(listen(organiser.url, pool_id, seen, r)) for seen, r in zip(streams, ready)]
    await asyncio.gather(*(r.wait() for r in ready))
    await asyncio.sleep(0.5)  # every stream is past its first line

    answered = await arrive(organiser.url, [h.join_request(pool_id) for h in households], minute)
    final = len(households)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not all(s and s[-1][1] >= final for s in streams):
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    # the k-th answered join made the total at least k: each page shows it once it shows a count >= k
    answers = sorted(at for _, at in answered)
    delays = []
    for k, at in enumerate(answers, start=1):
        last_page = max(next((t for t, count in s if count >= k), float("inf")) for s in streams)
        delays.append(last_page - at)
    latencies = [took for took, _ in answered]

    burst_pool = open_pool(organiser, cutoff_in=600)
    began = time.perf_counter()
    await join_all(organiser.url, [h.join_request(burst_pool) for h in households], concurrency)
    elapsed = time.perf_counter() - began
    return {"pool_id": pool_id, "joins": final, "saturated_joins_per_second": final / elapsed,
            "join_p50_ms": 1000 * percentile(latencies, 0.50), "join_p99_ms": 1000 * percentile(latencies, 0.99),
            "join_max_ms": 1000 * max(latencies),
            "pages_updated_p50_ms": 1000 * percentile(delays, 0.50),
            "pages_updated_p99_ms": 1000 * percentile(delays, 0.99), "pages_updated_max_ms": 1000 * max(delays),
            "pages_never_updated": sum(1 for s in streams if not s or s[-1][1] < final)}


async def measure(organiser: Proc, households_count: int, listeners: int, concurrency: int, repeats: int,
                  minute: float) -> list[dict]:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    households = [Household(organiser.url, limits) for _ in range(households_count)]
    for start in range(0, households_count, 50):
        await asyncio.gather(*(h.register(n) for n, h in enumerate(households[start:start + 50], start=start)))
    runs = []
    for repeat in range(repeats):
        run = await one_run(organiser, households, listeners, concurrency, minute)
        print(f"  run {repeat + 1}: last minute: join p50 {run['join_p50_ms']:.1f} ms, p99 {run['join_p99_ms']:.1f} ms; "
              f"pages updated p99 {run['pages_updated_p99_ms']:.0f} ms, max {run['pages_updated_max_ms']:.0f} ms; "
              f"saturated: {run['saturated_joins_per_second']:.0f} joins/s", flush=True)
        runs.append(run)
    await asyncio.gather(*(h.http.aclose() for h in households))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=500)
    parser.add_argument("--minute", type=float, default=60.0, help="seconds over which the households arrive")
    parser.add_argument("--listeners", type=int, default=200, help="open pages, each with its live stream")
    parser.add_argument("--concurrency", type=int, default=50, help="joins in flight at once")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="a few seconds of each measurement; nothing written")
    args = parser.parse_args()
    if args.smoke:
        args.households, args.listeners, args.concurrency, args.repeats, args.minute = 30, 10, 10, 1, 3.0
    root = Path(tempfile.mkdtemp(prefix="storefront-bench-"))
    net, organiser = start_network(root, args.households)
    try:
        print(f"storefront: {args.households} households join one pool in the last {args.minute:.0f} s before its "
              f"cut-off, {args.listeners} pages open; then all at once ({args.concurrency} connections)", flush=True)
        runs = asyncio.run(measure(organiser, args.households, args.listeners, args.concurrency, args.repeats,
                                   args.minute))
    finally:
        net.stop()
    keys = [k for k in runs[0] if k != "pool_id"]
    median = {k: statistics.median(r[k] for r in runs) for k in keys}
    print(f"median of {len(runs)}: join p50 {median['join_p50_ms']:.1f} ms, p99 {median['join_p99_ms']:.1f} ms "
          f"(goal < 100 ms); every page updated within {median['pages_updated_max_ms']:.0f} ms "
          f"(p99 {median['pages_updated_p99_ms']:.0f} ms; goal <= 2000 ms); "
          f"saturated: {median['saturated_joins_per_second']:.0f} joins/s")
    assert all(r["pages_never_updated"] == 0 for r in runs), "a page never showed the final total"
    if args.smoke:
        return
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "storefront.json").write_text(json.dumps({
        "benchmark": "storefront", "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.system()},
        "households": args.households, "listeners": args.listeners, "concurrency": args.concurrency,
        "median": median, "runs": runs}, indent=2))
    print(f"wrote {HERE / 'results' / 'storefront.json'}")


if __name__ == "__main__":
    sys.exit(main())
