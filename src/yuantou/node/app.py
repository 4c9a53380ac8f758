"""The node's HTTP face: Beckn endpoints under ``/beckn``, the business API under ``/api``, the dashboard.

Every route only translates: Beckn calls go to the messaging core's intake, API calls become commands
for the node's role services (``api/``), and refusals become 4xx answers (``api.errors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from yuantou import __version__
from yuantou.i18n.catalogs import N_
from yuantou.messaging.ledger_watch import LedgerWatch
from yuantou.messaging.pair_checkpoints import answer as answer_pair_checkpoint
from yuantou.node.api.buyer import buyer_router
from yuantou.node.api.c2m import c2m_router
from yuantou.node.api.errors import install_error_handlers
from yuantou.node.api.pools import JoinFastPath, pool_router
from yuantou.node.api.producer import producer_router
from yuantou.node.api.records import records_router
from yuantou.node.bootstrap import Node
from yuantou.node.subscription import answer_challenge
from yuantou.node.tools import node_tools
from yuantou.protocol.limits import PathLimit, RequestLimits
from yuantou.web.auth import bearer_valid
from yuantou.web.console import mount_console
from yuantou.web.node_pages import DashboardFeed, mount_dashboard
from yuantou.web.node_tools import mount_node_tools
from yuantou.web.producer_console import mount_producer_console
from yuantou.web.site import mount_api_docs
from yuantou.web.storefront import mount_storefront


def create_app(node: Node) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await node.start()
        yield
        await node.stop()

    config = node.config
    messenger = node.messenger
    app = FastAPI(title=f"Yuantou node {config.subscriber_id}", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Beckn endpoints under /beckn/{action}; business API under /api "
                              "(Authorization: Bearer <api_token>); dashboard at /dashboard.")
    app.state.node = node

    @app.post("/beckn/on_subscribe", tags=["beckn"], summary="answer the directory's subscription challenge")
    async def on_subscribe(request: Request) -> JSONResponse:
        status, body = await answer_challenge(await request.body(), request.headers.get("authorization"),
                                              messenger.keys, messenger.http, config.directory_url,
                                              config.clock_skew_seconds)
        return JSONResponse(body, status_code=status)

    @app.post("/beckn/yuantou/checkpoint", tags=["beckn"], summary="agree a pair checkpoint (Yuantou profile)")
    async def pair_checkpoint(request: Request) -> JSONResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, body = await answer_pair_checkpoint(messenger, await request.body(), headers)
        return JSONResponse(body, status_code=status)

    @app.post("/beckn/{action}", tags=["beckn"], summary="Beckn core 1.1.1 action or callback")
    async def beckn(action: str, request: Request) -> JSONResponse:
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await node.intake.receive(action, await request.body(), headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)

    @app.get("/health")
    async def health() -> dict[str, object]:
        return {"subscriber_id": config.subscriber_id, "roles": config.roles, "url": config.url,
                "key_id": messenger.signer.key_id_header, "signing_public_key": messenger.keys.signing_public_b64}

    def require_token(request: Request) -> None:
        if not bearer_valid(node.config.api_token, request.headers.get("authorization")):
            raise HTTPException(401, "business API needs 'Authorization: Bearer <api_token>'",
                                headers={"WWW-Authenticate": "Bearer"})

    watch = LedgerWatch(messenger, config.database_url, config.signature_slack)
    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    order_side = "sell" if config.is_producer and not config.is_buyer else "buy"
    api.include_router(records_router(messenger, watch, order_side))
    if node.buyer is not None:
        api.include_router(pool_router(node.buyer))
        api.include_router(buyer_router(node.buyer))
        app.add_middleware(JoinFastPath, buyer=node.buyer, api_token=config.api_token)
    if node.producer is not None:
        api.include_router(c2m_router(node.producer))
        api.include_router(producer_router(node.producer))
    app.include_router(api)

    mount_dashboard(app, DashboardFeed(messenger, watch, lambda: node.config.api_token,
                                       config.provider_name or config.subscriber_id, node.buyer, node.producer))
    if node.buyer is not None:
        zone = node.buyer.schedule.zone
        mount_storefront(app, node.buyer, config.provider_name or config.subscriber_id, zone, config.subscriber_id,
                         lambda: messenger.keys.signing_public_b64, config.storefront_registrations_per_minute)
        public = config.url.removesuffix("/").removesuffix("/beckn")  # what households' links and QR codes name
        mount_console(app, node.buyer, zone, lambda _: public, nav=[("/dashboard", N_("Dashboard"))])
    if node.producer is not None:
        mount_producer_console(app, node.producer, config.pool_schedule.zone, nav=[("/dashboard", N_("Dashboard"))])
    mount_node_tools(app, node_tools(node))
    mount_api_docs(app, f"Yuantou node {config.subscriber_id}")
    install_error_handlers(app)

    # outermost: no handler (nor the join fast path) reads a body over its limit or nested too deep
    app.add_middleware(RequestLimits, limits=[PathLimit("/api", config.max_api_body_bytes, api=True),
                                              # uploads (catalog, twin and sales files; evidence bundles): the
                                              # business API's limit
                                              PathLimit("/dashboard/producer/upload", config.max_api_body_bytes,
                                                        api=True),
                                              PathLimit("/dashboard/upload", config.max_api_body_bytes, api=True),
                                              PathLimit("/dashboard", 64 << 10, api=True),
                                              PathLimit("/login", 4 << 10, api=True),
                                              PathLimit("/shop", 32 << 10, api=True)],
                       default=PathLimit("/", config.max_body_bytes))
    return app
