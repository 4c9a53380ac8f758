"""An independent Beckn peer for the outside probes.

Built on ``cryptography`` and the standard library only, and sharing no code with ``yuantou``: what it checks
is the wire as the specs write it (BECKN-006 signatures, the registry's X25519 + AES-256-ECB challenge), not
our own reading of it. It sends raw bytes exactly as a test writes them, so malformed, oversized, deeply
nested or duplicated-key bodies reach the server unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(UTC))


def signature(body: bytes, key: Ed25519PrivateKey, subscriber_id: str, key_id: str, *,
              created: int | None = None, expires: int | None = None, key_id_field: str | None = None) -> str:
    """A BECKN-006 ``Signature`` header over ``body`` (``key_id_field`` replaces the whole keyId, for probes)."""
    created = int(time.time()) if created is None else created
    expires = created + 300 if expires is None else expires
    digest = b64(hashlib.blake2b(body, digest_size=64).digest())
    text = f"(created): {created}\n(expires): {expires}\ndigest: BLAKE-512={digest}"
    signed = b64(key.sign(text.encode()))
    key_field = key_id_field if key_id_field is not None else f"{subscriber_id}|{key_id}|ed25519"
    return (f'Signature keyId="{key_field}",algorithm="ed25519",created="{created}",expires="{expires}",'
            f'headers="(created) (expires) digest",signature="{signed}"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ack(self) -> str | None:
        try:
            return self.json()["message"]["ack"]["status"]
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def error(self) -> dict:
        try:
            return self.json().get("error") or {}
        except (ValueError, AttributeError):
            return {}


def post(url: str, body: bytes, headers: dict[str, str] | None = None, timeout: float = 30,
         method: str = "POST") -> Answer:
    """Send ``body`` byte for byte (``http.client``: no re-encoding, no added headers but Host and length)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path or "/", body=body, headers={"Content-Type": "application/json", **(headers or {})})
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def post_streamed(url: str, headers: dict[str, str], parts: list[bytes], chunked: bool = False,
                  timeout: float = 30) -> int:
    """Send the request line and headers, then ``parts`` (as chunks if ``chunked``) over a raw socket, and return
    the status the server answers with, even if it answers before the body is all sent (as a limit should)."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        head = [f"POST {address.path} HTTP/1.1", f"Host: {address.hostname}:{address.port}",
                "Content-Type: application/json"] + [f"{k}: {v}" for k, v in headers.items()]
        if chunked:
            head.append("Transfer-Encoding: chunked")
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for part in parts:
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server has answered and hung up: read what it said
        status_line = sock.makefile("rb").readline().decode()
    return int(status_line.split()[1])


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Answer:
    return post(url, b"", headers, timeout, method="GET")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stranger:
    """A Beckn subscriber of its own: Ed25519 and X25519 keys, and a loopback server that records what it is
    sent, ACKs it, and answers a registry's challenge."""

    def __init__(self, subscriber_id: str, key_id: str = "stranger-k1", answer_challenges: bool = True) -> None:
        self.subscriber_id, self.key_id = subscriber_id, key_id
        self.signing = Ed25519PrivateKey.generate()
        self.encryption = X25519PrivateKey.generate()
        self.answer_challenges = answer_challenges
        self.answer_padding = 0  # bytes of padding in its ACKs (a peer answering with far too much)
        self.directory_url: str | None = None
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        stranger = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with stranger._lock:
                    stranger.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if self.path.endswith("/on_subscribe"):
                    status, out = stranger._challenge_answer(body)
                else:
                    status, out = 200, b'{"message":{"ack":{"status":"ACK"}},"padding":"%s"}' % (
                        b"x" * stranger.answer_padding)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/beckn"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    # -- keys ---------------------------------------------------------------------------------

    @property
    def signing_public(self) -> str:
        return b64(self.signing.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    @property
    def encryption_public(self) -> str:
        """DER SubjectPublicKeyInfo, base64: how ONDC registries take an X25519 key."""
        return b64(self.encryption.public_key().public_bytes(serialization.Encoding.DER,
                                                             serialization.PublicFormat.SubjectPublicKeyInfo))

    def sign(self, body: bytes, **kw: Any) -> str:
        key = kw.pop("key", self.signing)
        return signature(body, key, kw.pop("subscriber_id", self.subscriber_id), kw.pop("key_id", self.key_id), **kw)

    def _challenge_answer(self, body: bytes) -> tuple[int, bytes]:
        if not self.answer_challenges or self.directory_url is None:
            return 404, b'{"error":"no"}'
        info = get(self.directory_url + "/").json()
        directory_key = serialization.load_der_public_key(base64.b64decode(info["encr_public_key"]))
        assert isinstance(directory_key, X25519PublicKey)
        shared = self.encryption.exchange(directory_key)
        decryptor = Cipher(algorithms.AES(shared), modes.ECB()).decryptor()
        padded = decryptor.update(base64.b64decode(json.loads(body)["challenge"])) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        answer = (unpadder.update(padded) + unpadder.finalize()).decode()
        return 200, json.dumps({"answer": answer}).encode()

    # -- talking ---------------------------------------------------------------------------------

    def send(self, url: str, payload: dict | bytes, *, headers: dict[str, str] | None = None, **sign_kw: Any) -> Answer:
        """POST ``payload`` (a dict is written compactly; bytes go as they are), signed unless a test passes its
        own ``Authorization``."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        out = {"Authorization": self.sign(body, **sign_kw)}
        out.update(headers or {})
        return post(url, body, out)

    def subscription(self, directory_url: str, beckn_type: str = "BAP", *, key_id: str | None = None,
                     url: str | None = None, signing_public: str | None = None, domain: str = "yuantou:agri",
                     city: str = "std:0571", valid_for: timedelta = timedelta(days=30)) -> dict[str, Any]:
        """A ``/subscribe`` body for this stranger (every field overridable, to impersonate)."""
        self.directory_url = directory_url
        now = datetime.now(UTC)
        return {"subscriber_id": self.subscriber_id, "url": url or self.url, "type": beckn_type, "domain": domain,
                "location": {"city": {"code": city}, "country": {"code": "CHN"}}, "key_id": key_id or self.key_id,
                "signing_public_key": signing_public or self.signing_public, "encr_public_key": self.encryption_public,
                "valid_from": iso(now - timedelta(seconds=5)), "valid_until": iso(now + valid_for),
                "nonce": str(uuid.uuid4())}

    def subscribe(self, directory_url: str, beckn_type: str = "BAP", **kw: Any) -> Answer:
        """Subscribe self-signed (the key being registered signs)."""
        sign_kw = {k: kw.pop(k) for k in ("key", "key_id_signing", "subscriber_id") if k in kw}
        body = self.subscription(directory_url, beckn_type, **kw)
        key_id = sign_kw.pop("key_id_signing", body["key_id"])
        return self.send(directory_url + "/subscribe", body, key_id=key_id, **sign_kw)

    def lookup(self, directory_url: str, **criteria: Any) -> list[dict[str, Any]]:
        answer = post(directory_url + "/lookup", json.dumps(criteria).encode())
        assert answer.status == 200, answer
        return answer.json()

    def context(self, action: str, bpp_id: str, bpp_uri: str, **overrides: Any) -> dict[str, Any]:
        context = {"domain": "yuantou:agri", "location": {"city": {"code": "std:0571"}, "country": {"code": "CHN"}},
                   "action": action, "version": "1.1.0", "bap_id": self.subscriber_id, "bap_uri": self.url,
                   "bpp_id": bpp_id, "bpp_uri": bpp_uri, "transaction_id": str(uuid.uuid4()),
                   "message_id": str(uuid.uuid4()), "timestamp": now_iso(), "ttl": "PT30S"}
        context.update(overrides)
        return context

    def callbacks(self, action: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for r in self.received:
                try:
                    payload = json.loads(r["body"])
                except ValueError:
                    continue
                if action is None or (payload.get("context") or {}).get("action") == action:
                    out.append({**r, "payload": payload})
            return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
