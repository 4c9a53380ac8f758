"""``yuantou ledger verify`` on a node whose ledger holds N entries (default 1,000,000).

    python bench/ledger_verify.py [--entries 1000000] [--peers 50] [--repeats 3] [--keep DIR]

Builds the ledger of one producer node trading with ``--peers`` buyers: transactions of
eight messages (select … on_status), alternately received and sent, real Beckn-shaped bodies,
every message signed by its sender and counter-signed by its receiver (one in twenty left
one-sided, as from a plain Beckn peer), and each buyer's signed checkpoint on every transaction.
Generating it signs 2 N messages, spread over the cores. The keys are registered in a real
directory on loopback; then the real command runs (a subprocess, keys looked up over HTTP, the
store read by worker processes) and its wall time is reported, median of ``--repeats``.

Beside it, in the same run: the libsodium Ed25519 verifications and signings per second one core
does here, and from them the floor for this chain — its signatures alone, spread over the cores
(the node's own signatures, one an entry, are checked by signing again). The goal
(issue 5) is < 60 s for 1,000,000 entries on 2 cores. Writes ``bench/results/ledger_verify.json``.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from protocol import write_results  # noqa: E402

from yuantou.devnet.localnet import CITY, DOMAIN, LocalNetwork, to_toml  # noqa: E402
from yuantou.ledger.chain import Receipt, after, checkpoint_for, sign_receipt  # noqa: E402
from yuantou.protocol.envelope import dumps  # noqa: E402
from yuantou.protocol.keys import KeyPair  # noqa: E402
from yuantou.protocol.signing import sign  # noqa: E402
from yuantou.store.db import Database  # noqa: E402
from yuantou.store.tables import ledger_checkpoints, ledger_entries  # noqa: E402

PRODUCER = "orchard.bench.local"
FLOW = ["select", "on_select", "init", "on_init", "confirm", "on_confirm", "status", "on_status"]
SEED = bytes(range(32))  # keys are derived, so every worker process signs with the same ones


def keypair(index: int) -> KeyPair:
    """Party 0 is the producer, 1… the buyers; a fixed seed per party."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

    seed = bytes((b + index) % 256 for b in SEED)
    return KeyPair(Ed25519PrivateKey.from_private_bytes(seed), X25519PrivateKey.from_private_bytes(seed[::-1]))


def buyer(index: int) -> str:
    return f"buyer-{index}.bench.local"


def body(action: str, bap: str, tx: str, mid: str, when: int, n: int) -> bytes:
    items = [{"id": f"apple-{(n + i) % 40}", "quantity": {"selected": {"count": 1 + (n * 7 + i) % 90}},
              "price": {"currency": "CNY", "value": f"{4 + (n + i) % 9}.50"}, "fulfillment_ids": ["w1"]}
             for i in range(1 + n % 4)]
    return dumps({
        "context": {"domain": DOMAIN, "location": {"city": {"code": CITY}, "country": {"code": "CHN"}},
                    "action": action, "version": "1.1.0", "bap_id": bap, "bap_uri": f"http://{bap}/beckn",
                    "bpp_id": PRODUCER, "bpp_uri": f"http://{PRODUCER}/beckn", "transaction_id": tx,
                    "message_id": mid, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(when)),
                    "ttl": "PT30S"},
        "message": {"order": {"provider": {"id": "orchard-provider"}, "items": items,
                              "fulfillments": [{"id": "w1", "type": "Self-Pickup", "stops": [{"type": "end",
                               "location": {"gps": "30.27,120.15"}, "time": {"range": {
                                   "start": "2026-12-02T09:00:00Z", "end": "2026-12-02T18:00:00Z"}}}]}]}},
    })


def sign_transactions(args: tuple[int, int, int, int]) -> list[tuple]:
    """The messages of transactions [low, high): (fields of an entry without height and hashes)."""
    low, high, peers, start = args
    producer = keypair(0)
    out = []
    for t in range(low, high):
        peer = 1 + t % peers
        buyer_keys, bap = keypair(peer), buyer(peer)
        tx = f"tx-{t:08d}"
        for step, action in enumerate(FLOW):
            n = t * len(FLOW) + step
            when = start + n // 10  # ten messages a second
            received = not action.startswith("on_")  # the buyer asks, the producer answers
            sender_keys, sender, sender_key = ((buyer_keys, bap, f"{peer}") if received
                                               else (producer, PRODUCER, "p1"))
            receiver_keys, receiver, receiver_key = ((producer, PRODUCER, "p1") if received
                                                     else (buyer_keys, bap, f"{peer}"))
            raw = body(action, bap, tx, f"m-{n:09d}", when, n)
            receipt = None
            if n % 20 != 7:
                r = sign_receipt(raw, receiver_keys.signing, f"{receiver}|{receiver_key}|ed25519", when)
                receipt = (r.key_id, r.signature, r.signed_at)
            out.append((sender, receiver, action, tx, f"m-{n:09d}",
                        sign(raw, sender_keys.signing, sender, sender_key, created=when), raw, when, receipt))
    return out


def build_ledger(url: str, entries: int, peers: int) -> tuple[int, int]:
    """Fill the store at ``url``: (entries, checkpoints) written."""
    db = Database(url)
    db.migrate()
    transactions = entries // len(FLOW)
    batch = 2_000
    head, written, cps = None, 0, 0
    start = int(time.time())
    jobs = [(low, min(low + batch, transactions), peers, start) for low in range(0, transactions, batch)]
    with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as pool:
        for messages in pool.imap(sign_transactions, jobs):
            rows, chain, checkpoint_rows = [], [], []
            for sender, receiver, action, tx, mid, auth, raw, when, receipt in messages:
                entry = after(head, sender=sender, receiver=receiver, action=action, transaction_id=tx,
                              message_id=mid, authorization=auth, body=raw, recorded_at=when,
                              receipt=None if receipt is None else Receipt(*receipt))
                head = (entry.height, entry.hash)
                chain.append(entry)
                rows.append(dict(height=entry.height, prev_hash=entry.prev_hash, hash=entry.hash, sender=sender,
                                 receiver=receiver, action=action, transaction_id=tx, message_id=mid,
                                 authorization=auth, body=raw, recorded_at=when,
                                 receipt_key_id=None if receipt is None else receipt[0],
                                 receipt_signature=None if receipt is None else receipt[1],
                                 receipt_signed_at=None if receipt is None else receipt[2]))
                if action == FLOW[-1]:  # the buyer's word on the whole transaction, as the producer holds it
                    peer = int(receiver.split("-")[1].split(".")[0])
                    cp = checkpoint_for(chain[-len(FLOW):], PRODUCER, receiver, tx, f"{receiver}|{peer}|ed25519",
                                        keypair(peer).signing, when)
                    checkpoint_rows.append(dict(signer=cp.signer, party_a=cp.parties[0], party_b=cp.parties[1],
                                                transaction_id=tx, messages=" ".join(cp.messages),
                                                signed_at=cp.signed_at, signature=cp.signature))
            db.transaction(lambda c, r=rows, k=checkpoint_rows: (c.execute(ledger_entries.insert(), r),
                                                               c.execute(ledger_checkpoints.insert(), k)))
            written += len(rows)
            cps += len(checkpoint_rows)
            print(f"\r  built {written:,} entries", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    db.close()
    return written, cps


def sodium_rates(seconds: float = 3.0) -> tuple[float, float]:
    """libsodium Ed25519 verifications and signings per second on one core (what the ledger check uses: it
    verifies the peers' signatures and signs its own again)."""
    keys = keypair(0)
    message = b"x" * 140
    raw_key = base64.b64decode(keys.signing_public_b64)
    signed = keys.signing.sign(message) + message
    secret = crypto_sign_seed_keypair(keys.signing.private_bytes_raw())[1]
    rates = []
    for operation in (lambda: crypto_sign_open(signed, raw_key), lambda: crypto_sign(message, secret)):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            operation()
            n += 1
        rates.append(n / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--peers", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the ledger in this folder and keep it (reused if there)")
    parser.add_argument("--smoke", action="store_true", help="2,000 entries, once: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.entries, args.peers, args.repeats = 2000, 3, 1

    root = args.keep or Path(tempfile.mkdtemp(prefix="yt-ledger-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    store = root / "orchard-ledger.db"
    (root / "net").mkdir(exist_ok=True)
    net = LocalNetwork(root / "net")
    try:
        net.start_directory()
        for index in range(args.peers + 1):
            subscriber, key_id = (PRODUCER, "p1") if index == 0 else (buyer(index), str(index))
            net.register(subscriber, f"http://{subscriber}/beckn", ["BPP" if index == 0 else "BAP"], keypair(index),
                         key_id, valid_from=datetime(2026, 1, 1, tzinfo=UTC))
        started = time.perf_counter()
        if not store.exists():
            written, checkpoints = build_ledger(f"sqlite:///{store}", args.entries, args.peers)
        else:
            db = Database(f"sqlite:///{store}")
            db.migrate()  # a kept store from an older version
            written, checkpoints = db.transaction(lambda c: (
                c.exec_driver_sql("SELECT count(*) FROM ledger_entries").scalar_one(),
                c.exec_driver_sql("SELECT count(*) FROM ledger_checkpoints").scalar_one()))
            db.close()
        build_seconds = time.perf_counter() - started
        keys = root / "orchard-keys"
        keypair(0).save(keys)
        config = root / "orchard.toml"
        config.write_text(to_toml({"subscriber_id": PRODUCER, "key_id": "p1", "url": f"http://{PRODUCER}/beckn",
                                   "roles": ["buyer"], "key_file": str(keys), "directory_url": net.directory.url,
                                   "database_url": f"sqlite:///{store}", "api_token": "x" * 24}))
        one_core, signing_one_core = sodium_rates()
        runs = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "yuantou.cli", "ledger", "verify", "--config", str(config)],
                                  capture_output=True, text=True)
            runs.append(time.perf_counter() - started)
            if done.returncode != 0:
                sys.exit(f"ledger verify failed: {done.stdout}{done.stderr}")
            print(f"  {runs[-1]:.1f} s: {done.stdout.strip()}", file=sys.stderr)
        signatures = 2 * written - sum(1 for n in range(written) if n % 20 == 7) + checkpoints
        own = written  # the producer's: its Beckn signature on what it sent, its receipt on what it received
        cores = os.cpu_count() or 1
        floor = (own / signing_one_core + (signatures - own) / one_core) / cores
        results = {
            "machine": {"cpus": cores, "python": platform.python_version()},
            "entries": written, "checkpoints": checkpoints, "signatures": signatures, "peers": args.peers,
            "store_bytes": store.stat().st_size, "build_seconds": build_seconds,
            "verify_seconds": statistics.median(runs), "runs": runs,
            "entries_per_second": written / statistics.median(runs),
            "sodium_verify_per_second_one_core": one_core, "sodium_sign_per_second_one_core": signing_one_core,
            "own_signatures": own, "signature_floor_seconds": floor,
            "goal_seconds_per_million": 60, "goal_met": statistics.median(runs) * 1_000_000 / written < 60,
        }
        print(f"ledger verify: {written:,} entries, {checkpoints:,} checkpoints, {signatures:,} signatures; "
              f"{results['store_bytes'] / 1e9:.2f} GB of SQLite")
        print(f"  median {results['verify_seconds']:.1f} s ({results['entries_per_second']:,.0f} entries/s); "
              f"runs {', '.join(f'{r:.1f}' for r in runs)}")
        print(f"  libsodium here, one core: {one_core:,.0f} verifications/s, {signing_one_core:,.0f} signings/s; "
              f"the signatures alone ({own:,} of them the node's own, signed again) take {floor:.1f} s on {cores} "
              f"cores ({results['verify_seconds'] / floor:.2f}× that floor)")
        print(f"  goal (< 60 s per million entries on 2 cores) met: {results['goal_met']}")
        write_results("ledger_verify", results)
    finally:
        net.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
