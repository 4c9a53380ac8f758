"""What a node says when it starts: its roles, addresses, dashboard and store, whether its directory answers and
lists it, and a warning where buyers would find no producer (a node left at another city's code finds nobody).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from yuantou import __version__
from yuantou.node.config import NodeConfig
from yuantou.protocol.keys import KeyPair
from yuantou.protocol.registry_client import first_valid

LOOKUP_SECONDS = 3  # a start never waits longer on a directory that does not answer


@dataclass(frozen=True)
class DirectoryView:
    reachable: bool
    problem: str = ""  # why not, in words
    listed: tuple[str, ...] = ()  # roles (BAP, BPP) in which the directory lists this key, valid now
    producers_here: int = 0  # other producers of the node's domain and city (asked for a buyer only)


def _valid_now(entry: dict) -> bool:
    """A SUBSCRIBED entry whose key is valid now, as every node's registry client reads one."""
    return first_valid([entry], time.time()) is not None


async def look_up(config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient) -> DirectoryView:
    """Ask the directory about this node and its city's producers (at most ``LOOKUP_SECONDS`` per question)."""
    base = config.directory_url.rstrip("/")
    try:
        mine = (await http.post(base + "/lookup", json={"subscriber_id": config.subscriber_id},
                                timeout=LOOKUP_SECONDS)).raise_for_status().json()
        here = (await http.post(base + "/lookup", json={
            "type": "BPP", "domain": config.domain, "location": {"city": {"code": config.city}}},
            timeout=LOOKUP_SECONDS)).raise_for_status().json() if config.is_buyer else []
    except httpx.HTTPError as exc:
        return DirectoryView(False, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    except ValueError:
        return DirectoryView(False, "its /lookup did not answer JSON")
    listed = tuple(sorted({e.get("type", "") for e in mine if isinstance(e, dict)
                           and e.get("key_id") == config.key_id
                           and e.get("signing_public_key") == keys.signing_public_b64 and _valid_now(e)}))
    producers = {e.get("subscriber_id") for e in here if isinstance(e, dict) and _valid_now(e)} - {config.subscriber_id}
    return DirectoryView(True, listed=listed, producers_here=len(producers))


def banner(config: NodeConfig, view: DirectoryView) -> list[str]:
    """The lines ``yuantou node serve`` prints before it serves."""
    public = config.url.removesuffix("/").removesuffix("/beckn")
    lines = [f"Yuantou node {config.subscriber_id} ({', '.join(config.roles)}) · yuantou {__version__}",
             f"  listening on  http://{config.host}:{config.port}",
             f"  Beckn         {config.url}",
             f"  dashboard     {public}/dashboard  (login: the api_token in the config)"]
    if config.is_producer:
        lines.append(f"  console       {public}/dashboard/producer/orders")
    if config.is_buyer:
        lines.append(f"  console       {public}/dashboard/organiser   shop: {public}/shop")
    store = config.database_url.split("@")[-1] if config.database_url.startswith("postgresql") else config.database_url
    lines.append(f"  store         {store}")
    lines.append(f"  context       {config.domain} · {config.city} · {config.country}"
                 f" · {config.time_zone or config.pool_utc_offset}")
    if not view.reachable:
        lines.append(f"  directory     {config.directory_url}: NOT REACHABLE ({view.problem}); peers cannot find "
                     "this node until it is")
        return lines
    wanted = set(config.beckn_types)
    if wanted <= set(view.listed):
        lines.append(f"  directory     {config.directory_url}: reachable, lists this node ({', '.join(view.listed)})")
    elif config.subscribe_at_start:
        lines.append(f"  directory     {config.directory_url}: reachable; subscribing this node once it is up")
    else:
        lines.append(f"  directory     {config.directory_url}: reachable, but it does not list this node's key "
                     f"{config.key_id} as {', '.join(sorted(wanted - set(view.listed)))}: run yuantou node subscribe "
                     "once the node is up (or set subscribe_at_start = true)")
    if config.is_buyer and view.producers_here == 0:
        lines.append(f"  WARNING       the directory lists no producer of {config.domain} in {config.city}: searches "
                     "and pools will find nobody. Check city and domain (the producers' city code, e.g. std:021).")
    return lines


async def subscribe_when_up(config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient,
                            wait_seconds: float = 60) -> str:
    """Once this node answers on its own port, subscribe it where the directory does not list its key (the
    directory's challenge comes back to the running node); says what happened, for the log."""
    from yuantou.node.subscription import subscribe

    view = await look_up(config, keys, http)
    if not view.reachable:
        return f"directory {config.directory_url} not reachable ({view.problem}): not subscribed"
    if set(config.beckn_types) <= set(view.listed):
        return f"directory {config.directory_url} lists this node already"
    health = f"http://{'127.0.0.1' if config.host in ('0.0.0.0', '') else config.host}:{config.port}/health"
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if (await http.get(health, timeout=2)).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return f"{health} did not answer in {wait_seconds:.0f} s: not subscribed"
        await asyncio.sleep(0.2)
    answers = await subscribe(config, keys, http)
    failed = [a for a in answers if a["status_code"] != 200]
    if failed:
        return "subscription refused: " + "; ".join(
            f"{a['type']}: {(a.get('error') or {}).get('message') or a}" for a in failed)
    return f"subscribed to {config.directory_url} as {', '.join(a['type'] for a in answers)}"

