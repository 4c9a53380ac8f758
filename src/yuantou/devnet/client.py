"""A thin client of a node's business API (used by the demo, tests and benchmarks)."""

from __future__ import annotations

import time
from typing import Any

import httpx


class FlowError(RuntimeError):
    pass


class NodeClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 30) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        resp = self.http.request(method, path, **kw)
        if resp.status_code >= 400:
            raise FlowError(f"{method} {path}: HTTP {resp.status_code}: {resp.text}")
        return resp.json()

    def get(self, path: str, **params: Any) -> Any:
        return self._json("GET", path, params=params)

    def post(self, path: str, body: dict | list | None = None) -> Any:
        return self._json("POST", path, json=body if body is not None else {})

    def put(self, path: str, body: dict | list) -> Any:
        return self._json("PUT", path, json=body)

    def callbacks(self, message_id: str, wait: float = 15, count: int = 1) -> list[dict]:
        return self.get(f"/api/messages/{message_id}", wait=wait, count=count)

    def one_callback(self, message_id: str, wait: float = 15) -> dict:
        found = self.callbacks(message_id, wait)
        if not found:
            raise FlowError(f"no callback for message {message_id} within {wait}s")
        return found[0]["payload"]

    def wait_job(self, job: dict, timeout: float = 240) -> dict:
        """Poll a forecast or plan job (``POST /api/*/run``'s answer) until it is done; a failed or stuck
        job raises, saying which and why."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.get(f"/api/jobs/{job['job_id']}")
            if state["state"] == "done":
                return state
            if state["state"] == "failed":
                raise FlowError(f"job {job['job_id']} failed: {state['error']}")
            if time.monotonic() > deadline:
                raise FlowError(f"job {job['job_id']} still running after {timeout:.0f} s")
            time.sleep(0.2)

    def summary(self) -> dict:
        return self.get("/api/summary")

    def close(self) -> None:
        self.http.close()


def order_flow(buyer: NodeClient, transaction_id: str, bpp_id: str, provider_id: str,
               items: list[dict], window_id: str, on_step=None) -> dict:  # noqa: ANN001
    """select → on_select → init → on_init → confirm → on_confirm; returns the on_confirm payload."""
    body = {"transaction_id": transaction_id, "bpp_id": bpp_id, "provider_id": provider_id,
            "items": items, "window_id": window_id, "delivery_gps": "30.2741,120.1551",
            "billing": {"name": "Community pickup point 3", "phone": "+86-571-0000000"}}
    last: dict = {}
    for action in ("select", "init"):
        sent = buyer.post(f"/api/{action}", body)
        last = buyer.one_callback(sent["message_id"])
        if on_step:
            on_step(action, last)
        if last.get("error"):
            return last
    sent = buyer.post("/api/confirm", {"transaction_id": transaction_id, "bpp_id": bpp_id})
    last = buyer.one_callback(sent["message_id"])
    if on_step:
        on_step("confirm", last)
    return last
