"""The ceiling: a bare uvicorn endpoint that answers every POST with a constant ACK (also a callback sink)."""

from fastapi import FastAPI
from fastapi.responses import Response

app = FastAPI()
ACK = b'{"message":{"ack":{"status":"ACK"}}}'


@app.post("/beckn/{action}")
async def ack(action: str) -> Response:
    return Response(ACK, media_type="application/json")


@app.get("/health")
async def health() -> dict:
    return {"ok": True}
