"""The households' storefront (``/shop``), served by the organiser's node: phone first, no password.

Households arrive by a link the organiser shares (a pickup point's or a pool's), give a name and a phone
once, and join, change or withdraw until the cut-off; "my orders" follows each line to hand-out, with its
pickup code and signed receipt. Every route only translates: forms become ``buyer.commands`` for
``BuyerService``, refusals become a sentence next to their field, in the reader's language.

Safety: a device's session is an HttpOnly cookie (SameSite=Lax, so a link opened from a chat app keeps
it); every form post must come from this host (``Origin``) and carry a token derived from the session;
a household reads and changes only its own lines; personal links are rate-limited per address.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from yuantou.buyer.commands import Change, Join, Register, Withdraw
from yuantou.buyer.households import Household
from yuantou.buyer.receipts import ReceiptProblem, check_receipt
from yuantou.buyer.service import BuyerService
from yuantou.buyer.views import PoolSnapshot, snapshot_of
from yuantou.domain.pooling import MINOR_UNITS, PoolProblem
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.refusals import refusal_text
from yuantou.web import guards
from yuantou.web.auth import cookie_name
from yuantou.web.form_values import form_of, number
from yuantou.web.languages import language_context, locale_of
from yuantou.web.local_text import unit_price
from yuantou.web.order_lines import line_view
from yuantou.web.pool_cards import PoolCard, pool_card
from yuantou.web.site import render

FIELDS = {"min_quantity": "quantity", "quantity": "quantity", "max_quantity": "most", "max_price": "max_price",
          "name": "name", "phone": "phone"}  # a refusal's path -> the form field it is shown next to
NOTICES = {"joined": N_("You joined. You can change or withdraw until the cut-off."),
           "changed": N_("Your order was changed."), "withdrawn": N_("You withdrew from this pool."),
           "welcome": N_("Welcome! Choose a quantity and tap Join.")}
STREAM_SECONDS = 120  # a live stream ends after this (the browser reconnects), so no shutdown waits on it
COALESCE_SECONDS = 0.1  # a page gets at most ten updates a second, however many households join
LINK_TRIES_PER_MINUTE = 10  # personal links opened per address: a household needs one, a guesser millions


@dataclass(frozen=True)
class Visit:
    """Who is asking, in which language, on which page."""

    locale: str
    household: Household | None
    session: str | None
    path: str


def safe_back(target: str | None, default: str = "/shop") -> str:
    """Where a form returns to: only a storefront path on this node."""
    if not target or not target.startswith("/shop") or "//" in target or "\\" in target:
        return default
    return target


def asked(form: dict[str, str], limit_optional: bool) -> tuple[Decimal, Decimal, Decimal | None]:
    """What a join or change form asks: a quantity, up to a most (the quantity itself if none), a price limit."""
    quantity = number(form.get("quantity"), "quantity")
    assert quantity is not None  # not optional: refused when empty
    return (quantity, number(form.get("most"), "most", optional=True) or quantity,
            number(form.get("max_price"), "max_price", optional=limit_optional))


def mount_storefront(app: FastAPI, buyer: BuyerService, shop_name: str, zone: tzinfo, node_id: str,
                     public_key: Callable[[], str], registrations_per_minute: int = 30) -> None:  # noqa: C901
    """``registrations_per_minute``: per client address (a building behind one NAT still gets its neighbours in)."""
    router = APIRouter(prefix="/shop", include_in_schema=False)
    link_tries = guards.RateLimit(count=LINK_TRIES_PER_MINUTE, seconds=60)
    registrations = guards.RateLimit(count=registrations_per_minute, seconds=60)
    session_cookie = cookie_name(node_id).replace("session", "household")
    live_cache: dict[tuple[str, int, str], str] = {}

    async def visit(request: Request) -> Visit:
        secret = request.cookies.get(session_cookie)
        household = await buyer.household_of(secret) if secret else None
        locale = locale_of(request)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Visit(locale, household, secret if household else None, path)

    def page(name: str, seen: Visit, status: int = 200, **context: Any) -> HTMLResponse:
        notice = NOTICES.get(context.pop("done", None) or "")
        html = render(name, **language_context(seen.locale), shop_name=shop_name, home="/shop", path=seen.path,
                      household=seen.household, csrf=guards.csrf_token(seen.session) if seen.session else "",
                      notice=gettext(seen.locale, notice) if notice else None, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store",
                                                               "Content-Language": seen.locale.replace("_", "-")})

    def card(snapshot: PoolSnapshot, locale: str) -> PoolCard:
        return pool_card(snapshot.pool_id, snapshot.terms, snapshot.status, snapshot.pooled, snapshot.households,
                         buyer.sources(snapshot.terms.spec), zone, locale)

    def mine_view(line: dict[str, Any], locale: str) -> dict[str, Any]:
        unit, currency = line["unit"], line["currency"]
        asked = line["min"] if line["min"] == line["max"] else f"{line['min']}–{line['max']}"
        return {**line, "asked_text": f"{asked} {unit}", "min_text": line["min"], "max_text": line["max"],
                "price_text": line["max_price"], "limit_text": unit_price(line["max_price"], currency, unit, locale)}

    async def offers_page(request: Request, seen: Visit, snapshots: list[PoolSnapshot], heading: str,
                          point: str | None, status: int = 200, **context: Any) -> HTMLResponse:
        mine = await buyer.open_lines(seen.household.household_id) if seen.household else {}
        lines = {pool_id: mine_view(line, seen.locale) for pool_id, line in mine.items()}
        cards = [card(s, seen.locale) for s in snapshots]

        def point_of(c: PoolCard) -> str:
            return point if point in c.pickup_points else c.pickup_points[0]
        context.setdefault("errors", {})
        context.setdefault("form", {})
        context.setdefault("page_error", None)
        return page("shop/offers.html", seen, status, here="offers", page_title=heading, heading=heading, cards=cards,
                    lines=lines, point_of=point_of, point=point, errors_for=context.pop("errors_for", None),
                    done=request.query_params.get("done"), **context)

    def refused(seen: Visit, problem: PoolProblem) -> dict[str, str]:
        return {FIELDS.get(problem.path or "", "form"): refusal_text(problem.code, seen.locale, problem.path)}

    async def posted(request: Request, seen: Visit, need_session: bool = True) -> dict[str, str] | Response:
        """The form's fields, or the refusal of a post from another site or without this session's token."""
        if not guards.same_origin(request):
            return Response(gettext(seen.locale, N_("This form must be sent from this node's own page.")),
                            status_code=403)
        try:
            form = await form_of(request)
        except ValueError:  # more fields than any of these forms has
            return Response("too many form fields", status_code=413)
        if need_session and not guards.csrf_valid(seen.session, form.get("csrf")):
            return RedirectResponse(safe_back(form.get("back")), status_code=303)  # signed out meanwhile: start again
        return form

    # -- pages -------------------------------------------------------------------------------------

    @router.get("")
    async def everything(request: Request) -> HTMLResponse:
        seen = await visit(request)
        return await offers_page(request, seen, buyer.open_snapshots(), gettext(seen.locale, N_("Today's offers")),
                                 None)

    @router.get("/at/{point}")
    async def at_point(point: str, request: Request) -> HTMLResponse:
        seen = await visit(request)
        heading = gettext(seen.locale, N_("Offers at {point}"), point=point)
        return await offers_page(request, seen, buyer.open_snapshots(point), heading, point)

    @router.get("/pools/{pool_id}")
    async def one_pool(pool_id: str, request: Request) -> HTMLResponse:
        seen = await visit(request)
        snapshot = await buyer.snapshot(pool_id) if len(pool_id) <= 64 else None
        if snapshot is None:
            return page("shop/message.html", seen, 404, page_title="404", heading=gettext(seen.locale, N_("Not found")),
                        message=refusal_text("unknown_pool", seen.locale))
        title = card(snapshot, seen.locale).title
        return await offers_page(request, seen, [snapshot], title, None)

    @router.get("/orders")
    async def orders(request: Request) -> HTMLResponse:
        seen = await visit(request)
        lines, version = await order_lines(seen)
        return page("shop/orders.html", seen, here="orders", page_title=gettext(seen.locale, N_("My orders")),
                    lines=lines, version=version, personal_link=None, done=request.query_params.get("done"))

    async def order_lines(seen: Visit) -> tuple[list[dict[str, Any]], str]:
        if seen.household is None:
            return [], ""
        raw = await buyer.household_lines(seen.household.household_id)
        views = [line_view(line, buyer.item_name, buyer.producer_name, zone, seen.locale) for line in raw
                 if line["status"] != "withdrawn"]
        version = hashlib.blake2b(json.dumps(raw, sort_keys=True, default=str).encode(), digest_size=8).hexdigest()
        return views, f"{seen.locale}-{version}"

    @router.get("/orders/live")
    async def orders_live(request: Request) -> Response:
        seen = await visit(request)
        lines, version = await order_lines(seen)
        if request.headers.get("x-version") == version:
            return Response(status_code=204)
        html = render("shop/order_lines.html", **language_context(seen.locale), lines=lines, home="/shop")
        return HTMLResponse(html, headers={"X-Version": version, "Cache-Control": "no-store"})

    @router.get("/receipts/check")
    async def check_page(request: Request) -> HTMLResponse:
        seen = await visit(request)
        return page("shop/check.html", seen, page_title=gettext(seen.locale, N_("Check a receipt")),
                    public_key=public_key(), document=None, problem=None, verdict=None)

    @router.post("/receipts/check")
    async def check(request: Request) -> Response:
        seen = await visit(request)
        form = await posted(request, seen, need_session=False)
        if isinstance(form, Response):
            return form
        document, key = form.get("document", ""), form.get("public_key", "").strip() or public_key()
        problem = verdict = None
        try:
            receipt = check_receipt(json.loads(document), key)
        except json.JSONDecodeError as exc:
            problem = gettext(seen.locale, N_("This is not a receipt's JSON text (line {line}, column {column})."),
                              line=exc.lineno, column=exc.colno)
        except ReceiptProblem as exc:
            problem = gettext(seen.locale, N_("This receipt does not check out: {reason}"), reason=str(exc))
        else:
            verdict = gettext(seen.locale, N_("Genuine: {organiser} signed this receipt for {quantity} {unit} of "
                                              "{item}."), organiser=receipt["organiser"], quantity=receipt["quantity"],
                              unit=receipt["unit"], item=receipt["item"])
        return page("shop/check.html", seen, 422 if problem else 200,
                    page_title=gettext(seen.locale, N_("Check a receipt")), public_key=key, document=document,
                    problem=problem, verdict=verdict)

    async def own_receipt(seen: Visit, intent_id: str) -> dict[str, Any] | None:
        if seen.household is None:
            return None
        for line in await buyer.household_lines(seen.household.household_id):
            if line["intent_id"] == intent_id and line.get("receipt"):
                return line
        return None

    @router.get("/receipts/{intent_id}.json")
    async def receipt_file(intent_id: str, request: Request) -> Response:
        line = await own_receipt(await visit(request), intent_id)
        if line is None:
            return JSONResponse({"error": "no such receipt for this household"}, status_code=404)
        return JSONResponse(line["receipt"], headers={
            "Content-Disposition": f'attachment; filename="receipt-{quote(intent_id)}.json"'})

    @router.get("/receipts/{intent_id}")
    async def receipt_page(intent_id: str, request: Request) -> HTMLResponse:
        seen = await visit(request)
        line = await own_receipt(seen, intent_id)
        if line is None:
            return page("shop/message.html", seen, 404, page_title="404", heading=gettext(seen.locale, N_("Not found")),
                        message=gettext(seen.locale, N_("There is no such receipt for this phone.")))
        view = line_view(line, buyer.item_name, buyer.producer_name, zone, seen.locale)
        return page("shop/receipt.html", seen, page_title=gettext(seen.locale, N_("Signed receipt")),
                    receipt=line["receipt"], intent_id=intent_id, public_key=public_key(),
                    quantity_text=view["quantity_text"], unit_price_text=view["unit_price_text"],
                    amount_text=view["amount_text"])

    # -- sessions ----------------------------------------------------------------------------------

    def signed_in(response: Response, secret: str, request: Request) -> Response:
        response.set_cookie(session_cookie, secret, max_age=180 * 24 * 3600, httponly=True, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
        return response

    @router.post("/register")
    async def register(request: Request) -> Response:
        seen = await visit(request)
        form = await posted(request, seen, need_session=False)
        if isinstance(form, Response):
            return form
        back = safe_back(form.get("next"))
        if not registrations.allow(guards.client_address(request)):
            return page("shop/message.html", seen, 429, page_title="429", heading=gettext(seen.locale, N_("Slow down")),
                        message=gettext(seen.locale, N_("Too many tries from this address: wait a minute.")))
        try:
            registration = await buyer.register(Register(form.get("name", ""), form.get("phone", "")))
        except PoolProblem as problem:
            again = Visit(seen.locale, None, None, back)
            snapshots, point = await snapshots_of(back)
            return await offers_page(request, again, snapshots, gettext(seen.locale, N_("Today's offers")), point, 422,
                                     errors=refused(seen, problem), form=form)
        sep = "&" if "?" in back else "?"
        return signed_in(RedirectResponse(f"{back}{sep}done=welcome", status_code=303), registration.session_secret,
                         request)

    async def snapshots_of(path: str) -> tuple[list[PoolSnapshot], str | None]:
        """The pools a storefront path shows (to show its page again with errors)."""
        plain = path.split("?")[0].split("#")[0]
        if plain.startswith("/shop/at/"):
            point = unquote(plain[len("/shop/at/"):])
            return buyer.open_snapshots(point), point
        if plain.startswith("/shop/pools/"):
            snapshot = await buyer.snapshot(plain[len("/shop/pools/"):])
            return ([snapshot] if snapshot else []), None
        return buyer.open_snapshots(), None

    @router.get("/me/{link}")
    async def personal_link(link: str, request: Request) -> Response:
        seen = await visit(request)
        address = guards.client_address(request)
        if not link_tries.allow(address):
            return page("shop/message.html", seen, 429, page_title="429", heading=gettext(seen.locale, N_("Slow down")),
                        message=gettext(seen.locale, N_("Too many tries from this address: wait a minute.")))
        opened = await buyer.session_from_link(link)
        if opened is None:
            return page("shop/message.html", seen, 404, page_title="404", heading=gettext(seen.locale, N_("Not found")),
                        message=gettext(seen.locale, N_("This personal link is not valid (any more). Ask the "
                                                        "organiser, or sign in again from the shared link.")))
        return signed_in(RedirectResponse("/shop/orders", status_code=303), opened[1], request)

    @router.post("/personal-link")
    async def show_link(request: Request) -> Response:
        got = await household_post(request)
        if isinstance(got, Response):
            return got
        seen, household, _ = got
        link = await buyer.new_link(household.household_id)
        lines, version = await order_lines(seen)
        return page("shop/orders.html", seen, here="orders", page_title=gettext(seen.locale, N_("My orders")),
                    lines=lines, version=version, personal_link=f"{str(request.base_url).rstrip('/')}/shop/me/{link}")

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        seen = await visit(request)
        form = await posted(request, seen)
        if isinstance(form, Response):
            return form
        await buyer.end_session(seen.session)
        response = RedirectResponse("/shop", status_code=303)
        response.delete_cookie(session_cookie, path="/")
        return response

    # -- joining, changing, withdrawing -------------------------------------------------------------

    async def refused_page(request: Request, seen: Visit, form: dict[str, str], pool_id: str,
                           problem: PoolProblem) -> HTMLResponse:
        back = safe_back(form.get("back"))
        snapshots, point = await snapshots_of(back)
        if not any(s.pool_id == pool_id for s in snapshots):
            snapshot = await buyer.snapshot(pool_id)
            snapshots = snapshots + ([snapshot] if snapshot else [])
        heading = gettext(seen.locale, N_("Offers at {point}"), point=point) if point else \
            gettext(seen.locale, N_("Today's offers"))
        again = Visit(seen.locale, seen.household, seen.session, back)
        errors = refused(seen, problem)
        shown = any(s.pool_id == pool_id for s in snapshots)
        return await offers_page(request, again, snapshots, heading, point, 422, errors=errors, errors_for=pool_id,
                                 form=form, page_error=None if shown else next(iter(errors.values())))

    def done(form: dict[str, str], what: str, pool_id: str) -> Response:
        back = safe_back(form.get("back")).split("#")[0]
        plain, _, query = back.partition("?")
        kept = "&".join(p for p in query.split("&") if p and not p.startswith("done="))
        return RedirectResponse(f"{plain}?{kept + '&' if kept else ''}done={what}#{pool_id}", status_code=303)

    async def household_post(request: Request) -> tuple[Visit, Household, dict[str, str]] | Response:
        """A signed-in household's form, or the answer to a post that is not one (another site, no token)."""
        seen = await visit(request)
        form = await posted(request, seen)
        if isinstance(form, Response):
            return form
        assert seen.household is not None  # a valid form token means an open session
        return seen, seen.household, form

    @router.post("/join")
    async def join(request: Request) -> Response:
        got = await household_post(request)
        if isinstance(got, Response):
            return got
        seen, household, form = got
        pool_id = form.get("pool_id", "")[:64]
        try:
            snapshot = await buyer.snapshot(pool_id)
            if snapshot is None:
                raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
            quantity, most, limit = asked(form, limit_optional=True)
            top = Decimal(snapshot.terms.tiers[0].unit_price) / MINOR_UNITS  # no limit given: any tier's price
            await buyer.join(Join(household=household.household_id, min_quantity=quantity, max_quantity=most,
                                  max_price=top if limit is None else limit, pickup_point=form.get("pickup_point", ""),
                                  pool_id=pool_id))  # the pool's window and product
        except PoolProblem as problem:
            return await refused_page(request, seen, form, pool_id, problem)
        return done(form, "joined", pool_id)

    @router.post("/lines/{intent_id}/change")
    async def change(intent_id: str, request: Request) -> Response:
        got = await household_post(request)
        if isinstance(got, Response):
            return got
        seen, household, form = got
        mine = await buyer.open_lines(household.household_id)
        pool_id = next((p for p, line in mine.items() if line["intent_id"] == intent_id), "")
        try:
            quantity, most, limit = asked(form, limit_optional=False)
            assert limit is not None
            result = await buyer.change(Change(intent_id, household.household_id, quantity, most, limit))
        except PoolProblem as problem:
            return await refused_page(request, seen, form, pool_id, problem)
        return done(form, "changed", result["pool_id"])

    @router.post("/lines/{intent_id}/withdraw")
    async def withdraw(intent_id: str, request: Request) -> Response:
        got = await household_post(request)
        if isinstance(got, Response):
            return got
        seen, household, form = got
        try:
            result = await buyer.withdraw(Withdraw(intent_id, household.household_id))
        except PoolProblem as problem:
            return await refused_page(request, seen, form, "", problem)
        return done(form, "withdrawn", result["pool_id"])

    # -- live totals -------------------------------------------------------------------------------

    def live_html(pool_id: str, locale: str) -> str | None:
        version = buyer.feed.version(pool_id)
        key = (pool_id, version, locale)
        html = live_cache.get(key)
        if html is None:
            pool = buyer.pool_desk.book.pools.get(pool_id)
            if pool is None:
                return None
            if len(live_cache) > 2000:
                live_cache.clear()
            html = live_cache[key] = render("shop/pool_live.html", card=card(snapshot_of(pool), locale),
                                            **language_context(locale))
        return html

    @router.get("/live")
    async def live(request: Request) -> Response:
        """Server-Sent Events: each shown pool's live block whenever its version moves."""
        pool_ids = list(dict.fromkeys(request.query_params.getlist("pool")))[:30]
        locale = locale_of(request)
        loop = asyncio.get_running_loop()

        async def stream() -> AsyncIterator[str]:
            shown = {pool_id: buyer.feed.version(pool_id) for pool_id in pool_ids}
            ends = loop.time() + STREAM_SECONDS
            yield "retry: 1000\n\n"
            while loop.time() < ends:
                sent = False
                for pool_id in pool_ids:
                    version = buyer.feed.version(pool_id)
                    if version != shown[pool_id]:
                        shown[pool_id] = version
                        html = live_html(pool_id, locale)
                        if html is not None:
                            sent = True
                            yield f"event: pool\ndata: {json.dumps({'pool_id': pool_id, 'html': html})}\n\n"
                if sent:  # a burst of joins: at most one update per page every COALESCE_SECONDS, the latest
                    await asyncio.sleep(COALESCE_SECONDS)
                elif not await buyer.feed.wait(min(15.0, max(0.1, ends - loop.time()))):
                    yield ": still here\n\n"
        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    app.include_router(router)
