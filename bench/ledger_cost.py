"""What the ledger costs the protocol benchmark: the same producer node with its ledger on and off, in one go.

    python bench/ledger_cost.py [--seconds 8] [--connections 32] [--rounds 3] [--pg URL] [--only sqlite]

Each round runs ``bench/protocol.py``'s node benchmark twice, ledger on and ledger off, in
alternating order (so drift on this shared machine falls on both alike): signed ``confirm``
requests from ``wrk`` at saturation, then paced at 80 % of that. With the ledger on, every
request the node ACKs is appended with its receipt (signed) and the node's checkpoint on the
transaction (read back and signed), in the inbox's group commit; every ``on_confirm`` it sends is
appended with the sink's receipt and checkpoint, both verified on arrival. The callback sink
counter-signs in both runs, as a Yuantou buyer would. Reported: the median over rounds of the
on/off ratio of saturated ACKs/s, of the rate at which requests were fully answered (ACKed,
processed and called back), and the p99 at load. The goal (issue 5) is a cost ≤ 10 %.
Writes ``bench/results/ledger_cost.json``.
"""

from __future__ import annotations

import argparse
import base64
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parent))

from protocol import bench_node, pg_unreachable, start_bare, write_results  # noqa: E402

from yuantou.devnet.localnet import free_port  # noqa: E402
from yuantou.protocol.keys import KeyPair  # noqa: E402


def answered_rate(result: dict, seconds: float) -> float:
    """Requests fully answered per second in a saturated run: ACKed, then processed and called back."""
    run = result["saturated"]["runs"][0]
    return run["requests"] / (run["seconds"] + run["answered_all_after_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("YUANTOU_TEST_PG", "postgresql://yuantou:yuantou@127.0.0.1:5432"))
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--smoke", action="store_true", help="1 s, one round, SQLite: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.rounds, args.only = 1, 1, "sqlite"
    if not shutil.which("wrk"):
        sys.exit("bench/ledger_cost.py needs wrk: apt-get install wrk")
    node_args = argparse.Namespace(seconds=args.seconds, connections=args.connections, repeats=1)

    peer = KeyPair.generate()
    seed = peer.signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                      serialization.NoEncryption())
    port = free_port()
    sink = start_bare(port, "bare_app:countersigning_app", {
        "YT_SINK_ID": "bench-buyer", "YT_SINK_KEY_ID": "b1", "YT_SINK_SEED": base64.b64encode(seed).decode()})
    sink_url = f"http://127.0.0.1:{port}/beckn"
    workdir = Path(tempfile.mkdtemp(prefix="yt-ledger-cost-"))
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                     "settings": vars(args)}
    try:
        for backend, database in {"sqlite": "sqlite", "postgresql": args.pg}.items():
            if args.only and args.only != backend:
                continue
            if backend == "postgresql" and (problem := pg_unreachable(args.pg)):
                results[backend] = {"skipped": f"PostgreSQL not reachable: {problem}"}
                print(f"{backend}: skipped ({problem})")
                continue
            rounds = []
            for r in range(args.rounds):
                pair = {}
                for ledger in ((True, False) if r % 2 == 0 else (False, True)):
                    # the paced run offers 80 % of what the node just sustained (a very high bare rate caps nothing)
                    pair["on" if ledger else "off"] = bench_node(database, 1, node_args, sink_url, 10**9, workdir,
                                                                 extra={"ledger": ledger}, peer=peer)
                on, off = pair["on"], pair["off"]
                row = {
                    "saturated_on": on["saturated"]["rate"], "saturated_off": off["saturated"]["rate"],
                    "answered_on": answered_rate(on, args.seconds), "answered_off": answered_rate(off, args.seconds),
                    "p99_at_load_on": on["at_load"]["p99_ms"], "p99_at_load_off": off["at_load"]["p99_ms"],
                    "all_acked": on["acked_all"] and off["acked_all"],
                    "stored_on": on["stored_rows"], "answered_rows_on": on["answered_rows"],
                }
                row["saturated_ratio"] = row["saturated_on"] / row["saturated_off"]
                row["answered_ratio"] = row["answered_on"] / row["answered_off"]
                rounds.append(row | {"runs": pair})
                print(f"{backend} round {r + 1}: saturated {row['saturated_on']:.0f} vs {row['saturated_off']:.0f} "
                      f"ACK/s ({row['saturated_ratio']:.3f}); answered {row['answered_on']:.0f} vs "
                      f"{row['answered_off']:.0f} /s ({row['answered_ratio']:.3f}); p99 at load "
                      f"{row['p99_at_load_on']:.0f} vs {row['p99_at_load_off']:.0f} ms")
            summary = {k: statistics.median(x[k] for x in rounds) for k in (
                "saturated_on", "saturated_off", "saturated_ratio", "answered_on", "answered_off", "answered_ratio",
                "p99_at_load_on", "p99_at_load_off")}
            summary["cost_saturated"] = 1 - summary["saturated_ratio"]
            summary["cost_answered"] = 1 - summary["answered_ratio"]
            summary["goal_met"] = summary["cost_saturated"] <= 0.10 and summary["cost_answered"] <= 0.10
            results[backend] = summary | {"rounds": rounds}
            print(f"{backend}: ledger costs {100 * summary['cost_saturated']:.1f} % of saturated ACKs/s and "
                  f"{100 * summary['cost_answered']:.1f} % of fully answered requests/s (medians of "
                  f"{args.rounds} rounds); goal ≤ 10 % met: {summary['goal_met']}")
    finally:
        os.killpg(sink.pid, 15)
        shutil.rmtree(workdir, ignore_errors=True)
    write_results("ledger_cost", results)


if __name__ == "__main__":
    main()
