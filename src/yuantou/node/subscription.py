"""Joining a directory through ``/subscribe`` and answering its ``/on_subscribe`` challenge."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from yuantou.node.config import NodeConfig
from yuantou.protocol import challenge, json_guard
from yuantou.protocol import envelope as env
from yuantou.protocol.keys import KeyPair, load_encryption_public, load_signing_public
from yuantou.protocol.signing import SignatureError, check_times, parse_signature_header, sign, verify


async def directory_info(http: httpx.AsyncClient, directory_url: str) -> dict:
    resp = await http.get(directory_url.rstrip("/") + "/", timeout=10)
    resp.raise_for_status()
    return resp.json()


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def subscribe(config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient, days: int = 365,
                    valid_from: datetime | None = None, valid_until: datetime | None = None,
                    signed_by: tuple[str, KeyPair] | None = None) -> list[dict]:
    """Subscribe ``config.key_id`` in every role the node has (valid from now for ``days``, unless given);
    returns the registry's answers. A new subscriber signs with the key it registers; a registered one signs a
    new key with a key the directory already lists for it (``signed_by``: that key's id and keys)."""
    signer_key_id, signer = signed_by or (config.key_id, keys)
    answers = []
    now = datetime.now(UTC)
    valid_from = valid_from or now
    valid_until = valid_until or now + timedelta(days=days)
    for beckn_type in config.beckn_types:
        payload = {
            "subscriber_id": config.subscriber_id, "url": config.url, "type": beckn_type,
            "domain": config.domain, "location": {"city": {"code": config.city}, "country": {"code": config.country}},
            "key_id": config.key_id, "signing_public_key": keys.signing_public_b64,
            "encr_public_key": keys.encryption_public_b64,
            "valid_from": _iso(valid_from), "valid_until": _iso(valid_until),
            "nonce": env.new_id(),
        }
        body = env.dumps(payload)
        resp = await http.post(config.directory_url + "/subscribe", content=body, timeout=30, headers={
            "Content-Type": "application/json",
            "Authorization": sign(body, signer.signing, config.subscriber_id, signer_key_id)})
        try:
            answer = resp.json()
        except ValueError:
            answer = {"error": {"message": resp.text[:300]}}
        answers.append({"type": beckn_type, "status_code": resp.status_code,
                        **(answer if isinstance(answer, dict) else {"answer": answer})})
    return answers


async def answer_challenge(body: bytes, authorization: str | None, keys: KeyPair, http: httpx.AsyncClient,
                           directory_url: str, skew: int) -> tuple[int, dict]:
    """Check that the registry signed the challenge, then decrypt it."""
    try:
        info = await directory_info(http, directory_url)
    except (httpx.HTTPError, ValueError):
        return 503, {"error": "this node's directory cannot be reached to check the challenge's signature"}
    try:
        header = parse_signature_header(authorization)
        check_times(header, time.time(), skew)
        if header.subscriber_id != info["subscriber_id"]:
            raise SignatureError("on_subscribe not signed by this node's directory")
        verify(body, header, load_signing_public(info["signing_public_key"]))
    except SignatureError as exc:
        return 401, {"error": str(exc)}
    try:
        data = json_guard.loads(body)
        answer = challenge.decrypt(data["challenge"], keys.encryption, load_encryption_public(info["encr_public_key"]))
    except (KeyError, ValueError, TypeError) as exc:
        return 400, {"error": f"cannot decrypt challenge: {exc}"}
    return 200, {"answer": answer}
