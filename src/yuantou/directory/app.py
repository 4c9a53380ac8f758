"""The directory: registry (``/lookup``, ``/subscribe``) and gateway (``/search``, ``/on_search``).

The gateway forwards a search to every producer whose domain and city match,
adding its own ``X-Gateway-Authorization``, and relays each ``on_search`` back to
the buyer the same way. It stores nothing of either: catalogs and orders never
rest here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from yuantou.directory import registry
from yuantou.directory.registry import Entry, LocalKeys, RegistryError
from yuantou.protocol import challenge
from yuantou.protocol import envelope as env
from yuantou.protocol.auth import AuthFailure, authenticate
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.keys import KeyError_, KeyPair, load_encryption_public
from yuantou.protocol.outbox import Signer, backoff
from yuantou.protocol.validation import validate_message
from yuantou.store.db import Database

log = logging.getLogger(__name__)


@dataclass
class DirectorySettings:
    subscriber_id: str
    url: str
    key_id: str = "bg1"
    clock_skew_seconds: int = 5
    forward_attempts: int = 4
    dashboard_token: str = ""  # who may open /dashboard; empty: nobody


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

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        state["http"] = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
        yield
        for task in list(pending):
            task.cancel()
        await state["http"].aclose()

    app = FastAPI(title="Yuantou directory (registry + gateway)", lifespan=lifespan)
    app.state.stats = stats

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
            criteria = json.loads(await request.body() or b"{}")
        except ValueError:
            return _nack(400, env.INVALID_REQUEST, "lookup body is not JSON", "$")
        if not isinstance(criteria, dict):
            return _nack(400, env.INVALID_REQUEST, "lookup body must be a Subscription object", "$")
        return JSONResponse(await db.run(lambda c: registry.lookup(c, criteria)))

    @app.post("/subscribe")
    async def subscribe(request: Request) -> JSONResponse:
        """Register or update a subscription; proven by a signature and an encrypted challenge."""
        body = await request.body()
        try:
            data = json.loads(body)
            entry = Entry(
                subscriber_id=data["subscriber_id"], url=data["url"], type=data["type"], domain=data["domain"],
                city=data["location"]["city"]["code"], country=(data["location"].get("country") or {}).get("code", "IND"),
                signing_public_key=data["signing_public_key"], encr_public_key=data["encr_public_key"],
                key_id=data.get("key_id") or "",
                valid_from=datetime.fromisoformat(data["valid_from"].replace("Z", "+00:00")) if data.get("valid_from") else None,
                valid_until=datetime.fromisoformat(data["valid_until"].replace("Z", "+00:00")) if data.get("valid_until") else None,
                status="UNDER_SUBSCRIPTION",
            )
            entry.check()
            peer_enc = load_encryption_public(entry.encr_public_key or "")
        except (ValueError, KeyError, TypeError, AttributeError, RegistryError, KeyError_) as exc:
            return _nack(400, env.INVALID_REQUEST, f"bad subscription: {exc}", "$")
        # proof of possession: the request must be signed by the key it registers
        from yuantou.protocol.registry_client import SubscriberKey
        from yuantou.protocol.keys import load_signing_public

        class _Own:
            async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None:
                if subscriber_id != entry.subscriber_id:
                    return None
                return SubscriberKey(entry.subscriber_id, key_id, entry.type, entry.url,
                                     load_signing_public(entry.signing_public_key), 0.0, float("inf"))
        try:
            await authenticate(body, {k.lower(): v for k, v in request.headers.items()}, _Own(),
                               skew=settings.clock_skew_seconds)
        except AuthFailure as exc:
            return _nack(401, env.INVALID_REQUEST, f"unauthorized: {exc.reason}",
                         headers=exc.challenge(settings.subscriber_id))
        key_id = await db.run(lambda c: registry.upsert(c, entry))
        secret = challenge.new_challenge()
        payload = env.dumps({"subscriber_id": entry.subscriber_id,
                             "challenge": challenge.encrypt(secret, keys.encryption, peer_enc)})
        try:
            resp = await state["http"].post(f"{entry.url}/on_subscribe", content=payload, timeout=10, headers={
                "Content-Type": "application/json", "Authorization": gateway_signer(payload)})
            answer = resp.json().get("answer")
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            return _nack(400, env.INVALID_REQUEST, f"could not reach {entry.url}/on_subscribe: {exc}", "$.url")
        if answer != secret:
            return _nack(401, env.INVALID_REQUEST, "the challenge was not answered correctly", "$.encr_public_key")
        await db.run(lambda c: registry.set_status(c, entry.subscriber_id, key_id, "SUBSCRIBED"))
        return JSONResponse({"status": "SUBSCRIBED", "key_id": key_id})

    async def verified(request: Request, action: str) -> tuple[bytes, dict, JSONResponse | None]:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            payload = json.loads(body)
            context = payload["context"]
        except (ValueError, KeyError, TypeError):
            return body, {}, _nack(400, env.INVALID_REQUEST, "body is not a Beckn message", "$.context")
        try:
            auth = await authenticate(body, headers, local_keys, skew=settings.clock_skew_seconds)
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
                resp = await state["http"].post(f"{url.rstrip('/')}/{action}", content=body, timeout=10, headers={
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
        targets = {p["url"] for p in producers if registry.first_valid([p], now)}
        stats.searches += 1
        stats.forwarded += len(targets)
        for url in targets:
            spawn(forward(url, "search", body, meta["authorization"]))
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
        spawn(forward(context["bap_uri"], "on_search", body, meta["authorization"]))
        return JSONResponse(env.ack())

    from yuantou.web.directory_pages import mount_directory_dashboard

    mount_directory_dashboard(app, db, stats, lambda: settings.dashboard_token, settings.subscriber_id)
    return app


def ensure_self_registered(db: Database, keys: KeyPair, settings: DirectorySettings) -> None:
    """The gateway is a subscriber of its own registry (type BG), so peers can verify it."""
    db.transaction(lambda c: registry.upsert(c, Entry(
        subscriber_id=settings.subscriber_id, url=settings.url, type="BG", domain=registry.WILDCARD,
        city=registry.WILDCARD, signing_public_key=keys.signing_public_b64, key_id=settings.key_id,
        encr_public_key=keys.encryption_public_b64)))
