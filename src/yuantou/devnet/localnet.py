"""A whole network on 127.0.0.1 in child processes: used by ``yuantou demo``, tests and benchmarks.

Each node is a real ``yuantou node serve`` process with its own store, keys and
port, registered in a real ``yuantou directory serve``; nothing is shared but the
loopback interface.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx

from yuantou.devnet.warm_start import ForkedProcess, start_cli
from yuantou.directory.registry import Entry, upsert
from yuantou.protocol.keys import KeyPair
from yuantou.store.db import Database

DOMAIN = "yuantou:agri"
CITY = "std:0571"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


LOCAL = timezone(timedelta(hours=8))  # the demo network's producers and communities keep China time


def window_times(days_ahead: int) -> tuple[str, str]:
    """A delivery day ``days_ahead`` from today (local time), 06:00-20:00, as RFC 3339 UTC."""
    day = datetime.now(LOCAL).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=days_ahead)
    start, end = (day + timedelta(hours=6)).astimezone(UTC), (day + timedelta(hours=20)).astimezone(UTC)
    return (start.isoformat().replace("+00:00", "Z"), end.isoformat().replace("+00:00", "Z"))


# pooled-buying terms (grade, bulk unit, MOQ, price tiers) for items sold to community pools
FUJI_A_ORCHARD = {"grade": "A", "bulk_unit": "5", "tiers": [{"min_quantity": "200", "price": "8.0"}]}
FUJI_A_MILL = {"grade": "A", "bulk_unit": "5", "moq": "50", "tiers": [{"min_quantity": "200", "price": "8.2"}]}

PRODUCERS: dict[str, tuple[str, list[tuple[Any, ...]]]] = {
    "orchard": ("Hillside Orchard Co-op", [
        ("apple-fuji-a", "Fuji apples, grade A", "fruit", "kg", 8.5, 600, FUJI_A_ORCHARD),
        ("pear-snow", "Snow pears", "fruit", "kg", 6.0, 400),
    ]),
    "dairy": ("Green Valley Dairy", [
        ("milk-fresh-1l", "Fresh milk, 1 L bottle", "dairy", "bottle", 7.2, 300),
        ("yogurt-500g", "Plain yogurt, 500 g", "dairy", "tub", 9.0, 200),
    ]),
    "mill": ("Riverside Rice Mill", [
        ("rice-jasmine-10kg", "Jasmine rice, 10 kg bag", "grain", "bag", 68.0, 120),
        ("apple-fuji-b", "Fuji apples, grade B (juicing)", "fruit", "kg", 4.0, 800),
        ("apple-fuji-a", "Fuji apples, grade A (from its partner farms)", "fruit", "kg", 8.8, 1000, FUJI_A_MILL),
    ]),
}


def catalog_document(key: str, name: str, items: list[tuple]) -> dict:
    """A producer's catalog file: each item (id, name, category, unit, price, capacity[, pooling terms])
    is offered for the next three delivery days with that capacity each day."""
    today = datetime.now(LOCAL).date()
    windows = [((today + timedelta(days=d)).isoformat(), *window_times(d)) for d in (1, 2, 3)]
    return {
        "provider": {"id": f"{key}-provider", "name": name},
        "items": [
            {"id": item_id, "name": item_name, "category": cat, "unit": unit, "price": price, "currency": "CNY",
             "windows": [{"id": day, "start": start, "end": end, "capacity": cap} for day, start, end in windows],
             **(terms[0] if terms else {})}
            for item_id, item_name, cat, unit, price, cap, *terms in items
        ],
    }


@dataclass
class Proc:
    name: str
    url: str  # base URL of the process
    process: ForkedProcess | None = None
    config_path: Path | None = None
    subscriber_id: str = ""
    log_path: Path | None = None
    db_url: str = ""
    keys: KeyPair | None = None
    token: str = ""  # the node's api_token: its dashboard login and business API bearer token

    def login_cookie(self) -> dict[str, str]:
        """The session cookie this process's login form sets (name, value, url), for a browser to carry."""
        resp = httpx.post(self.url + "/login", data={"secret": self.token, "next": "/dashboard"}, timeout=10)
        if resp.status_code != 303 or not resp.cookies:
            raise RuntimeError(f"{self.name}: login refused ({resp.status_code})")
        name, value = next(iter(resp.cookies.items()))
        return {"name": name, "value": value, "url": self.url}

    def client(self, prefix: str = "/api", timeout: float = 10) -> httpx.Client:
        """An HTTP client of this process's business API (or ``prefix``), with its token."""
        return httpx.Client(base_url=self.url + prefix, timeout=timeout,
                            headers={"Authorization": f"Bearer {self.token}"})


@dataclass
class LocalNetwork:
    root: Path
    database: str = "sqlite"  # or a PostgreSQL server URL without database name, e.g. postgresql://u@127.0.0.1:5432
    producers: dict[str, Proc] = field(default_factory=dict)
    buyers: dict[str, Proc] = field(default_factory=dict)
    directory: Proc | None = None
    _pg_dbs: list[str] = field(default_factory=list)
    _ports: set[int] = field(default_factory=set)

    def _free_port(self) -> int:
        """A free port not yet handed to another process of this network: nodes started side by side bind theirs
        only when up, so the OS could offer one twice meanwhile."""
        port = free_port()
        while port in self._ports:
            port = free_port()
        self._ports.add(port)
        return port

    @property
    def directory_url(self) -> str:
        if self.directory is None:
            raise RuntimeError("start the directory first (start_directory)")
        return self.directory.url

    def db_url(self, name: str) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{self.root / (name + '.db')}"
        import psycopg

        dbname = f"yt_{name}_{os.getpid()}_{int(time.time() * 1000) % 10**8}".replace("-", "_")
        admin = self.database.rstrip("/") + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        self._pg_dbs.append(dbname)
        return f"{self.database.rstrip('/')}/{dbname}"

    def _spawn(self, proc: Proc, args: list[str], env: dict[str, str] | None = None) -> None:
        """Run ``yuantou <args>`` as its own process (forked from the warm parent: ``warm_start``)."""
        proc.log_path = self.root / f"{proc.name}.log"
        proc.process = start_cli(args, cwd=self.root, env={**os.environ, **(env or {})}, log_path=proc.log_path,
                                 memory_limit_bytes=_memory_cap())

    def start_directory(self, *options: str) -> Proc:
        """Start the directory (``options``: more ``yuantou directory serve`` flags)."""
        port = self._free_port()
        proc = Proc("directory", f"http://127.0.0.1:{port}", subscriber_id="directory.local",
                    token=secrets.token_urlsafe(24))
        self.directory = proc
        self.directory_db = self.db_url("directory")
        self._spawn(proc, ["directory", "serve", "--port", str(port), "--db", self.directory_db,
                           "--key-dir", str(self.root / "directory-keys"), *options],
                    env={"YUANTOU_DIRECTORY_TOKEN": proc.token})
        self.wait_ready(proc, "/")
        return proc

    def add_node(self, name: str, roles: list[str], catalog: dict | None = None, extra: dict | None = None,
                 wait: bool = True) -> Proc:
        """Configure, register and start a node; ``wait=False`` returns once it is spawned, so that several can
        start side by side (``wait_started``): a node takes ~3 s to import and migrate, most of it one core's."""
        port = self._free_port()
        base = f"http://127.0.0.1:{port}"
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        keys = KeyPair.generate()
        keys.save(folder / "keys")
        subscriber_id = f"{name}.yuantou.local"
        token = secrets.token_urlsafe(24)
        database_url = self.db_url(name)
        config: dict[str, Any] = {
            "subscriber_id": subscriber_id, "key_id": f"{name}-k1", "url": f"{base}/beckn", "roles": roles,
            "key_file": "keys", "directory_url": self.directory_url, "database_url": database_url,
            "host": "127.0.0.1", "port": port, "domain": DOMAIN, "city": CITY, "country": "CHN",
            "api_token": token,
            "offers_refresh_seconds": 0,  # the walk-throughs and tests search when they mean to
        }
        if catalog is not None:
            (folder / "catalog.json").write_text(json.dumps(catalog, indent=2))
            config["catalog_file"] = "catalog.json"
        config.update(extra or {})
        config_path = folder / "node.toml"
        config_path.write_text(to_toml(config))
        proc = Proc(name, base, config_path=config_path, subscriber_id=subscriber_id,
                    db_url=database_url, keys=keys, token=token)
        types = (["BAP"] if "buyer" in roles else []) + (["BPP"] if "producer" in roles else [])
        self.register(subscriber_id, f"{base}/beckn", types, keys, f"{name}-k1")
        (self.producers if "producer" in roles else self.buyers)[name] = proc
        self.start_node(proc, wait)
        return proc

    def register(self, subscriber_id: str, url: str, types: list[str], keys: KeyPair, key_id: str,
                 valid_for: timedelta = timedelta(days=30), valid_from: datetime | None = None,
                 city: str = CITY) -> None:
        """Put a subscriber straight into the directory's store (what ``yuantou directory add`` does)."""
        now = datetime.now(UTC)
        valid_from = valid_from or now - timedelta(minutes=1)
        db = Database(self.directory_db)
        try:
            for beckn_type in types:
                db.transaction(lambda c, t=beckn_type: upsert(c, Entry(  # type: ignore[misc]
                    subscriber_id=subscriber_id, url=url, type=t, domain=DOMAIN, city=city, country="CHN",
                    signing_public_key=keys.signing_public_b64, key_id=key_id,
                    encr_public_key=keys.encryption_public_b64, valid_from=valid_from,
                    valid_until=now + valid_for)))
        finally:
            db.close()

    def start_node(self, proc: Proc, wait: bool = True) -> None:
        self._spawn(proc, ["node", "serve", "--config", str(proc.config_path)])
        if wait:
            self.wait_ready(proc, "/health")

    def wait_started(self, procs: list[Proc], each: Callable[[Proc], None] | None = None) -> None:
        """Wait for nodes spawned with ``wait=False`` to answer, in turn (``each`` is called as each does). They
        share the cores while they start, so the time allowed is each one's 30 s in all, not 30 s from now."""
        deadline = time.monotonic() + 30 * len(procs)
        for proc in procs:
            self.wait_ready(proc, "/health", timeout=max(1.0, deadline - time.monotonic()))
            if each:
                each(proc)

    def kill(self, proc: Proc, sig: int = signal.SIGKILL) -> None:
        if proc.process and proc.process.poll() is None:
            os.killpg(proc.process.pid, sig)
            proc.process.wait(10)

    def wait_ready(self, proc: Proc, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.process and proc.process.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{self.log_tail(proc)}")
            try:
                if httpx.get(proc.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{proc.name} did not start in {timeout}s:\n{self.log_tail(proc)}")

    def log_tail(self, proc: Proc, lines: int = 40) -> str:
        if proc.log_path and proc.log_path.exists():
            return "\n".join(proc.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def failure_logs(self, lines: int = 15) -> str:
        """The last lines of every process's log, for a run that failed."""
        tails = [(proc.name, self.log_tail(proc, lines)) for proc in self.all()]
        return "\n".join(f"--- {name} log ---\n{tail}" for name, tail in tails if tail)

    @staticmethod
    def hold() -> None:
        """Keep the network up until Ctrl-C (or SIGTERM, where the caller turns it into one)."""
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass

    def start_default(self, buyers: int = 2) -> None:
        """The demo's shape: a directory, three producers, two buyers."""
        self.start_directory()
        started = [self.add_node(key, ["producer"], catalog_document(key, name, items), wait=False)
                   for key, (name, items) in PRODUCERS.items()]
        started += [self.add_node(f"buyer{i}", ["buyer"], wait=False) for i in range(1, buyers + 1)]
        self.wait_started(started)

    def all(self) -> list[Proc]:
        return ([self.directory] if self.directory else []) + list(self.producers.values()) + list(self.buyers.values())

    def stop(self) -> None:
        for proc in self.all():
            self.kill(proc, signal.SIGTERM)
        if self._pg_dbs:
            import psycopg

            with psycopg.connect(self.database.rstrip("/") + "/postgres", autocommit=True) as conn:
                for dbname in self._pg_dbs:
                    conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


MEMORY_CAP_ENV = "YUANTOU_PROCESS_MEMORY_MB"


def _memory_cap() -> int | None:
    """With ``YUANTOU_PROCESS_MEMORY_MB`` set (the tests set it), each process of the network gets that much
    address space at most (in bytes): a runaway request fails its test instead of taking the machine down."""
    megabytes = os.environ.get(MEMORY_CAP_ENV)
    return int(megabytes) << 20 if megabytes else None


def to_toml(values: dict) -> str:
    """Tiny TOML writer for flat configs (strings, numbers, booleans, string lists)."""
    lines = []
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, (int, float)):
            lines.append(f"{key} = {value}")
        elif isinstance(value, list):
            lines.append(f"{key} = [{', '.join(json.dumps(v) for v in value)}]")
        else:
            lines.append(f"{key} = {json.dumps(str(value))}")
    return "\n".join(lines) + "\n"
