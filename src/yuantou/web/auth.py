"""Who may see a node's dashboard: the holder of the token in its config.

A login form takes the token once and sets a session cookie, ``ISSUED.MAC``, where MAC
is HMAC-SHA256 of the issue time under the token. It is stateless, so it holds across a
restart and across workers, and changing the token in the config logs everyone out.
Scripts may send ``Authorization: Bearer <token>`` instead. The cookie is HttpOnly and
SameSite=Strict, and the dashboard's one action (verify the ledger) also needs htmx's
``HX-Request`` header, which another site's form cannot send: no cross-site requests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import quote

COOKIE = "yuantou_session"
SESSION_SECONDS = 12 * 3600


def _mac(token: str, issued: int) -> str:
    return hmac.new(token.encode(), f"yuantou-dashboard:{issued}".encode(), hashlib.sha256).hexdigest()


def session_value(token: str, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    return f"{issued}.{_mac(token, issued)}"


def session_valid(token: str, value: str | None, now: float | None = None) -> bool:
    """A cookie this token issued less than ``SESSION_SECONDS`` ago (and not in the future)."""
    if not token or not value or "." not in value:
        return False
    issued_text, mac = value.split(".", 1)
    if not issued_text.isdigit():
        return False
    issued = int(issued_text)
    age = (time.time() if now is None else now) - issued
    return -60 <= age <= SESSION_SECONDS and hmac.compare_digest(mac, _mac(token, issued))


def bearer_valid(token: str, header: str | None) -> bool:
    """The header carries this token (an empty token admits nobody)."""
    return bool(token) and header is not None and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def allowed(token: str, cookies: dict[str, str], authorization: str | None) -> bool:
    return session_valid(token, cookies.get(COOKIE)) or bearer_valid(token, authorization)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this node (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


def login_url(path: str) -> str:
    return "/login?next=" + quote(safe_next(path), safe="/")
