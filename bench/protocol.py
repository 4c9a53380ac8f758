"""Signed ``confirm`` requests per second that one producer node ACKs after storing durably.

    python bench/protocol.py [--seconds 10] [--connections 32] [--repeats 3] [--pg URL]

The load generator is ``wrk`` (C, one thread, so it takes little of the two cores)
replaying pre-signed requests, each sent once. For the bare ceiling, SQLite and
PostgreSQL it measures:

* saturation: requests/s with ``--connections`` keeping a request always in flight;
* at load: p50/p99 latency when offered half the bare ceiling's rate (the goal is
  ≥ 0.5 × bare with p99 < 50 ms at that load);
* for the node, that every ACKed request is in its inbox and how long after the
  run it had answered every one of them (its callbacks go to the bare endpoint).

Also measures the raw Ed25519-verify + BLAKE2b rate. Medians of ``--repeats``.
Writes ``bench/results/protocol.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import func, select

from yuantou.devnet.localnet import CITY, DOMAIN, LocalNetwork, catalog_document, free_port
from yuantou.protocol.envelope import dumps, now_iso
from yuantou.protocol.keys import KeyPair
from yuantou.protocol.signing import body_digest, parse_signature_header, sign, signing_string
from yuantou.store.db import Database
from yuantou.store.tables import inbox

HERE = Path(__file__).resolve().parent
LUA = HERE / "signed_requests.lua"


def confirm_body(bap_id: str, bap_uri: str, bpp_id: str, bpp_uri: str, item_id: str, window: str) -> bytes:
    return dumps({
        "context": {"domain": DOMAIN, "location": {"city": {"code": CITY}, "country": {"code": "CHN"}},
                    "action": "confirm", "version": "1.1.0", "bap_id": bap_id, "bap_uri": bap_uri,
                    "bpp_id": bpp_id, "bpp_uri": bpp_uri, "transaction_id": str(uuid.uuid4()),
                    "message_id": str(uuid.uuid4()), "timestamp": now_iso(), "ttl": "PT5M"},
        "message": {"order": {"provider": {"id": "orchard-provider"}, "items": [
            {"id": item_id, "quantity": {"selected": {"count": 1}}, "fulfillment_ids": [window]}]}},
    })


def write_requests(path: Path, count: int, make_body, keys: KeyPair, subscriber_id: str, key_id: str) -> Path:  # noqa: ANN001
    """``count`` distinct signed requests, one per line: Authorization TAB body."""
    with path.open("wb") as out:
        for _ in range(count):
            body = make_body()
            out.write(sign(body, keys.signing, subscriber_id, key_id, validity_seconds=3600).encode() + b"\t" + body + b"\n")
    return path


def run_wrk(base_url: str, path: str, requests_file: Path, seconds: float, connections: int, gap_ms: float = 0,
            skip: int = 0, ok_marker: str = '"ACK"') -> dict:
    environment = os.environ | {"YT_REQUESTS": str(requests_file), "YT_PATH": path, "YT_GAP_MS": f"{gap_ms:.3f}",
                                "YT_SKIP": str(skip), "YT_OK": ok_marker}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(LUA), base_url]
    out = subprocess.run(cmd, env=environment, capture_output=True, text=True, check=True).stdout
    line = next(row for row in out.splitlines() if row.startswith("YT-RESULT "))
    result = json.loads(line.removeprefix("YT-RESULT "))
    result["rate"] = result["requests"] / result["seconds"]
    return result


def paced(base_url: str, path: str, requests_file: Path, seconds: float, connections: int, target: float,
          skip: int = 0, ok_marker: str = '"ACK"') -> dict:
    """Offer ``target`` requests/s: each connection waits so that its cycle is connections/target.
    A 2 s probe measures the latency to subtract; the measured run starts after what it sent."""
    cycle_ms = 1000 * connections / target
    probe = run_wrk(base_url, path, requests_file, 2, connections, cycle_ms, skip=skip, ok_marker=ok_marker)
    gap = max(0.0, cycle_ms - probe["p50_ms"])
    # skip what the probe sent (plus what it may have had in flight) so nothing is re-sent
    result = run_wrk(base_url, path, requests_file, seconds, connections, gap,
                     skip=skip + probe["requests"] + connections, ok_marker=ok_marker)
    return result | {"offered_rate": target, "probe": probe}


SMOKE = "--smoke" in sys.argv  # a short run to show the benchmark still runs: its figures are not kept


def write_results(name: str, results: dict, quiet: bool = False) -> None:
    if SMOKE:
        print(f"smoke run: bench/results/{name}.json left as it was")
        return
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    if not quiet:
        print(f"written to {out}")


def crypto_rate(body: bytes, keys: KeyPair, seconds: float = 2.0) -> float:
    header = parse_signature_header(sign(body, keys.signing, "b", "k"))
    public = keys.signing.public_key()
    signature = base64.b64decode(header.signature)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        public.verify(signature, signing_string(header.created, header.expires, body_digest(body)).encode())
        n += 1
    return n / (time.perf_counter() - start)


def median_of(runs: list[dict]) -> dict:
    keys = ("rate", "p50_ms", "p99_ms")
    return {k: statistics.median(r[k] for r in runs) for k in keys} | {"runs": runs}


def wait_answered(db_url: str, timeout: float = 300) -> tuple[int, int, float]:
    """(rows stored, rows processed, seconds until all were processed or timeout)."""
    db = Database(db_url)
    start = time.monotonic()
    try:
        while True:
            stored, done = db.transaction(lambda c: (
                c.execute(select(func.count()).select_from(inbox)).scalar_one(),
                c.execute(select(func.count()).select_from(inbox).where(inbox.c.processed_at.is_not(None))).scalar_one()))
            waited = time.monotonic() - start
            if done >= stored or waited > timeout:
                return stored, done, waited
            time.sleep(0.2)
    finally:
        db.close()


def bench_node(database: str, workers: int, args, sink_url: str, bare_rate: float, workdir: Path,  # noqa: ANN001
               extra: dict | None = None, peer: KeyPair | None = None) -> dict:
    """``peer``: the buyer's keys (the callback sink's, if it counter-signs); ``extra``: more node settings."""
    root = Path(tempfile.mkdtemp(prefix="yt-bench-"))
    net = LocalNetwork(root, database=database)
    peer = peer or KeyPair.generate()
    try:
        net.start_directory()
        catalog = catalog_document("orchard", "Bench Orchard", [("apple", "Apples", "fruit", "kg", 8.5, 10**9)])
        producer = net.add_node("orchard", ["producer"], catalog, extra={"workers": workers} | (extra or {}))
        net.register("bench-buyer", sink_url, ["BAP"], peer, "b1")
        window = catalog["items"][0]["windows"][0]["id"]

        def requests_for(seconds: float, rate: float) -> Path:
            """Enough distinct signed confirms that wrk never re-sends one at ``rate``."""
            return write_requests(workdir / "node.tsv", int(rate * seconds * 1.3) + 500, lambda: confirm_body(
                "bench-buyer", sink_url, producer.subscriber_id, producer.url + "/beckn", "apple", window),
                peer, "bench-buyer", "b1")

        # a short probe sizes the request files (signing one per bare-ceiling request would take minutes)
        probe = run_wrk(producer.url, "/beckn/confirm", requests_for(2, min(bare_rate, 5000)), 2, args.connections)
        wait_answered(producer.db_url)
        expected_rate = 2 * probe["rate"] + 100
        runs, loaded = [], []
        for _ in range(args.repeats):
            run = run_wrk(producer.url, "/beckn/confirm", requests_for(args.seconds, expected_rate),
                          args.seconds, args.connections)
            stored, answered, drain = wait_answered(producer.db_url)
            runs.append(run | {"answered_all_after_s": drain})
            # at load: half the bare ceiling, or 80 % of what this node just sustained if that is less
            target = min(0.5 * bare_rate, 0.8 * run["rate"])
            loaded.append(paced(producer.url, "/beckn/confirm", requests_for(args.seconds + 3, target),
                                args.seconds, args.connections, target))
            wait_answered(producer.db_url)
        stored, answered, _ = wait_answered(producer.db_url)
        everything = runs + loaded
        probes = [probe] + [r["probe"] for r in loaded]
        return {
            "workers": workers,
            "saturated": median_of(runs),
            "at_load": median_of(loaded) | {"offered_rate": statistics.median(r["offered_rate"] for r in loaded)},
            "acked_all": all(r["not_acked"] == 0 and r["socket_errors"] == 0 for r in everything),
            "none_resent": all(r["wrapped"] == 0 for r in everything + probes),
            "acked": sum(r["requests"] - r["not_acked"] for r in everything + probes),
            "stored_rows": stored, "answered_rows": answered,
        }
    finally:
        net.stop()
        shutil.rmtree(root, ignore_errors=True)


def start_bare(port: int, app: str = "bare_app:app", env: dict | None = None) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--app-dir", str(HERE), "--port", str(port),
                                "--log-level", "warning", "--no-access-log"], start_new_session=True,
                               env=os.environ | (env or {}))
    for _ in range(100):
        try:
            httpx.post(f"http://127.0.0.1:{port}/beckn/ping")
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{app} did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, action="append", help="node worker processes (repeatable; default 1 and 2)")
    parser.add_argument("--pg", default=os.environ.get("YUANTOU_TEST_PG", "postgresql://yuantou:yuantou@127.0.0.1:5432"))
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="bench one backend only")
    parser.add_argument("--smoke", action="store_true", help="1 s, once, SQLite, one worker: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.repeats, args.only, args.workers = 1, 1, "sqlite", [1]
    if not shutil.which("wrk"):
        sys.exit("bench/protocol.py needs wrk: apt-get install wrk")

    workdir = Path(tempfile.mkdtemp(prefix="yt-bench-req-"))
    keys = KeyPair.generate()
    results: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]},
        "settings": {"seconds": args.seconds, "connections": args.connections, "repeats": args.repeats},
    }
    port = free_port()
    fastapi = start_bare(port, "bare_app:fastapi_app")
    try:
        url = f"http://127.0.0.1:{port}"
        sample = confirm_body("b", url + "/beckn", "p", "http://x", "i", "w")
        requests_file = write_requests(workdir / "bare.tsv", 2000, lambda: sample, keys, "b", "k")
        results["fastapi_constant"] = {"saturated": median_of([
            run_wrk(url, "/beckn/confirm", requests_file, args.seconds, args.connections) for _ in range(args.repeats)])}
    finally:
        os.killpg(fastapi.pid, 15)
        fastapi.wait(30)
    port = free_port()
    bare = start_bare(port)
    base = f"http://127.0.0.1:{port}"
    try:
        bare_runs = [run_wrk(base, "/beckn/confirm", requests_file, args.seconds, args.connections) for _ in range(args.repeats)]
        bare_rate = statistics.median(r["rate"] for r in bare_runs)
        results["bare_uvicorn"] = {"saturated": median_of(bare_runs)}
        results["crypto_verify_per_s"] = crypto_rate(sample, keys)
        backends = {"sqlite": "sqlite", "postgresql": args.pg}
        for name, database in backends.items():
            if args.only and args.only != name:
                continue
            if name == "postgresql" and (problem := pg_unreachable(args.pg)):
                results[name] = {"skipped": f"PostgreSQL not reachable: {problem}"}
                continue
            results[name] = [bench_node(database, w, args, base + "/beckn", bare_rate, workdir)
                             for w in args.workers or [1, 2]]
    finally:
        os.killpg(bare.pid, 15)
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)


def pg_unreachable(url: str) -> str | None:
    try:
        import psycopg

        psycopg.connect(url.rstrip("/") + "/postgres").close()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc)


def report(results: dict) -> None:
    ceiling = results["bare_uvicorn"]["saturated"]["rate"]
    print(f"{'':30s}{'saturated':>10s}{'× bare':>8s}{'p50 ms':>8s}{'p99 ms':>8s}   "
          f"{'at load: req/s':>14s}{'p50 ms':>8s}{'p99 ms':>8s}")

    def row(name: str, r: dict) -> None:
        s = r["saturated"]
        line = f"{name:30s}{s['rate']:10.0f}{s['rate'] / ceiling:8.3f}{s['p50_ms']:8.1f}{s['p99_ms']:8.1f}"
        if "at_load" in r:
            h = r["at_load"]
            line += f"   {h['rate']:14.0f}{h['p50_ms']:8.1f}{h['p99_ms']:8.1f}"
        print(line)

    row("bare uvicorn (raw ASGI)", results["bare_uvicorn"])
    row("FastAPI constant endpoint", results["fastapi_constant"])
    print(f"{'Ed25519 verify + BLAKE2b':30s}{results['crypto_verify_per_s']:10.0f}{results['crypto_verify_per_s'] / ceiling:8.3f}")
    for backend in ("sqlite", "postgresql"):
        if backend not in results:
            continue
        if "skipped" in results[backend]:
            print(f"{'confirm ACK, ' + backend:30s} {results[backend]['skipped']}")
            continue
        for r in results[backend]:
            r["ratio_to_bare"] = r["saturated"]["rate"] / ceiling
            r["goal_met"] = r["ratio_to_bare"] >= 0.5 and r["at_load"]["p99_ms"] < 50 and r["acked_all"]
            row(f"confirm ACK, {backend}, {r['workers']} worker{'s' if r['workers'] > 1 else ''}", r)
            drain = statistics.median(x["answered_all_after_s"] for x in r["saturated"]["runs"])
            print(f"{'':30s}all ACKed: {r['acked_all']}, none re-sent: {r['none_resent']}, ACKed {r['acked']}, "
                  f"stored {r['stored_rows']}, answered {r['answered_rows']} "
                  f"(all answered {drain:.1f} s after a saturated run); goal met: {r['goal_met']}")
    write_results("protocol", results)


if __name__ == "__main__":
    main()
