"""HTTP message signatures as BECKN-006 specifies them.

Signing string::

    (created): <unix>
    (expires): <unix>
    digest: BLAKE-512=<base64 of BLAKE2b-512(raw body)>

signed with Ed25519 and sent as ``Signature keyId="sub|key_id|ed25519",...``.
Everything here is pure (no I/O), so that it can be checked against the RFC's
worked example byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "ed25519"
SIGNED_HEADERS = "(created) (expires) digest"


def body_digest(body: bytes) -> str:
    """Base64 BLAKE2b-512 of the raw body."""
    return base64.b64encode(hashlib.blake2b(body, digest_size=64).digest()).decode("ascii")


def signing_string(created: int, expires: int, digest_b64: str) -> str:
    return f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest_b64}"


@dataclass(frozen=True)
class SignatureHeader:
    """The parsed parameters of a ``Signature`` auth header."""

    subscriber_id: str
    unique_key_id: str
    key_algorithm: str
    algorithm: str
    created: int
    expires: int
    headers: str
    signature: str

    @property
    def key_id(self) -> str:
        return f"{self.subscriber_id}|{self.unique_key_id}|{self.key_algorithm}"

    def render(self) -> str:
        return (
            f'Signature keyId="{self.key_id}",algorithm="{self.algorithm}",'
            f'created="{self.created}",expires="{self.expires}",'
            f'headers="{self.headers}",signature="{self.signature}"'
        )


class SignatureError(ValueError):
    """Why a signature was refused; the text is safe to return to the sender."""


_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_PARAM = re.compile(r'\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*,?')
_RENDERED = re.compile(r'Signature keyId="([^"|]+)\|([^"|]*)\|ed25519",algorithm="ed25519",created="([0-9]{1,12})",'
                       r'expires="([0-9]{1,12})",headers="\(created\) \(expires\) digest",signature="([A-Za-z0-9+/=]*)"')


def _check_key_id(subscriber_id: str, unique_key_id: str) -> None:
    """Both parts of a keyId present and plain: a key id the registry cannot list under exactly these names would
    verify on arrival through a lenient lookup and never again (``ledger verify`` asks by the exact id)."""
    for part, text, most in (("subscriber_id", subscriber_id, 255), ("unique_key_id", unique_key_id, 128)):
        if not text or len(text) > most or any(c.isspace() or c in '",|' or not c.isprintable() for c in text):
            raise SignatureError(f'keyId must be "subscriber_id|unique_key_id|ed25519": its {part} is empty, longer '
                                 f"than {most} or holds spaces, quotes, commas or control characters")


def parse_signature_header(value: str | None) -> SignatureHeader:
    """The header's parameters, or ``SignatureError`` naming what is wrong with it."""
    match = _RENDERED.fullmatch(value) if value else None
    if match:  # as ``SignatureHeader.render`` writes it: one match, not the general parse (a chain check reads a
        # header an entry); the general parse gives the same for these
        subscriber_id, unique_key_id, created, expires, signature = match.groups()
        _check_key_id(subscriber_id, unique_key_id)
        return SignatureHeader(subscriber_id, unique_key_id, ALGORITHM, ALGORITHM, int(created), int(expires),
                               SIGNED_HEADERS, signature)
    return parse_any_signature_header(value)


def parse_any_signature_header(value: str | None) -> SignatureHeader:
    """The general parse: parameters in any order and spacing."""
    if not value:
        raise SignatureError("missing signature header")
    value = value.strip()
    if not value.startswith("Signature "):
        raise SignatureError("auth scheme must be 'Signature'")
    params = dict(_PARAM.findall(value[len("Signature ") :]))
    missing = [p for p in ("keyId", "algorithm", "created", "expires", "headers", "signature") if p not in params]
    if missing:
        raise SignatureError(f"signature header lacks {', '.join(missing)}")
    parts = params["keyId"].split("|")
    if len(parts) != 3:
        raise SignatureError('keyId must be "subscriber_id|unique_key_id|algorithm"')
    subscriber_id, unique_key_id, key_algorithm = parts
    if key_algorithm != params["algorithm"]:
        raise SignatureError("algorithm in keyId differs from the algorithm parameter")
    if params["algorithm"] != ALGORITHM:
        raise SignatureError(f"unsupported algorithm {params['algorithm']!r} (only ed25519)")
    if params["headers"].split() != SIGNED_HEADERS.split():
        raise SignatureError(f'headers must be "{SIGNED_HEADERS}"')
    if not (_TIMESTAMP.fullmatch(params["created"]) and _TIMESTAMP.fullmatch(params["expires"])):
        raise SignatureError("created and expires must be Unix timestamps")
    created, expires = int(params["created"]), int(params["expires"])
    _check_key_id(subscriber_id, unique_key_id)
    return SignatureHeader(
        subscriber_id, unique_key_id, key_algorithm, params["algorithm"],
        created, expires, params["headers"], params["signature"],
    )


def sign(
    body: bytes,
    private_key: Ed25519PrivateKey,
    subscriber_id: str,
    unique_key_id: str,
    *,
    created: int | None = None,
    expires: int | None = None,
    validity_seconds: int = 300,
) -> str:
    """Return the ``Signature ...`` header value for ``body``."""
    created = int(time.time()) if created is None else created
    expires = created + validity_seconds if expires is None else expires
    text = signing_string(created, expires, body_digest(body))
    signature = base64.b64encode(private_key.sign(text.encode())).decode("ascii")
    return SignatureHeader(
        subscriber_id, unique_key_id, ALGORITHM, ALGORITHM, created, expires, SIGNED_HEADERS, signature
    ).render()


def check_times(header: SignatureHeader, now: float, skew: int) -> None:
    """Refuse a signature created in the future or already expired (± ``skew`` seconds)."""
    if header.created > now + skew:
        raise SignatureError("signature created in the future")
    if header.expires < now - skew:
        raise SignatureError("signature expired")
    if header.expires < header.created:
        raise SignatureError("signature expires before it was created")


def verify(body: bytes, header: SignatureHeader, public_key: Ed25519PublicKey) -> None:
    """Raise ``SignatureError`` unless ``header`` signs ``body`` under ``public_key``."""
    text = signing_string(header.created, header.expires, body_digest(body))
    try:
        raw = base64.b64decode(header.signature, validate=True)
        public_key.verify(raw, text.encode())
    except (InvalidSignature, ValueError):
        raise SignatureError("signature does not verify") from None
