"""Verifying the signatures on an incoming Beckn request (BECKN-006 steps 2, 4, 5, 7, 9, 10).

A failure says which header failed, so that the HTTP layer can answer 401 with
``WWW-Authenticate`` (sender's own signature) or ``Proxy-Authenticate`` (gateway's).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from yuantou.protocol.registry_client import SubscriberKey
from yuantou.protocol.signing import (
    SIGNED_HEADERS,
    SignatureError,
    SignatureHeader,
    check_times,
    parse_signature_header,
    verify,
)

AUTHORIZATION = "authorization"
GATEWAY_AUTHORIZATION = "x-gateway-authorization"


class KeyResolver(Protocol):
    async def key(self, subscriber_id: str, key_id: str) -> SubscriberKey | None: ...


class AuthFailure(Exception):
    """Why authentication failed and which challenge header answers it (``WWW-Authenticate`` or
    ``Proxy-Authenticate``). A plain exception: a frozen dataclass cannot be raised through a ``with``."""

    def __init__(self, reason: str, challenge_header: str) -> None:
        super().__init__(reason, challenge_header)
        self.reason, self.challenge_header = reason, challenge_header

    def challenge(self, realm: str) -> dict[str, str]:
        return {self.challenge_header: f'Signature realm="{realm}",headers="{SIGNED_HEADERS}"'}


@dataclass(frozen=True)
class Authenticated:
    signer: SignatureHeader
    signer_key: SubscriberKey
    gateway: SignatureHeader | None = None
    gateway_key: SubscriberKey | None = None


def slack(skew: int, backdating: int) -> tuple[int, int]:
    """How far before its key's ``valid_from`` and after its ``valid_until`` a signature's ``created`` may fall:
    other stacks sign with ``created`` a minute in the past (beckn/protocol-server does), so a key's first
    minute would refuse them; after the period, only clock skew. ``ledger verify`` allows the same, so that
    nothing taken on arrival fails the check later."""
    return max(skew, backdating), skew


async def _check(
    body: bytes, value: str | None, keys: KeyResolver, skew: int, challenge_header: str, now: float, backdating: int
) -> tuple[SignatureHeader, SubscriberKey]:
    try:
        header = parse_signature_header(value)
        check_times(header, now, skew)
    except SignatureError as exc:
        raise AuthFailure(str(exc), challenge_header) from None
    key = await keys.key(header.subscriber_id, header.unique_key_id)
    if key is None:
        raise AuthFailure(f"no valid key {header.key_id!r} in the registry", challenge_header)
    early, late = slack(skew, backdating)  # ``expires`` is never stretched
    if header.created < key.valid_from - early or header.created > key.valid_until + late:
        raise AuthFailure("signature made outside the key's validity period", challenge_header)
    try:
        verify(body, header, key.public_key)
    except SignatureError as exc:
        raise AuthFailure(str(exc), challenge_header) from None
    return header, key


async def authenticate(
    body: bytes,
    headers: dict[str, str],
    keys: KeyResolver,
    *,
    skew: int = 5,
    backdating: int = 120,
    require_gateway: bool = False,
    now: float | None = None,
) -> Authenticated:
    """Check the sender's ``Authorization`` and, when present, the gateway's signature."""
    now = time.time() if now is None else now
    gateway_value = headers.get(GATEWAY_AUTHORIZATION)
    gateway = gateway_key = None
    if gateway_value or require_gateway:
        gateway, gateway_key = await _check(body, gateway_value, keys, skew, "Proxy-Authenticate", now,
                                            backdating)
        if gateway_key.type and gateway_key.type != "BG":
            raise AuthFailure("X-Gateway-Authorization signed by a non-gateway", "Proxy-Authenticate")
    signer, signer_key = await _check(body, headers.get(AUTHORIZATION), keys, skew, "WWW-Authenticate", now,
                                        backdating)
    return Authenticated(signer, signer_key, gateway, gateway_key)
