"""The ledger in a node's store: entries appended inside the caller's transaction, read back as a chain.

Appending in the caller's transaction is what keeps message and entry together: the inbox row
(or the outbox's delivery) and its ledger entry commit or roll back as one. Appends are
serialised (SQLite's writer lock; a transaction-scoped advisory lock on PostgreSQL, where several
workers share the store), so heights never fork.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from yuantou.ledger.chain import RELAYED, Checkpoint, Entry, Receipt, after, message_digest
from yuantou.ledger.pair import PairCheckpoint
from yuantou.store.tables import ONE_SIDED, ledger_checkpoints, ledger_entries, ledger_pair_checkpoints

_APPEND_LOCK = 0x59544C47  # "YTLG": one advisory lock id for the ledger's head


_c = ledger_entries.c
# built once: constructing a SQLAlchemy statement costs more than running it, and these run on every ACK
_TRANSACTIONS_DIGESTS = select(_c.message_digest, _c.sender, _c.receiver, _c.transaction_id).where(
    _c.transaction_id.in_(bindparam("txs", expanding=True)), _c.action.not_in(sorted(RELAYED)))
_HEAD = select(_c.height, _c.hash).order_by(_c.height.desc()).limit(1)


def _upsert_checkpoint(insert):  # noqa: ANN001, ANN202
    statement = insert(ledger_checkpoints)
    return statement.on_conflict_do_update(
        index_elements=["signer", "party_a", "party_b", "transaction_id"],
        set_={k: statement.excluded[k] for k in ("messages", "signed_at", "signature")})


_UPSERT_CHECKPOINT = {"sqlite": _upsert_checkpoint(sqlite_insert), "postgresql": _upsert_checkpoint(pg_insert)}


_ENTRIES = select(_c.height, _c.prev_hash, _c.sender, _c.receiver, _c.action, _c.transaction_id, _c.message_id,
                  _c.authorization, _c.body, _c.recorded_at, _c.receipt_key_id, _c.receipt_signature,
                  _c.receipt_signed_at, _c.hash, _c.message_digest)


def _entries(result) -> list[Entry]:  # noqa: ANN001
    """Entries from a result of ``_ENTRIES``, fetched at once and unpacked by position (a full check reads a
    million of them; iterating the result fetches row by row)."""
    out = []
    for (height, prev_hash, sender, receiver, action, transaction_id, message_id, authorization, body, recorded_at,
         receipt_key_id, receipt_signature, receipt_signed_at, hash_, digest) in result.all():
        receipt = None if receipt_key_id is None else Receipt(receipt_key_id, receipt_signature,
                                                              int(receipt_signed_at))
        out.append(Entry(int(height), prev_hash, sender, receiver, action, transaction_id, message_id,
                         authorization, bytes(body), int(recorded_at), receipt, hash_, digest or ""))
    return out


def append_entry(conn: Connection, *, sender: str, receiver: str, action: str, transaction_id: str, message_id: str,
                 authorization: str, body: bytes, recorded_at: int, receipt: Receipt | None = None) -> Entry:
    """Seal the next entry on the chain's head and insert it (in ``conn``'s transaction)."""
    return append_entries(conn, [dict(sender=sender, receiver=receiver, action=action, transaction_id=transaction_id,
                                      message_id=message_id, authorization=authorization, body=body,
                                      recorded_at=recorded_at, receipt=receipt)])[0]


def append_entries(conn: Connection, items: list[dict]) -> list[Entry]:
    """Seal entries with these fields onto the chain's head, in order, and insert them with one statement (a
    group commit's messages: the head is read once, not once a message)."""
    if not items:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _APPEND_LOCK})
    last = head(conn)
    entries = []
    for fields in items:
        entry = after(last, **fields)
        entries.append(entry)
        last = (entry.height, entry.hash)
    conn.execute(ledger_entries.insert(), [dict(
        height=e.height, prev_hash=e.prev_hash, hash=e.hash, sender=e.sender, receiver=e.receiver, action=e.action,
        transaction_id=e.transaction_id, message_id=e.message_id, authorization=e.authorization, body=e.body,
        recorded_at=e.recorded_at, receipt_key_id=None if e.receipt is None else e.receipt.key_id,
        receipt_signature=None if e.receipt is None else e.receipt.signature,
        receipt_signed_at=None if e.receipt is None else e.receipt.signed_at, message_digest=message_digest(e))
        for e in entries])
    return entries


def transaction_digests(conn: Connection, me: str, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """For each (counterparty, transaction id): the digests, as stored with each entry, of the transaction's
    point-to-point messages between ``me`` and the counterparty (what our checkpoint on it signs). One query for
    a whole group commit's worth."""
    found: dict[tuple[str, str], list[str]] = {key: [] for key in wanted}
    for row in conn.execute(_TRANSACTIONS_DIGESTS, {"txs": sorted({tx for _, tx in wanted})}):
        other = row.receiver if row.sender == me else row.sender if row.receiver == me else None
        key = (other, row.transaction_id)
        if other is not None and key in found:
            found[key].append(row.message_digest)
    return found


def read_chain(conn: Connection, transaction_id: str | None = None) -> list[Entry]:
    """The whole chain in order (or one transaction's entries, for an evidence bundle)."""
    query = _ENTRIES.order_by(_c.height)
    if transaction_id is not None:
        query = query.where(_c.transaction_id == transaction_id)
    return _entries(conn.execute(query))


_RANGE = _ENTRIES.where(_c.height >= bindparam("low"), _c.height < bindparam("high")).order_by(_c.height)


def read_range(conn: Connection, low: int, high: int) -> list[Entry]:
    """The entries with heights in [low, high), in order: one stretch of a chain checked in parallel."""
    return _entries(conn.execute(_RANGE, {"low": low, "high": high}))


def head(conn: Connection) -> tuple[int, str] | None:
    """The chain's last entry: (height, hash), or None for an empty chain."""
    row = conn.execute(_HEAD).first()
    return None if row is None else (int(row.height), row.hash)


def _seeks(column, *prefix):  # noqa: ANN001, ANN202
    """The first value of ``column`` after an equal ``prefix`` of ix_ledger_routes, and the next after a value:
    each an index seek (a min over an index prefix), on SQLite and PostgreSQL alike."""
    equal = [c == bindparam(c.name) for c in prefix]
    return (select(func.min(column)).where(*equal),
            select(func.min(column)).where(*equal, column > bindparam(column.name)), column.name)


_SENDERS, _RECEIVERS, _ACTIONS = (_seeks(_c.sender), _seeks(_c.receiver, _c.sender),
                                  _seeks(_c.action, _c.sender, _c.receiver))


def routes(conn: Connection) -> list[tuple[str, str, str]]:
    """Every distinct (sender, receiver, action) in the chain, in order: a few seeks along ``ix_ledger_routes``
    per route, so a node with years of history and a few hundred counterparties answers in milliseconds."""
    def each(seeks, **prefix: str):  # noqa: ANN001, ANN202
        first, following, name = seeks
        value = conn.execute(first, prefix).scalar()
        while value is not None:
            yield value
            value = conn.execute(following, {**prefix, name: value}).scalar()

    return [(sender, receiver, action) for sender in each(_SENDERS)
            for receiver in each(_RECEIVERS, sender=sender)
            for action in each(_ACTIONS, sender=sender, receiver=receiver)]


def parties(conn: Connection) -> set[str]:
    """Every subscriber that sent or received an entry, so every one that signed or counter-signed it (a receipt
    is its receiver's: ``verify`` names one that is not): whose keys a check of the chain needs."""
    return {party for sender, receiver, _ in routes(conn) for party in (sender, receiver)}


_ONE_SIDED = select(func.count()).select_from(ledger_entries).where(text(ONE_SIDED))


def one_sided_count(conn: Connection) -> int:
    """How many entries no counterparty counter-signed (counted along their own partial index)."""
    return int(conn.execute(_ONE_SIDED).scalar_one())


def keyholders(conn: Connection) -> set[str]:
    """Every subscriber whose keys ``ledger verify`` needs: the chain's parties and every checkpoint's signer."""
    found = parties(conn)
    for table in (ledger_checkpoints, ledger_pair_checkpoints):
        found |= {value.partition("|")[0] for value in conn.execute(select(table.c.signer).distinct()).scalars()}
    return found


def save_checkpoint(conn: Connection, cp: Checkpoint) -> None:
    """Keep a counterparty's (or our own) signed checkpoint; a newer one for the same transaction replaces it."""
    conn.execute(_UPSERT_CHECKPOINT[conn.dialect.name], {
        "signer": cp.signer, "party_a": cp.parties[0], "party_b": cp.parties[1], "transaction_id": cp.transaction_id,
        "messages": " ".join(cp.messages), "signed_at": cp.signed_at, "signature": cp.signature})


_k = ledger_checkpoints.c
_CHECKPOINTS = select(_k.signer, _k.party_a, _k.party_b, _k.transaction_id, _k.messages, _k.signed_at, _k.signature)


def read_checkpoints(conn: Connection) -> list[Checkpoint]:
    return [Checkpoint(signer, (a, b), tx, tuple(messages.split()), int(signed_at), signature)
            for signer, a, b, tx, messages, signed_at, signature in conn.execute(_CHECKPOINTS)]


def save_pair_checkpoint(conn: Connection, cp: PairCheckpoint) -> None:
    """Keep a signer's latest pair checkpoint (it covers everything an earlier one did, and more)."""
    key = {"signer": cp.signer, "party_a": cp.parties[0], "party_b": cp.parties[1]}
    conn.execute(delete(ledger_pair_checkpoints).where(*[ledger_pair_checkpoints.c[k] == v for k, v in key.items()]))
    conn.execute(ledger_pair_checkpoints.insert().values(**key, until=cp.until, count=cp.count, messages=cp.messages,
                                                         height=cp.height, head_hash=cp.head_hash,
                                                         signed_at=cp.signed_at, signature=cp.signature))


def read_pair_checkpoints(conn: Connection) -> list[PairCheckpoint]:
    return [PairCheckpoint(r.signer, (r.party_a, r.party_b), int(r.until), int(r._mapping["count"]), r.messages, int(r.height),
                           r.head_hash, int(r.signed_at), r.signature)
            for r in conn.execute(select(ledger_pair_checkpoints))]


def read_between(conn: Connection, a: str, b: str) -> list[Entry]:
    """The entries of messages between two parties, in order (what a pair checkpoint is computed over)."""
    c = ledger_entries.c
    return _entries(conn.execute(_ENTRIES.where(
        ((c.sender == a) & (c.receiver == b)) | ((c.sender == b) & (c.receiver == a))).order_by(c.height)))


def counterparties(conn: Connection, me: str) -> set[str]:
    """Whom ``me`` has exchanged point-to-point messages with (not the gateway's relayed discovery)."""
    found = {receiver if sender == me else sender for sender, receiver, action in routes(conn)
             if action not in RELAYED and me in (sender, receiver)}
    return found - {me}
