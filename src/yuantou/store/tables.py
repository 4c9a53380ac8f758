"""The storage schema of every Yuantou process (node and directory share one layout).

Raw message bytes are kept exactly as received or sent, because signatures cover
the bytes, not a re-serialisation.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

# -- protocol: what came in and what goes out -------------------------------------------

inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_id", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("authorization", Text, nullable=True),
    Column("gateway_authorization", Text, nullable=True),
    Column("reply_to", Text, nullable=True),  # where the callback goes (the gateway for a forwarded search)
    Column("received_at", Float, nullable=False),
    Column("processed_at", Float, nullable=True),
    UniqueConstraint("sender_id", "action", "message_id", name="uq_inbox_sender_action_message"),
)
Index("ix_inbox_unprocessed", inbox.c.processed_at, inbox.c.id)
Index("ix_inbox_transaction", inbox.c.transaction_id)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("target_url", Text, nullable=False),
    Column("action", String(32), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("counterparty_id", String(255), nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expects_callback_until", Float, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Float, nullable=False),
    Column("state", String(16), nullable=False, default="pending"),  # pending|delivered|nacked|dead
    Column("delivered_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("authorization", Text, nullable=True),  # the signature it goes out with, stored before the first send
)
Index("ix_outbox_due", outbox.c.state, outbox.c.next_attempt_at)
Index("ix_outbox_message", outbox.c.message_id)

# -- producer ----------------------------------------------------------------------------

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("item_id", String(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("category", String(128), nullable=False, default=""),
    Column("unit", String(32), nullable=False),
    Column("price", Float, nullable=False),
    Column("currency", String(8), nullable=False, default="CNY"),
    Column("grade", String(64), nullable=False, default=""),
    Column("sales_terms", Text, nullable=True),  # pooled-buying terms as JSON: bulk unit, MOQ, tiers, delivery
)

capacity_windows = Table(
    "capacity_windows",
    metadata,
    Column("item_id", String(128), primary_key=True),
    Column("window_id", String(128), primary_key=True),
    Column("start", String(40), nullable=False),
    Column("end", String(40), nullable=False),
    Column("available", Float, nullable=False),
)

# -- orders (a producer's received orders, a buyer's placed orders) ------------------------

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(128), primary_key=True),
    Column("side", String(8), nullable=False),  # "sell" at a producer, "buy" at a buyer
    Column("transaction_id", String(64), nullable=False),
    Column("counterparty_id", String(255), nullable=False),
    Column("status", String(32), nullable=False),
    Column("body", Text, nullable=False),  # latest Beckn Order object, JSON
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_orders_transaction", orders.c.transaction_id)

# -- pools (a buyer node's pooled demand) -----------------------------------------------------

pools = Table(
    "pools",
    metadata,
    Column("pool_id", String(64), primary_key=True),
    Column("terms", Text, nullable=False),  # PoolTerms as JSON: fixed once the pool opens
    Column("status", String(16), nullable=False),  # open | allocated | failed
    Column("cutoff", Float, nullable=False),
    Column("outcome", Text, nullable=True),  # Allocation / Failure as JSON once closed
    Column("created_at", Float, nullable=False),
    Column("closed_at", Float, nullable=True),
    # buying an allocated pool from producers: pending (to source) | ordering | ordered | unsourced
    Column("procurement", String(16), nullable=True),
    Column("procurement_note", Text, nullable=True),  # why a pool is unsourced, or what was re-sourced
)
Index("ix_pools_procurement", pools.c.procurement)
Index("ix_pools_status_cutoff", pools.c.status, pools.c.cutoff)

pool_intents = Table(
    "pool_intents",
    metadata,
    Column("intent_id", String(64), primary_key=True),
    Column("pool_id", String(64), nullable=False),
    Column("household", String(128), nullable=False),
    Column("spec", Text, nullable=False),  # ProductSpec as JSON
    Column("min_quantity", Integer, nullable=False),  # steps of the pool's unit
    Column("max_quantity", Integer, nullable=False),
    Column("max_price", Integer, nullable=False),  # minor currency units per unit
    Column("pickup_point", String(128), nullable=False),
    Column("window_start", Float, nullable=False),
    Column("window_end", Float, nullable=False),
    Column("joined_at", Float, nullable=False),
    Column("status", String(16), nullable=False),  # joined | withdrawn | allocated | priced_out | left_out | failed
    Column("quantity", Integer, nullable=True),  # allocated steps
    Column("unit_price", Integer, nullable=True),
    Column("updated_at", Float, nullable=False),
    Column("pickup_code", String(16), nullable=True),  # shown by the household at the pickup point
    Column("handed_out_at", Float, nullable=True),  # its final state
)
Index("ix_pool_intents_pool", pool_intents.c.pool_id, pool_intents.c.status)
Index("ix_pool_intents_pickup_code", pool_intents.c.pickup_point, pool_intents.c.pickup_code)
Index("ix_pool_intents_household", pool_intents.c.household)

pool_orders = Table(
    "pool_orders",
    metadata,
    Column("order_key", String(64), primary_key=True),
    Column("pool_id", String(64), nullable=False),
    Column("producer_id", String(255), nullable=False),  # bpp_id
    Column("bpp_uri", Text, nullable=False),
    Column("provider_id", String(255), nullable=False),
    Column("item_id", String(255), nullable=False),
    Column("window_id", String(128), nullable=False),
    Column("quantity", Integer, nullable=False),  # steps of the pool's unit
    Column("unit_price", Integer, nullable=False),  # expected tier price, minor units per unit
    Column("cost", String(40), nullable=False),  # expected landed cost, minor units (decimal)
    Column("stage", String(16), nullable=False),  # select | init | confirm | confirmed | refused | timed_out | cancelled
    Column("transaction_id", String(64), nullable=False),
    Column("message_id", String(64), nullable=True),  # of the request whose callback is awaited
    Column("deadline", Float, nullable=True),  # ... until then (its ttl)
    Column("order_id", String(128), nullable=True),  # the producer's, from on_confirm
    Column("order_status", String(32), nullable=True),
    Column("fulfillment", String(32), nullable=True),  # Pending, Accepted, Packed, Shipped, Delivered
    Column("quoted", String(40), nullable=True),  # the producer's quoted goods price, currency units
    Column("reason", Text, nullable=True),  # why it was refused, timed out or cancelled
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_pool_orders_pool", pool_orders.c.pool_id)
Index("ix_pool_orders_message", pool_orders.c.message_id)
Index("ix_pool_orders_order", pool_orders.c.order_id)
Index("ix_pool_orders_stage_deadline", pool_orders.c.stage, pool_orders.c.deadline)

# -- C2M (a producer's twin, demand history, forecast runs and plans) ----------------------------

demand_history = Table(
    "demand_history",
    metadata,
    Column("product", String(128), primary_key=True),
    Column("region", String(255), primary_key=True),
    Column("day", String(10), primary_key=True),  # ISO date
    Column("quantity", Float, nullable=False),
)

c2m_runs = Table(
    "c2m_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # twin | forecast | plan
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("summary", Text, nullable=False),  # JSON
    Column("body", Text, nullable=False),  # JSON: the twin, the forecasts per series, or the plan's tables
)
Index("ix_c2m_runs_kind_created", c2m_runs.c.kind, c2m_runs.c.created_at)

c2m_jobs = Table(  # forecast and plan runs in progress (producer/jobs.py)
    "c2m_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # forecast | plan
    Column("state", String(16), nullable=False),  # running | done | failed
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),  # its process's last word: a job that stops beating was lost
    Column("finished_at", Float, nullable=True),
    Column("run_id", String(64), nullable=True),  # the stored run, when done
    Column("error", Text, nullable=True),
)

# -- ledger: every signed message sent or received, hash-chained (see ledger/chain.py) ---------

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("height", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("sender", String(255), nullable=False),
    Column("receiver", String(255), nullable=False),
    Column("action", String(32), nullable=False),
    Column("transaction_id", String(64), nullable=False),
    Column("message_id", String(64), nullable=False),
    Column("authorization", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("receipt_key_id", String(400), nullable=True),  # null: the counterparty did not counter-sign
    Column("receipt_signature", Text, nullable=True),
    Column("receipt_signed_at", BigInteger, nullable=True),
    Column("message_digest", String(64), nullable=True),  # chain.message_digest, kept to sign checkpoints fast
)
Index("ix_ledger_transaction", ledger_entries.c.transaction_id)
# who trades with whom, read by skipping along this index (``ledger.store.routes``), not by scanning every body
Index("ix_ledger_routes", ledger_entries.c.sender, ledger_entries.c.receiver, ledger_entries.c.action)
ONE_SIDED = "receipt_key_id IS NULL"  # entries no counterparty counter-signed: few, counted from their own index
Index("ix_ledger_one_sided", ledger_entries.c.height, sqlite_where=text(ONE_SIDED), postgresql_where=text(ONE_SIDED))

ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("signer", String(400), primary_key=True),
    Column("party_a", String(255), primary_key=True),
    Column("party_b", String(255), primary_key=True),
    Column("transaction_id", String(64), primary_key=True),
    Column("messages", Text, nullable=False),  # the message digests it covers, sorted, space-separated
    Column("signed_at", BigInteger, nullable=False),
    Column("signature", Text, nullable=False),
)

ledger_pair_checkpoints = Table(  # the latest of each signer's checkpoints with a counterparty (ledger/pair.py)
    "ledger_pair_checkpoints",
    metadata,
    Column("signer", String(400), primary_key=True),
    Column("party_a", String(255), primary_key=True),
    Column("party_b", String(255), primary_key=True),
    Column("until", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("messages", String(64), nullable=False),
    Column("height", BigInteger, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("signed_at", BigInteger, nullable=False),
    Column("signature", Text, nullable=False),
)

# -- dashboard sessions (web/auth.py) -----------------------------------------------------------

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),  # BLAKE2b of the cookie's secret: the cookie never stored
    Column("token_hash", String(64), nullable=False),  # of the api_token it was opened with: a new token ends it
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),  # logged out
)

# -- settings changed from a console while the node runs (JSON values) --------------------------

node_settings = Table(
    "node_settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# -- households (a buyer node's storefront: no passwords, a session bound to each device) ------

households = Table(
    "households",
    metadata,
    Column("household_id", String(64), primary_key=True),  # "hh-" + 128 random bits: never guessed
    Column("name", String(64), nullable=False),  # what the organiser calls it at the pickup point
    Column("phone", String(32), nullable=False),
    Column("link_hash", String(64), nullable=False, unique=True),  # BLAKE2b of its personal link's secret
    Column("created_at", Float, nullable=False),
)

household_sessions = Table(
    "household_sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),  # BLAKE2b of the device's cookie: the cookie never stored
    Column("household_id", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
Index("ix_household_sessions_household", household_sessions.c.household_id)

# -- directory ---------------------------------------------------------------------------

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("subscriber_id", String(255), nullable=False),
    Column("key_id", String(128), nullable=False),
    Column("url", Text, nullable=False),
    Column("type", String(8), nullable=False),
    Column("domain", String(128), nullable=False),
    Column("city", String(64), nullable=False),
    Column("country", String(8), nullable=False, default="IND"),
    Column("signing_public_key", Text, nullable=False),
    Column("encr_public_key", Text, nullable=True),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_until", DateTime(timezone=True), nullable=False),
    Column("status", String(24), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False),
    Column("updated", DateTime(timezone=True), nullable=False),
    UniqueConstraint("subscriber_id", "type", "domain", "key_id", name="uq_subscriber_entry"),
)
Index("ix_subscribers_lookup", subscribers.c.type, subscribers.c.domain, subscribers.c.city)
