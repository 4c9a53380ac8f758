"""Signed ``confirm`` requests per second that one producer node ACKs after storing durably.

    python bench/protocol.py [--requests 3000] [--concurrency 32] [--repeats 3] [--pg URL]

Prints, for SQLite and (if reachable) PostgreSQL, the ACK rate and p50/p99 latency,
beside two ceilings measured in the same run: a bare uvicorn endpoint answering a
constant, and the raw Ed25519-verify + BLAKE2b rate. Medians of ``--repeats`` runs.
Writes ``bench/results/protocol.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from yuantou.localnet import CITY, DOMAIN, LocalNetwork, catalog_document, free_port  # noqa: E402
from yuantou.protocol.envelope import dumps, now_iso  # noqa: E402
from yuantou.protocol.keys import KeyPair  # noqa: E402
from yuantou.protocol.signing import body_digest, parse_signature_header, sign, signing_string  # noqa: E402

HERE = Path(__file__).resolve().parent


def confirm_body(bap_id: str, bap_uri: str, bpp, provider_id: str, item_id: str, window: str) -> bytes:  # noqa: ANN001
    return dumps({
        "context": {"domain": DOMAIN, "location": {"city": {"code": CITY}, "country": {"code": "CHN"}},
                    "action": "confirm", "version": "1.1.0", "bap_id": bap_id, "bap_uri": bap_uri,
                    "bpp_id": bpp.subscriber_id, "bpp_uri": bpp.url + "/beckn", "transaction_id": str(uuid.uuid4()),
                    "message_id": str(uuid.uuid4()), "timestamp": now_iso(), "ttl": "PT5M"},
        "message": {"order": {"provider": {"id": provider_id}, "items": [
            {"id": item_id, "quantity": {"selected": {"count": 1}}, "fulfillment_ids": [window]}]}},
    })


async def load(url: str, requests: list[tuple[bytes, str]], concurrency: int) -> dict:
    latencies: list[float] = []
    acks = 0
    queue = list(reversed(requests))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        async def worker() -> None:
            nonlocal acks
            while queue:
                body, auth = queue.pop()
                t0 = time.perf_counter()
                resp = await http.post(url, content=body, headers={"Content-Type": "application/json", "Authorization": auth})
                latencies.append(time.perf_counter() - t0)
                if resp.status_code == 200 and b'"ACK"' in resp.content:
                    acks += 1
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"requests": len(requests), "acked": acks, "seconds": elapsed, "rate": len(requests) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2], "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1]}


def crypto_rate(body: bytes, keys: KeyPair, seconds: float = 2.0) -> float:
    header = parse_signature_header(sign(body, keys.signing, "b", "k"))
    public = keys.signing.public_key()
    import base64
    sig = base64.b64decode(header.signature)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        public.verify(sig, signing_string(header.created, header.expires, body_digest(body)).encode())
        n += 1
    return n / (time.perf_counter() - start)


def median_run(runs: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in runs) for k in ("rate", "p50_ms", "p99_ms")}
    out["acked_all"] = all(r["acked"] == r["requests"] for r in runs)
    out["runs"] = runs
    return out


def bench_backend(database: str, args, sink_url: str) -> dict:  # noqa: ANN001
    root = Path(tempfile.mkdtemp(prefix="yt-bench-"))
    net = LocalNetwork(root, database=database)
    peer_keys = KeyPair.generate()
    try:
        net.start_directory()
        catalog = catalog_document("orchard", "Bench Orchard", [("apple", "Apples", "fruit", "kg", 8.5, 10**9)])
        producer = net.add_node("orchard", ["producer"], catalog)
        net.register("bench-buyer", sink_url, ["BAP"], peer_keys, "b1")
        window = catalog["items"][0]["windows"][0]["id"]
        runs = []
        for _ in range(args.repeats):
            reqs = []
            for _ in range(args.requests):
                body = confirm_body("bench-buyer", sink_url, producer, "orchard-provider", "apple", window)
                reqs.append((body, sign(body, peer_keys.signing, "bench-buyer", "b1", validity_seconds=600)))
            runs.append(asyncio.run(load(producer.url + "/beckn/confirm", reqs, args.concurrency)))
        return median_run(runs)
    finally:
        net.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("YUANTOU_TEST_PG", "postgresql://yuantou:yuantou@127.0.0.1:5432"))
    args = parser.parse_args()

    port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(HERE), "--port", str(port),
                             "--log-level", "warning"], start_new_session=True)
    sink_url = f"http://127.0.0.1:{port}/beckn"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        keys = KeyPair.generate()
        sample = confirm_body("b", sink_url, type("P", (), {"subscriber_id": "p", "url": "http://x"}), "p", "i", "w")
        bare_runs = []
        for _ in range(args.repeats):
            reqs = [(sample, sign(sample, keys.signing, "b", "k")) for _ in range(args.requests)]
            bare_runs.append(asyncio.run(load(sink_url + "/confirm", reqs, args.concurrency)))
        results = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "settings": vars(args) | {"pg": "(url given)"},
            "bare_uvicorn": median_run(bare_runs),
            "crypto_verify_per_s": crypto_rate(sample, keys),
            "sqlite": bench_backend("sqlite", args, sink_url),
        }
        try:
            import psycopg
            psycopg.connect(args.pg.rstrip("/") + "/postgres").close()
            results["postgresql"] = bench_backend(args.pg, args, sink_url)
        except Exception as exc:  # noqa: BLE001
            results["postgresql"] = {"skipped": f"PostgreSQL not reachable: {exc}"}
    finally:
        bare.terminate()
    ceiling = results["bare_uvicorn"]["rate"]
    print(f"{'':28s}{'req/s':>10s}{'× bare':>8s}{'p50 ms':>9s}{'p99 ms':>9s}")
    print(f"{'bare uvicorn (constant)':28s}{ceiling:10.0f}{1:8.2f}{results['bare_uvicorn']['p50_ms']:9.1f}{results['bare_uvicorn']['p99_ms']:9.1f}")
    print(f"{'Ed25519 verify + BLAKE2b':28s}{results['crypto_verify_per_s']:10.0f}")
    for backend in ("sqlite", "postgresql"):
        r = results[backend]
        if "rate" in r:
            r["ratio_to_bare"] = r["rate"] / ceiling
            print(f"{'confirm ACK, ' + backend:28s}{r['rate']:10.0f}{r['ratio_to_bare']:8.2f}{r['p50_ms']:9.1f}{r['p99_ms']:9.1f}"
                  f"  all ACKed: {r['acked_all']}")
        else:
            print(f"{'confirm ACK, ' + backend:28s} {r['skipped']}")
    out = HERE / "results" / "protocol.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
