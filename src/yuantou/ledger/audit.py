"""Checking a node's whole stored chain, split into stretches checked side by side on every core.

Each entry holds two Ed25519 signatures (the sender's and the receipt), so a million entries is
minutes of one core's work. Stretches of heights are read and checked by worker processes, each
with its own connection to the store, and then the transaction checkpoints' signatures;
``verify.join`` checks the seams between the stretches, and the checkpoints are checked against
the message digests the stretches collected. The verdict is the same a single pass would give:
the first bad place and why. (A node checking its own chain holds its own key, so its own
signatures, one an entry, are checked by signing again: ``KeyHistory.signs``.)
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from yuantou.ledger.chain import GENESIS, Checkpoint, KeyHistory
from yuantou.ledger.pair import PairCheckpoint
from yuantou.ledger.store import head, read_checkpoints, read_pair_checkpoints, read_range
from yuantou.ledger.verify import Problem, Run, check_run, checkpoint_problem, checkpoint_signed, join, pair_problem
from yuantou.store.db import Database

STRETCH = 10_000  # entries a worker reads and checks at a time (a few MB of rows)
CHECKPOINTS = 5_000  # transaction checkpoints whose signatures a worker checks at a time

_worker: dict = {}


def _start_worker(url: str, keys: KeyHistory, wanted: set, pairs: set, heights: set) -> None:
    _worker.update(db=Database(url), keys=keys, wanted=wanted, pairs=pairs, heights=heights)


def _check_stretch(low: int, high: int) -> Run:
    entries = _worker["db"].transaction(lambda c: read_range(c, low, high))
    return check_run(entries, _worker["keys"], low, GENESIS if low == 0 else None, _worker["wanted"],
                     pairs=_worker["pairs"], heights=_worker["heights"])


def _check_checkpoints(checkpoints: list[Checkpoint]) -> list[bool]:
    return [checkpoint_signed(cp, _worker["keys"]) for cp in checkpoints]


@dataclass(frozen=True)
class Verdict:
    run: Run  # the whole chain, joined
    checkpoints: list[Checkpoint]
    pair_checkpoints: list[PairCheckpoint]
    problem: Problem | None


def verify_store(url: str, keys: KeyHistory, owner: str | None = None, workers: int | None = None,
                 stretch: int = STRETCH, progress: Callable[[int, int], None] | None = None) -> Verdict:
    """Check the chain and every checkpoint in the store of ``owner``'s node at ``url``.
    ``progress(entries checked, entries in all)`` is called as stretches finish."""
    db = Database(url)
    try:
        last, checkpoints, pair_checkpoints = db.transaction(lambda c: (head(c), read_checkpoints(c),
                                                                        read_pair_checkpoints(c)))
    finally:
        db.close()
    total = 0 if last is None else last[0] + 1
    wanted = {(cp.parties, cp.transaction_id) for cp in checkpoints}
    pairs, heights = {cp.parties for cp in pair_checkpoints}, {cp.height for cp in pair_checkpoints}
    bounds = [(low, min(low + stretch, total)) for low in range(0, total, stretch)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(bounds)))
    runs: list[Run] = []
    done = 0
    checking, signed = [], None  # the workers' checks of the checkpoints' signatures, and their outcome
    if workers == 1:
        _start_worker(url, keys, wanted, pairs, heights)
        stretches: Iterator[Run] = (_check_stretch(low, high) for low, high in bounds)
        pool = None
    else:  # spawned, not forked: the caller may hold threads and connections a fork would copy mid-use
        pool = ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _start_worker,
                                   (url, keys, wanted, pairs, heights))
        stretches = pool.map(_check_stretch, *zip(*bounds)) if bounds else iter(())
        # the checkpoints' signatures are checked by the workers too, after the stretches
        checking = [pool.submit(_check_checkpoints, checkpoints[i:i + CHECKPOINTS])
                    for i in range(0, len(checkpoints), CHECKPOINTS)]
    try:
        for run in stretches:  # in order of height
            runs.append(run)
            done += run.count
            if progress:
                progress(done, total)
            if run.problem is not None:
                break
        whole = join(runs)
        if whole.problem is None and pool is not None:
            signed = [ok for part in checking for ok in part.result()]
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        elif "db" in _worker:
            _worker.pop("db").close()
    problem = (whole.problem or checkpoint_problem(checkpoints, whole, keys, signed)
               or pair_problem(pair_checkpoints, whole, keys, owner))
    return Verdict(whole, checkpoints, pair_checkpoints, problem)
