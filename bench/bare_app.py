"""The ceiling: a bare uvicorn endpoint (raw ASGI, no framework) answering every request with a constant ACK.

It also serves as the callback sink for the node under test.
"""

ACK = b'{"message":{"ack":{"status":"ACK"}}}'
HEADERS = [(b"content-type", b"application/json")]


async def app(scope, receive, send):  # noqa: ANN001, ANN201
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": ACK})


def _fastapi_app():  # noqa: ANN202
    """The same constant behind FastAPI, the framework the node uses: shows what the framework costs."""
    from fastapi import FastAPI
    from fastapi.responses import Response

    api = FastAPI()

    @api.post("/beckn/{action}")
    async def ack(action: str) -> Response:
        return Response(ACK, media_type="application/json")

    return api


fastapi_app = _fastapi_app()
