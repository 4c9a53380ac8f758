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


def _countersigning_app():  # noqa: ANN202
    """The callback sink as a Yuantou peer answers: the same ACK with its receipt and its checkpoint on the
    message (what the node under test checks on arrival when its ledger is on). The key comes from the
    environment: YT_SINK_ID (subscriber id), YT_SINK_KEY_ID, YT_SINK_SEED (base64 Ed25519 seed)."""
    import base64
    import json
    import os
    import time
    from dataclasses import replace

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from yuantou.ledger.chain import (
        CHECKPOINT_HEADER,
        RECEIPT_HEADER,
        Checkpoint,
        checkpoint_text,
        digest_of_message,
        render_checkpoint,
        render_receipt,
        sign_receipt,
    )
    from yuantou.protocol.signing import body_digest

    me = os.environ.get("YT_SINK_ID", "sink")
    key_id = f"{me}|{os.environ.get('YT_SINK_KEY_ID', 'k1')}|ed25519"
    seed = os.environ.get("YT_SINK_SEED")  # without one (bench/protocol.py) it signs with a key no one lists:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed)) if seed else Ed25519PrivateKey.generate()

    async def sink(scope, receive, send):  # noqa: ANN001, ANN202
        if scope["type"] == "lifespan":
            return await app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        now = int(time.time())
        headers = list(HEADERS)
        try:
            context = json.loads(body)["context"]
            digest = digest_of_message(context["bpp_id"], me, context["action"], context["transaction_id"],
                                       context["message_id"], body_digest(body))
            cp = Checkpoint(key_id, tuple(sorted((context["bpp_id"], me))), context["transaction_id"], (digest,), now)
            cp = replace(cp, signature=base64.b64encode(key.sign(checkpoint_text(cp))).decode())
            headers += [(RECEIPT_HEADER.lower().encode(), render_receipt(sign_receipt(body, key, key_id, now)).encode()),
                        (CHECKPOINT_HEADER.lower().encode(), render_checkpoint(cp).encode())]
        except (ValueError, KeyError, TypeError):
            pass  # not a Beckn message: a plain ACK
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": ACK})

    return sink


countersigning_app = _countersigning_app()
