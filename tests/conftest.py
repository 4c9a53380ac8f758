"""Shared fixtures: the Beckn reference material, a real local network, a test peer.

Set ``YUANTOU_TEST_PG=postgresql://user@127.0.0.1:5432`` to run every node and the
directory on PostgreSQL instead of SQLite (CI runs the suite both ways). On PostgreSQL only
the tests that use the store backend run (a module that calls ``storage()``, or a test on
the shared ``network`` or a fresh ``db``, unless marked ``sqlite_only`` because another case covers it there);
the others would run the same code twice, so they are deselected, and the run says how many.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import yaml
from jsonschema import Draft202012Validator

from yuantou.devnet.localnet import LocalNetwork, free_port
from yuantou.node.app import create_app
from yuantou.node.bootstrap import Node
from yuantou.node.config import NodeConfig
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import Database

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("YUANTOU_SHARED", ROOT.parent / "shared"))
BECKN = SHARED / "beckn"


BACKEND_FIXTURES = {"network", "peer", "db"}
# every node and directory a test starts gets at most this much address space (a node serving uses ~0.5 GB)
os.environ.setdefault("YUANTOU_PROCESS_MEMORY_MB", "3072")


def pytest_collection_modifyitems(config, items) -> None:  # noqa: ANN001
    if not os.environ.get("YUANTOU_TEST_PG"):
        return
    keep = [i for i in items if ("storage" in vars(i.module) or BACKEND_FIXTURES & set(i.fixturenames))
            and i.get_closest_marker("sqlite_only") is None]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        config._yuantou_deselected = len(dropped)


def pytest_sessionfinish(session) -> None:  # noqa: ANN001
    """An xdist worker deselects on its own; it hands its count to the controller, which prints the summary."""
    if hasattr(session.config, "workeroutput"):
        session.config.workeroutput["yuantou_deselected"] = getattr(session.config, "_yuantou_deselected", 0)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ANN001
    dropped = getattr(node, "workeroutput", {}).get("yuantou_deselected", 0)
    node.config._yuantou_deselected = max(dropped, getattr(node.config, "_yuantou_deselected", 0))


def pytest_terminal_summary(terminalreporter, config) -> None:  # noqa: ANN001
    dropped = getattr(config, "_yuantou_deselected", 0)
    if dropped:
        terminalreporter.write_line(f"PostgreSQL run: {dropped} tests that never touch the store backend, or "
                                    "whose case another covers here (marked sqlite_only), were deselected (they ran "
                                    "on SQLite)")


def pytest_report_header(config) -> str:  # noqa: ANN001
    return f"yuantou storage backend: {'PostgreSQL' if os.environ.get('YUANTOU_TEST_PG') else 'SQLite'}; shared/: {SHARED}"


@pytest.fixture(scope="session")
def beckn_dir() -> Path:
    if not (BECKN / "spec/core-1.1.1/transaction.yaml").exists():
        pytest.fail(f"Beckn reference material not found at {BECKN} (set YUANTOU_SHARED)")
    return BECKN


@pytest.fixture(scope="session")
def official_schema(beckn_dir: Path):
    """``validate(action, payload, formats=False) -> list of (path, message)`` against the official core 1.1.1
    spec. As published (OpenAPI 3.1, so JSON Schema 2020-12) ``format`` is an annotation and asserts nothing:
    that is what a node must accept. ``formats=True`` asserts them too, for what our own nodes send."""
    doc = yaml.safe_load((beckn_dir / "spec/core-1.1.1/transaction.yaml").read_text())
    validators: dict[tuple[str, bool], Draft202012Validator] = {}
    for path, item in doc["paths"].items():
        schema = {**item["post"]["requestBody"]["content"]["application/json"]["schema"],
                  "components": doc["components"]}
        validators[(path.strip("/"), False)] = Draft202012Validator(schema)
        validators[(path.strip("/"), True)] = Draft202012Validator(
            schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def validate(action: str, payload: dict, formats: bool = False) -> list[tuple[str, str]]:
        return [(e.json_path, e.message) for e in validators[(action, formats)].iter_errors(payload)]

    return validate


def storage() -> str:
    return os.environ.get("YUANTOU_TEST_PG") or "sqlite"


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated store on the backend under test (SQLite, or PostgreSQL with YUANTOU_TEST_PG)."""
    net = LocalNetwork(tmp_path, database=storage())
    database = Database(net.db_url("store"))
    database.migrate()
    yield database
    database.close()
    net.stop()


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    net = LocalNetwork(tmp_path_factory.mktemp("net"), database=storage())
    try:
        net.start_default()
        yield net
    finally:
        net.stop()


class Peer:
    """A hand-driven Beckn peer: a registered subscriber whose callback URL is a real loopback server."""

    def __init__(self, subscriber_id: str) -> None:
        self.subscriber_id = subscriber_id
        self.key_id = "peer-k1"
        self.keys = KeyPair.generate()
        self.received: list[dict] = []
        self.ack_headers = lambda body: {}  # extra headers on its ACKs (a test makes it counter-sign, or forge)
        self.ack_delay = 0.0  # seconds between taking a message and answering it (a slow peer)
        self._lock = threading.Lock()
        port = free_port()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with peer._lock:
                    peer.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if peer.ack_delay:
                    time.sleep(peer.ack_delay)
                out = b'{"message":{"ack":{"status":"ACK"}}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                for name, value in peer.ack_headers(body).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/beckn"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def callbacks(self, action: str | None = None, message_id: str | None = None) -> list[dict]:
        with self._lock:
            out = []
            for r in self.received:
                payload = json.loads(r["body"])
                if action and payload["context"]["action"] != action:
                    continue
                if message_id and payload["context"]["message_id"] != message_id:
                    continue
                out.append({**r, "payload": payload})
            return out

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def peer(network):
    p = Peer("tester.yuantou.local")
    network.register(p.subscriber_id, p.url, ["BAP", "BPP"], p.keys, p.key_id)
    yield p
    p.close()


# -- a node in process (the role services' tests): its own ASGI app over httpx.ASGITransport, a real store ------

NODE_TOKEN = "a-token-long-enough-for-tests"


def _node_config(tmp: Path, roles: list[str], database_url: str) -> NodeConfig:
    keys = KeyPair.generate()
    keys.save(tmp / "keys")
    catalog = tmp / "catalog.json"
    catalog.write_text('{"items": []}')
    return NodeConfig(subscriber_id=f"{'-'.join(roles)}.test", url="http://127.0.0.1:9/beckn", roles=roles,
                      key_file=tmp / "keys", directory_url="http://127.0.0.1:9", database_url=database_url,
                      catalog_file=catalog, api_token=NODE_TOKEN, checkpoint_every_seconds=0, pool_utc_offset="+08:00")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def node_client(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Node, httpx.AsyncClient]]:
    """A node with the roles ``request.param`` names, started in process on SQLite or PostgreSQL, and a client of
    its app holding its API token."""
    roles: list[str] = request.param
    net = LocalNetwork(tmp_path, database=storage())
    config = _node_config(tmp_path, roles, net.db_url("node"))
    node = Node(config, KeyPair.load(config.key_file))
    node.db.migrate()
    app = create_app(node)
    await node.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://node",
                                     headers={"Authorization": f"Bearer {NODE_TOKEN}"}) as client:
            yield node, client
    finally:
        await node.stop()
        net.stop()
