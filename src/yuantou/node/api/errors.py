"""How a refused command reads over HTTP: a 4xx with what is wrong and where, never a 500."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from yuantou.buyer.commands import OrderProblem
from yuantou.domain.pooling import PoolProblem
from yuantou.i18n.input_errors import input_error_text, order_refusal_text, producer_refusal_text
from yuantou.i18n.locales import DEFAULT, negotiate
from yuantou.i18n.refusals import refusal_text
from yuantou.messaging.core import OutgoingInvalid
from yuantou.producer.commands import ProducerProblem
from yuantou.protocol.json_guard import finite

POOL_STATUS = {"unknown_pool": 404, "unknown_intent": 404, "pool_closed": 409, "already_withdrawn": 409,
               "duplicate_intent": 409, "pool_full": 409, "not_unsourced": 409, "unknown_code": 404,
               "not_arrived": 409, "already_handed_out": 409}
ORDER_STATUS = {"unknown_producer": 404, "unknown_order": 404, "not_quoted": 409}
PRODUCER_STATUS = {"invalid": 422, "not_found": 404, "conflict": 409}


def pool_refusal_status(problem: PoolProblem) -> int:
    return POOL_STATUS.get(problem.code, 400)


def pool_refusal_body(problem: PoolProblem, locale: str = DEFAULT) -> dict[str, Any]:
    """``text``: one sentence for a person, in their language; ``message``: the English detail, for scripts."""
    return {"error": {"code": problem.code, "message": problem.message, "path": problem.path,
                      "text": refusal_text(problem.code, locale, problem.path)}}


def _locale(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"))


def validation_body(errors: Any, locale: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """FastAPI's 422 shape (``detail``: pydantic's errors, ``loc`` from ``prefix``), each with a ``text`` for a person."""
    detail = finite(jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")[:200]}))
    return {"detail": [{**e, "loc": [*prefix, *e.get("loc", [])], "text": input_error_text(str(e.get("type")), locale)}
                       for e in detail]}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PoolProblem)
    async def pool_problem(request: Request, exc: PoolProblem) -> JSONResponse:
        locale = negotiate(request.headers.get("accept-language"))
        return JSONResponse(pool_refusal_body(exc, locale), pool_refusal_status(exc),
                            headers={"Content-Language": locale.replace("_", "-")})

    @app.exception_handler(OrderProblem)
    async def order_problem(request: Request, exc: OrderProblem) -> JSONResponse:
        locale = _locale(request)
        return JSONResponse({"detail": exc.message, "error": {
            "code": exc.code, "message": exc.message, "path": exc.path,
            "text": order_refusal_text(exc.code, locale)}}, ORDER_STATUS.get(exc.code, 400),
            headers={"Content-Language": locale.replace("_", "-")})

    @app.exception_handler(ProducerProblem)
    async def producer_problem(request: Request, exc: ProducerProblem) -> JSONResponse:
        locale = _locale(request)
        return JSONResponse({"detail": exc.message, "error": {
            "code": exc.code or exc.kind, "message": exc.message, "text": producer_refusal_text(exc.kind, locale,
                                                                                              exc.code)}},
            PRODUCER_STATUS[exc.kind], headers={"Content-Language": locale.replace("_", "-")})

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, but written so that any input can be echoed: an infinite number in a body made its own
        handler fail with a 500 ("Out of range float values are not JSON compliant"). Each error also says what
        is wrong in the request's language (``text``)."""
        locale = _locale(request)
        return JSONResponse(validation_body(exc.errors(), locale), status_code=422,
                            headers={"Content-Language": locale.replace("_", "-")})

    @app.exception_handler(OutgoingInvalid)
    async def outgoing_invalid(_: Request, exc: OutgoingInvalid) -> JSONResponse:
        return JSONResponse({"detail": "the message would break Beckn core 1.1.1",
                             "violations": [{"path": v.path, "message": v.message} for v in exc.violations]},
                            status_code=422)
