"""The ledger in a real store (SQLite, or PostgreSQL with YUANTOU_TEST_PG): appends chain, survive, and tell tampering."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from tests.conftest import storage
from tests.test_ledger_chain import FARM, NEW, OLD, SHOP, SHOP_KEY, checkpoints, keys, signer
from yuantou.devnet.localnet import LocalNetwork
from yuantou.ledger.chain import seal, sign_receipt
from yuantou.ledger.pair import sign_pair
from yuantou.ledger.store import (
    append_entry,
    read_chain,
    read_checkpoints,
    read_pair_checkpoints,
    save_checkpoint,
    save_pair_checkpoint,
)
from yuantou.ledger.verify import verify
from yuantou.protocol.signing import sign
from yuantou.store.db import Database
from yuantou.store.tables import ledger_checkpoints, ledger_entries


def record(conn, i: int, when: int, receipted: bool = True) -> None:  # noqa: ANN001
    sender, receiver = (FARM, SHOP) if i % 2 == 0 else (SHOP, FARM)
    body = json.dumps({"context": {"transaction_id": f"t{i % 3}", "message_id": f"m{i}",
                                   "timestamp": f"{datetime.fromtimestamp(when, UTC):%Y-%m-%dT%H:%M:%SZ}"}}).encode()
    key, unique, _ = signer(sender, when)
    rkey, _, rid = signer(receiver, when)
    append_entry(conn, sender=sender, receiver=receiver, action="confirm", transaction_id=f"t{i % 3}",
                 message_id=f"m{i}", authorization=sign(body, key, sender, unique, created=when), body=body,
                 recorded_at=when, receipt=sign_receipt(body, rkey, rid, when) if receipted else None)


def test_appends_from_concurrent_writers_form_one_chain_that_verifies(db: Database) -> None:
    def writer(offset: int) -> None:
        for i in range(offset, 40, 4):
            db.transaction(lambda conn, i=i: record(conn, i, 1_000_000 + 30 * i, receipted=i % 5 != 0))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    chain = db.transaction(read_chain)
    assert [e.height for e in chain] == list(range(40))
    assert sum(e.one_sided for e in chain) == 8
    db.transaction(lambda conn: [save_checkpoint(conn, cp) for cp in checkpoints(chain)])
    held = db.transaction(read_checkpoints)
    assert len(held) == 3 and verify(chain, keys(), held) is None
    assert [e.message_id for e in db.transaction(lambda conn: read_chain(conn, "t1"))] == sorted(
        (f"m{i}" for i in range(40) if i % 3 == 1), key=lambda m: next(e.height for e in chain if e.message_id == m))


def test_a_failed_transaction_leaves_no_entry_and_a_changed_row_is_named(db: Database) -> None:
    for i in range(5):
        db.transaction(lambda conn, i=i: record(conn, i, 1_000_000 + i))

    def fails(conn) -> None:  # noqa: ANN001
        record(conn, 5, 1_000_005)
        raise RuntimeError("the message's own insert failed")

    with pytest.raises(RuntimeError):
        db.transaction(fails)
    assert len(db.transaction(read_chain)) == 5
    db.transaction(lambda conn: conn.execute(update(ledger_entries).where(ledger_entries.c.height == 3)
                                             .values(action="cancel")))
    problem = verify(db.transaction(read_chain), keys())
    assert problem is not None and problem.height == 3 and "do not match its hash" in problem.reason


def test_the_inbox_tells_a_new_message_from_a_repeat_on_this_backend(db: Database) -> None:
    """What decides whether a received message gets its ledger entry (and wakes the processor)."""
    from yuantou.store.db import insert_ignoring_duplicates
    from yuantou.store.tables import inbox

    row = {"sender_id": SHOP, "action": "confirm", "message_id": "m1", "transaction_id": "t", "body": b"{}",
           "authorization": "x", "gateway_authorization": None, "reply_to": None, "received_at": 1.0,
           "processed_at": None}
    assert db.transaction(lambda c: insert_ignoring_duplicates(c, inbox, [row, {**row, "message_id": "m2"}])) == [
        True, True]
    assert db.transaction(lambda c: insert_ignoring_duplicates(c, inbox, [row])) == [False]


@pytest.mark.parametrize("tamper", ["none", "delete-mid-stretch", "delete-at-seam", "delete-first", "edit",
                                    "relink-after-delete", "truncate", "rewrite-below-pair-checkpoint",
                                    "stored-digest", "checkpoint-signature"])
def test_checking_stretches_in_parallel_gives_the_single_pass_verdict(db: Database, tamper: str) -> None:
    """Worker processes read stretches of 5 heights; the seams between them are where a parallel check could
    miss what one pass sees (a row removed at the end of a stretch, a stretch that does not link on)."""
    from sqlalchemy import delete

    from yuantou.ledger.audit import verify_store
    from yuantou.ledger.chain import entry_hash

    for i in range(23):
        db.transaction(lambda conn, i=i: record(conn, i, 1_000_000 + 40 * i, receipted=i % 4 != 0))
    chain = db.transaction(read_chain)
    db.transaction(lambda conn: [save_checkpoint(conn, cp) for cp in checkpoints(chain)])
    until = chain[18].recorded_at  # the pair checkpoints cover entries 0–18, signed with the farm's head at 20
    key, _, key_id = signer(FARM, chain[20].recorded_at)
    pairs = [sign_pair(chain[:21], (20, chain[20].hash), FARM, SHOP, until, key_id, key, chain[20].recorded_at),
             sign_pair(chain, (5, "e" * 64), SHOP, FARM, until, f"{SHOP}|s1|ed25519", SHOP_KEY, until)]
    db.transaction(lambda conn: [save_pair_checkpoint(conn, cp) for cp in pairs])
    rows = ledger_entries.c
    if tamper == "delete-mid-stretch":
        db.transaction(lambda c: c.execute(delete(ledger_entries).where(rows.height == 12)))
    elif tamper == "delete-at-seam":  # the last row of the stretch [5, 10)
        db.transaction(lambda c: c.execute(delete(ledger_entries).where(rows.height == 9)))
    elif tamper == "delete-first":
        db.transaction(lambda c: c.execute(delete(ledger_entries).where(rows.height == 0)))
    elif tamper == "edit":
        db.transaction(lambda c: c.execute(update(ledger_entries).where(rows.height == 17).values(recorded_at=5)))
    elif tamper == "relink-after-delete":  # entry 10 removed and 11 renumbered and resealed onto 9: only 12 breaks
        def relink(c) -> None:  # noqa: ANN001
            c.execute(delete(ledger_entries).where(rows.height == 10))
            moved = next(e for e in chain if e.height == 11)
            moved = moved.__class__(**{**moved.__dict__, "height": 10, "prev_hash": chain[9].hash, "hash": ""})
            c.execute(update(ledger_entries).where(rows.height == 11).values(height=10, prev_hash=moved.prev_hash,
                                                                              hash=entry_hash(moved)))
        db.transaction(relink)
    elif tamper == "rewrite-below-pair-checkpoint":  # every row re-hashed from 3 on, one timestamp changed:
        def rewrite(c) -> None:  # noqa: ANN001  the chain links; only the farm's signed head at 20 shows it
            previous = chain[2].hash
            for e in chain[3:]:
                moved = seal(replace(e, prev_hash=previous, recorded_at=e.recorded_at + (e.height == 3)))
                c.execute(update(ledger_entries).where(rows.height == e.height).values(
                    prev_hash=moved.prev_hash, hash=moved.hash, recorded_at=moved.recorded_at))
                previous = moved.hash
        db.transaction(rewrite)
    elif tamper == "stored-digest":  # the derived column checkpoints are signed from
        db.transaction(lambda c: c.execute(update(ledger_entries).where(rows.height == 6).values(message_digest="0" * 64)))
    elif tamper == "checkpoint-signature":  # checked by the workers, apart from the stretches
        other = db.transaction(read_checkpoints)[0].signature
        db.transaction(lambda c: c.execute(update(ledger_checkpoints).where(
            ledger_checkpoints.c.transaction_id == "t2").values(signature=other)))
    elif tamper == "truncate":  # the tail cut: the chain still links, the shop's checkpoint names what is gone
        db.transaction(lambda c: c.execute(delete(ledger_entries).where(rows.height >= 21)))
    expected = verify(db.transaction(read_chain), keys(), db.transaction(read_checkpoints),
                      pair_checkpoints=db.transaction(read_pair_checkpoints), owner=FARM)
    own = keys()  # the farm's own check: its signatures are checked by signing again, in the workers too
    own.hold(OLD)
    own.hold(NEW)
    verdict = verify_store(db.url, own, FARM, workers=2, stretch=5)
    run, problem = verdict.run, verdict.problem
    assert len(verdict.checkpoints) == 3 and len(verdict.pair_checkpoints) == 2
    assert problem == expected
    assert (problem is None) == (tamper == "none")
    if tamper == "stored-digest":
        assert problem.height == 6 and "stored message digest" in problem.reason
    if tamper == "checkpoint-signature":
        assert "checkpoint by shop.example|s1|ed25519 on transaction t2 does not verify" in problem.reason
    if tamper == "rewrite-below-pair-checkpoint":
        assert problem.height == 20 and "rewritten at or below it" in problem.reason
    if tamper == "none":
        assert run.count == 23 and run.one_sided == 6 and run.last_hash == chain[-1].hash


def test_entries_from_before_stored_digests_get_them_on_upgrade(tmp_path) -> None:
    """Migration 0007 digests a ledger written by 0006, and the ledger verifies with the digests it stored."""
    import sqlalchemy as sa

    from tests.test_ledger_chain import history
    from yuantou.ledger.chain import message_digest

    net = LocalNetwork(tmp_path, database=storage())
    db = Database(net.db_url("old-ledger"))
    try:
        db.migrate("0006")
        chain = history([(True, 0, True, 1), (False, 0, True, 1), (True, 1, False, 1)])
        names = ["height", "prev_hash", "hash", "sender", "receiver", "action", "transaction_id", "message_id",
                 "authorization", "body", "recorded_at", "receipt_key_id", "receipt_signature", "receipt_signed_at"]
        old_table = sa.table("ledger_entries", *[sa.column(n) for n in names])  # as 0006 has it: no digest column
        db.transaction(lambda c: c.execute(old_table.insert(), [
            {n: getattr(e, n) for n in names[:11]} | {
                "receipt_key_id": e.receipt and e.receipt.key_id, "receipt_signature": e.receipt and e.receipt.signature,
                "receipt_signed_at": e.receipt and e.receipt.signed_at} for e in chain]))
        db.migrate()
        stored = db.transaction(lambda c: list(c.execute(
            sa.select(ledger_entries.c.message_digest).order_by(ledger_entries.c.height)).scalars()))
        assert stored == [message_digest(e) for e in chain]
        assert verify(db.transaction(read_chain), keys()) is None
    finally:
        db.close()
        net.stop()


def test_routes_counterparties_and_one_sided_count_read_along_their_indexes(db: Database) -> None:
    """The dashboard and ``ledger verify`` ask who traded with whom and how many entries are one-sided; on a long
    chain these are seeks along indexes, and they must say what a scan of every row says."""
    from sqlalchemy import select

    from yuantou.ledger.store import counterparties, keyholders, one_sided_count, routes

    for i in range(12):
        db.transaction(lambda conn, i=i: record(conn, i, 1_000_000 + 40 * i, receipted=i % 5 != 0))
    relayed = b'{"context":{"transaction_id":"s1","message_id":"q1","action":"search"}}'
    db.transaction(lambda conn: append_entry(conn, sender=SHOP, receiver="gateway.example", action="search",
                                             transaction_id="s1", message_id="q1", authorization="x", body=relayed,
                                             recorded_at=1_000_999))
    rows = db.transaction(lambda c: c.execute(select(ledger_entries.c.sender, ledger_entries.c.receiver,
                                                     ledger_entries.c.action, ledger_entries.c.receipt_key_id)).all())
    assert db.transaction(routes) == sorted({(s, r, a) for s, r, a, _ in rows})
    assert db.transaction(one_sided_count) == sum(k is None for *_, k in rows) == 4
    assert db.transaction(lambda c: counterparties(c, FARM)) == {SHOP}
    assert db.transaction(lambda c: counterparties(c, SHOP)) == {FARM}  # the gateway only relayed its search
    assert db.transaction(keyholders) == {FARM, SHOP, "gateway.example"}
