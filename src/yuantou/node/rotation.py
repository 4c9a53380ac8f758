"""Rotating a node's signing key through its directory, without stopping it or breaking its ledger.

The new key is registered with ``valid_from`` now, by a request the old key signs (the directory changes a
registered id only on the word of a key it already holds); the old one stays registered with its own
``valid_from`` and a ``valid_until`` a short overlap ahead, so messages already signed and in
flight still verify, and every ledger entry signed before verifies under the key of its day.
The node's config then names the new key; a running node notices within seconds
(``Node.watch_keys``) and signs with it from then on. The encryption key is kept, so the running
node can answer the directory's challenges for both subscriptions.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from yuantou.node.config import NodeConfig
from yuantou.node.subscription import subscribe
from yuantou.protocol.keys import KeyPair
from yuantou.protocol.registry_client import RegistryClient, parse_subscription


class RotationError(RuntimeError):
    """Why the rotation stopped; the text says what was and was not changed."""


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    key_folder: Path
    old_valid_until: datetime


def next_key_id(key_id: str) -> str:
    """``orchard-k1`` → ``orchard-k2``; an id without a trailing number gets ``-2``."""
    match = re.search(r"(\d+)$", key_id)
    return key_id[:match.start()] + str(int(match.group(1)) + 1) if match else f"{key_id}-2"


def set_toml_values(text: str, values: dict[str, str]) -> str:
    """``text`` with these top-level string settings replaced (or added before the first table), comments and
    everything else kept as written."""
    for name, value in values.items():
        line = f'{name} = "{value}"'
        pattern = re.compile(rf"^{re.escape(name)}\s*=.*$", re.MULTILINE)
        first_table = re.search(r"^\[", text, re.MULTILINE)
        head, tail = (text[:first_table.start()], text[first_table.start():]) if first_table else (text, "")
        if pattern.search(head):
            head = pattern.sub(lambda _: line, head, count=1)
        else:
            head = head.rstrip("\n") + "\n" + line + "\n"
        text = head + tail
    return text


async def rotate(config_path: Path, config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient,
                 new_key_id: str | None = None, overlap: timedelta = timedelta(minutes=5)) -> Rotation:
    new_key_id = new_key_id or next_key_id(config.key_id)
    if new_key_id == config.key_id:
        raise RotationError(f"the new key id must differ from the current one ({config.key_id})")
    registry = RegistryClient(config.directory_url, http)
    try:
        listed = await registry.lookup(subscriber_id=config.subscriber_id, key_id=config.key_id)
    except (httpx.HTTPError, ValueError) as exc:
        raise RotationError(f"cannot reach {config.directory_url}: {exc}; nothing was changed") from None
    if not listed:
        raise RotationError(f"{config.directory_url} lists no key {config.key_id} for {config.subscriber_id}; "
                            "subscribe first (yuantou node subscribe); nothing was changed")
    old_valid_from = datetime.fromtimestamp(parse_subscription(listed[0]).valid_from, UTC)

    new_keys = KeyPair(Ed25519PrivateKey.generate(), keys.encryption)
    folder = config.key_file.resolve().parent / f"{config.key_file.name}-{new_key_id}"
    if folder.exists():
        raise RotationError(f"{folder} already exists; choose another --key-id; nothing was changed")
    new_keys.save(folder)
    now = datetime.now(UTC)
    new_config = config.model_copy(update={"key_id": new_key_id, "key_file": folder})
    answers = await subscribe(new_config, new_keys, http, valid_from=now, signed_by=(config.key_id, keys))
    if any(a["status_code"] != 200 for a in answers):
        raise RotationError(f"the directory refused the new key {new_key_id}: {answers}; the node still signs with "
                            f"{config.key_id} (the new key's files are in {folder})")
    path = Path(config_path)
    path.write_text(set_toml_values(path.read_text(encoding="utf-8"), {
        "key_id": new_key_id, "key_file": os.path.relpath(folder, path.resolve().parent)}), encoding="utf-8")
    until = now + overlap
    answers = await subscribe(config, keys, http, valid_from=old_valid_from, valid_until=until)
    if any(a["status_code"] != 200 for a in answers):
        raise RotationError(f"the node now signs with {new_key_id}, but the directory refused to end {config.key_id} "
                            f"at {until:%Y-%m-%d %H:%M:%S}Z: {answers}; it stays valid until its listed end")
    return Rotation(config.key_id, new_key_id, folder, until)
