"""The directory: registry (``/lookup``, ``/subscribe``) and gateway (``/search``, ``/on_search``).

The gateway forwards a search to every producer whose domain and city match,
adding its own ``X-Gateway-Authorization``, and relays each ``on_search`` back to
the buyer the same way. It stores nothing of either: catalogs and orders never
rest here.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import OrderedDict
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from yuantou import __version__
from yuantou.directory import registry, subscriptions
from yuantou.directory.own_address import same_endpoint, same_endpoint_cached
from yuantou.directory.registry import Entry, LocalKeys
from yuantou.messaging.outbox import Signer, backoff
from yuantou.protocol import capped_http, challenge, json_guard
from yuantou.protocol import envelope as env
from yuantou.protocol.auth import AUTHORIZATION, GATEWAY_AUTHORIZATION, AuthFailure, authenticate
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.json_guard import JsonProblem
from yuantou.protocol.keys import KeyPair, load_encryption_public
from yuantou.protocol.limits import PathLimit, RequestLimits
from yuantou.protocol.rate_limit import RateLimiter
from yuantou.protocol.registry_client import SubscriberKey
from yuantou.protocol.signing import SignatureError, parse_signature_header
from yuantou.protocol.validation import validate_message
from yuantou.store.db import Database

log = logging.getLogger(__name__)


@dataclass
class DirectorySettings:
    subscriber_id: str
    url: str
    key_id: str = "bg1"
    clock_skew_seconds: int = 5
    backdating_seconds: int = 120  # how long before a key's valid_from a signature may say it was created
    forward_attempts: int = 4
    dashboard_token: str = ""  # who may open /dashboard; empty: nobody
    max_body_bytes: int = 1 << 20  # a search or on_search the gateway relays
    max_registry_body_bytes: int = 16 << 10  # a subscription or a lookup
    subscribes_per_minute: float = 30  # per client address (bursts of a third); a third of it per subscriber id
    pending_seconds: int = 600  # pending attempts older than this are dropped
    relayed_searches_kept: int = 50_000  # searches remembered, so that each reaches a producer once


class OneKey:
    """A key resolver that knows one key: the one a subscription request must be signed with."""

    def __init__(self, key: SubscriberKey) -> None:
        self.only = key

    async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None:
        same = (subscriber_id, key_id) == (self.only.subscriber_id, self.only.key_id)
        return self.only if same else None


@dataclass
class GatewayStats:
    searches: int = 0
    forwarded: int = 0
    on_search_relayed: int = 0
    failures: int = 0
    recent_errors: list[str] = field(default_factory=list)


def _nack(status: int, code: str, message: str, paths: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(env.nack(BecknError(code, message, paths)), status_code=status, headers=headers)


def create_directory_app(db: Database, keys: KeyPair, settings: DirectorySettings) -> FastAPI:
    local_keys = LocalKeys(db)
    gateway_signer = Signer(settings.subscriber_id, settings.key_id, keys)
    stats = GatewayStats()
    state: dict[str, Any] = {}
    pending: set[asyncio.Task] = set()
    per_minute = settings.subscribes_per_minute
    subscribe_per_client = RateLimiter(per_minute, burst=max(5, int(per_minute // 3)))
    subscribe_per_subscriber = RateLimiter(per_minute / 3, burst=max(3, int(per_minute // 10)))
    challenges = asyncio.Semaphore(16)  # challenges in flight at once
    relayed: OrderedDict[tuple[str, str], set[str]] = OrderedDict()  # (bap_id, message_id) → producer URLs

    def drop_stale_pending(conn: Connection) -> None:
        cutoff = datetime.now(UTC) - timedelta(seconds=settings.pending_seconds)
        dropped = registry.expire_pending(conn, cutoff)
        if dropped:
            log.info("dropped %d pending subscription attempts", dropped)

    async def expire_pending() -> None:
        """Pending rows (older versions wrote them before the challenge) go after ``pending_seconds``: at start,
        every minute, and before each subscription."""
        while True:
            with suppress(Exception):
                await db.run(drop_stale_pending)
            await asyncio.sleep(min(60, settings.pending_seconds))

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        state["http"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        spawn(expire_pending())
        yield
        for task in list(pending):
            task.cancel()
        await state["http"].aclose()

    app = FastAPI(title="Yuantou directory (registry + gateway)", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None)
    app.state.stats = stats
    registry_limit = settings.max_registry_body_bytes
    app.add_middleware(RequestLimits, limits=[PathLimit("/subscribe", registry_limit),
                                              PathLimit("/lookup", registry_limit),
                                              PathLimit("/login", registry_limit, api=True),
                                              PathLimit("/dashboard", registry_limit, api=True)],
                       default=PathLimit("/", settings.max_body_bytes))

    def spawn(coro) -> None:  # noqa: ANN001
        task = asyncio.create_task(coro)
        pending.add(task)
        task.add_done_callback(pending.discard)

    @app.get("/")
    async def info() -> dict:
        return {"subscriber_id": settings.subscriber_id, "url": settings.url, "key_id": settings.key_id,
                "signing_public_key": keys.signing_public_b64, "encr_public_key": keys.encryption_public_b64,
                "gateway": stats.__dict__}

    @app.post("/lookup")
    async def lookup(request: Request) -> JSONResponse:
        try:
            criteria = json_guard.loads(await request.body() or b"{}")
        except JsonProblem as problem:
            return _nack(400, env.INVALID_REQUEST, f"lookup body: {problem.message}", problem.path)
        refused = registry.criteria_problem(criteria)
        if refused:
            path, _, message = refused.partition(": ")
            return _nack(400, env.INVALID_REQUEST, f"lookup: {message}", path)
        return JSONResponse(await db.run(lambda c: registry.lookup(c, criteria)))

    def too_many(key: str, limiter: RateLimiter) -> JSONResponse | None:
        if limiter.allow(key):
            return None
        return _nack(429, env.INVALID_REQUEST, "too many subscription attempts; try again later",
                     headers={"Retry-After": str(limiter.retry_after(key))})

    @app.post("/subscribe")
    async def subscribe(request: Request) -> JSONResponse:
        """Register or change a subscription (``directory.subscriptions`` says who may)."""
        refused = too_many(request.client.host if request.client else "", subscribe_per_client)
        if refused:
            return refused
        await db.run(drop_stale_pending)
        body = await request.body()
        try:
            entry = subscriptions.requested_entry(json_guard.loads(body))
        except JsonProblem as problem:
            return _nack(400, env.INVALID_REQUEST, f"bad subscription: {problem.message}", problem.path)
        except subscriptions.Refusal as no:
            return _nack(no.status, env.INVALID_REQUEST, f"bad subscription: {no.message}", no.path)
        refused = too_many(entry.subscriber_id, subscribe_per_subscriber)
        if refused:
            return refused
        if await asyncio.to_thread(same_endpoint, entry.url, settings.url):
            return _nack(400, env.INVALID_REQUEST, "url is this directory's own address", "$.url")
        headers = {k.lower(): v for k, v in request.headers.items()}
        now = datetime.now(UTC)
        try:
            header = parse_signature_header(headers.get(AUTHORIZATION))
            if header.subscriber_id != entry.subscriber_id:
                raise subscriptions.Refusal(401, f"signed by {header.subscriber_id!r}, not by {entry.subscriber_id!r}")

            def who_signs(conn: Connection) -> tuple[bool, SubscriberKey]:
                if registry.key_id_conflict(conn, entry):
                    raise subscriptions.Refusal(409, f"key id {entry.key_id} of {entry.subscriber_id} already names "
                                                     "another public key; use a new key id", "$.key_id")
                return registry.owned(conn, entry.subscriber_id), subscriptions.signing_key(
                    conn, entry, header.unique_key_id, now)

            was_owned, signer = await db.run(who_signs)
            await authenticate(body, headers, OneKey(signer), skew=settings.clock_skew_seconds,
                               backdating=settings.backdating_seconds)
        except SignatureError as exc:
            return _nack(401, env.INVALID_REQUEST, f"unauthorized: {exc}",
                         headers=AuthFailure("", "WWW-Authenticate").challenge(settings.subscriber_id))
        except AuthFailure as exc:
            return _nack(401, env.INVALID_REQUEST, f"unauthorized: {exc.reason}",
                         headers=exc.challenge(settings.subscriber_id))
        except subscriptions.Refusal as no:
            return _nack(no.status, env.INVALID_REQUEST, no.message, no.path)
        if not await challenge_answered(entry):
            return _nack(401, env.INVALID_REQUEST, subscriptions.CHALLENGE_FAILED.format(url=entry.url), "$.url")
        try:
            key_id = await db.run(lambda c: subscriptions.record(c, entry, was_owned))
        except subscriptions.Refusal as no:
            return _nack(no.status, env.INVALID_REQUEST, no.message, no.path)
        local_keys.forget(entry.subscriber_id)
        return JSONResponse({"status": registry.SUBSCRIBED, "key_id": key_id})

    async def challenge_answered(entry: Entry) -> bool:
        """Whether the subscriber at ``entry.url`` decrypts a fresh challenge (any failure: no, and no detail)."""
        secret = challenge.new_challenge()
        payload = env.dumps({"subscriber_id": entry.subscriber_id, "challenge": challenge.encrypt(
            secret, keys.encryption, load_encryption_public(entry.encr_public_key or ""))})
        try:
            async with challenges:
                resp = await capped_http.request(state["http"], "POST", f"{entry.url}/on_subscribe", content=payload,
                                                 timeout=10, limit=4096, headers={
                    "Content-Type": "application/json", "Authorization": gateway_signer(payload)})
                answer = json_guard.loads(resp.content).get("answer") if resp.status_code == 200 else None
        except (httpx.HTTPError, JsonProblem, AttributeError):
            return False
        return isinstance(answer, str) and hmac.compare_digest(answer.encode(), secret.encode())

    async def verified(request: Request, action: str) -> tuple[bytes, dict, JSONResponse | None]:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = json_guard.loads(body)
        except JsonProblem as problem:
            return body, {}, _nack(400, env.INVALID_REQUEST, problem.message, problem.path)
        context = payload.get("context") if isinstance(payload, dict) else None
        if not isinstance(context, dict):
            return body, {}, _nack(400, env.INVALID_REQUEST, "body is not a Beckn message", "$.context")
        try:
            auth = await authenticate(body, headers, local_keys, skew=settings.clock_skew_seconds,
                                      backdating=settings.backdating_seconds)
        except AuthFailure as exc:
            return body, {}, _nack(401, env.INVALID_REQUEST, f"unauthorized: {exc.reason}",
                                   headers=exc.challenge(settings.subscriber_id))
        claimed = context.get("bpp_id" if action == "on_search" else "bap_id")
        if auth.signer.subscriber_id != claimed:
            return body, {}, _nack(401, env.INVALID_REQUEST, f"signed by {auth.signer.subscriber_id!r}, not {claimed!r}",
                                   headers={"WWW-Authenticate": f'Signature realm="{settings.subscriber_id}",headers="(created) (expires) digest"'})
        violations = validate_message(action, body)
        if violations:
            return body, {}, _nack(400, env.INVALID_REQUEST, "core 1.1.1 schema violation: "
                                   + "; ".join(map(str, violations[:20])), ",".join(v.path for v in violations))
        return body, {**headers, "_context": context, "_signer_url": auth.signer_key.url}, None

    async def forward(url: str, action: str, body: bytes, authorization: str) -> None:
        for attempt in range(settings.forward_attempts):
            try:
                resp = await capped_http.request(state["http"], "POST", f"{url.rstrip('/')}/{action}", content=body,
                                                 timeout=10, headers={
                    "Content-Type": "application/json", "Authorization": authorization,
                    "X-Gateway-Authorization": gateway_signer(body)})
                if resp.status_code < 500:
                    if resp.status_code >= 300:
                        stats.failures += 1
                        stats.recent_errors = (stats.recent_errors + [f"{url}/{action}: HTTP {resp.status_code} {resp.text[:200]}"])[-20:]
                    return
            except httpx.HTTPError as exc:
                log.info("gateway forward to %s failed: %s", url, exc)
            await asyncio.sleep(backoff(attempt))
        stats.failures += 1

    @app.post("/search")
    async def search(request: Request) -> JSONResponse:
        if request.headers.get(GATEWAY_AUTHORIZATION):
            return _nack(400, env.INVALID_REQUEST, "this search was already relayed by a gateway; a buyer sends its "
                                                   "search to one gateway, which relays it once")
        body, meta, problem = await verified(request, "search")
        if problem:
            return problem
        context = meta["_context"]
        if (meta["_signer_url"] or "").rstrip("/") != str(context.get("bap_uri", "")).rstrip("/"):
            return _nack(400, env.INVALID_REQUEST, "bap_uri is not the URL registered for bap_id", "$.context.bap_uri")
        city = ((context.get("location") or {}).get("city") or {}).get("code")
        producers = await db.run(lambda c: registry.lookup(c, {
            "type": "BPP", "domain": context.get("domain"), "city": city, "status": "SUBSCRIBED"}))
        now = time.time()
        key = (str(context.get("bap_id")), str(context.get("message_id")))
        done = relayed.pop(key, set())
        targets = {p["url"] for p in producers if registry.first_valid([p], now)} - done
        targets = {url for url in targets if not same_endpoint_cached(url, settings.url)}
        relayed[key] = done | targets
        while len(relayed) > settings.relayed_searches_kept:
            relayed.popitem(last=False)
        stats.searches += 1
        stats.forwarded += len(targets)
        for url in targets:
            spawn(forward(url, "search", body, meta[AUTHORIZATION]))
        return JSONResponse(env.ack())

    @app.post("/on_search")
    async def on_search(request: Request) -> JSONResponse:
        body, meta, problem = await verified(request, "on_search")
        if problem:
            return problem
        context = meta["_context"]
        buyers = await db.run(lambda c: registry.lookup(c, {
            "subscriber_id": context.get("bap_id"), "type": "BAP", "status": "SUBSCRIBED"}))
        if not any(b["url"].rstrip("/") == str(context.get("bap_uri", "")).rstrip("/") for b in buyers):
            return _nack(400, env.INVALID_REQUEST, "bap_uri is not the URL registered for bap_id", "$.context.bap_uri")
        stats.on_search_relayed += 1
        spawn(forward(context["bap_uri"], "on_search", body, meta[AUTHORIZATION]))
        return JSONResponse(env.ack())

    from yuantou.directory.operator import OperatorDesk
    from yuantou.directory.operator_pages import mount_operator_console
    from yuantou.directory.pages import mount_directory_dashboard
    from yuantou.web.site import mount_api_docs

    mount_directory_dashboard(app, db, stats, lambda: settings.dashboard_token, settings.subscriber_id)
    mount_operator_console(app, OperatorDesk(db, local_keys.forget))
    mount_api_docs(app, "Yuantou directory")
    return app


def ensure_self_registered(db: Database, keys: KeyPair, settings: DirectorySettings) -> None:
    """The gateway is a subscriber of its own registry (type BG), so peers can verify it."""
    db.transaction(lambda c: registry.upsert(c, Entry(
        subscriber_id=settings.subscriber_id, url=settings.url, type="BG", domain=registry.WILDCARD,
        city=registry.WILDCARD, signing_public_key=keys.signing_public_b64, key_id=settings.key_id,
        encr_public_key=keys.encryption_public_b64)))
