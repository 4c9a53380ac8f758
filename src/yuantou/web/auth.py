"""Who may see a node's dashboard: the holder of the token in its config.

A login form takes the token once and opens a session: a random secret in a cookie, kept in the store only as
its hash, with the hash of the token it was opened with. Logging out revokes it for good (on every worker,
after a restart); changing the token in the config ends every session. Scripts may send
``Authorization: Bearer <token>`` instead.

Each node's cookie has its own name (several nodes on one host share the browser's cookies, whatever their
ports), is HttpOnly and SameSite=Strict, and a dashboard action also needs htmx's ``HX-Request`` header, which
another site's form cannot send: no cross-site requests.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from yuantou.store.tables import web_sessions

SESSION_SECONDS = 12 * 3600


def _hash(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()


def cookie_name(node_id: str) -> str:
    """This node's session cookie: one name per node, so that one node's login never replaces another's."""
    return "yuantou_session_" + hashlib.blake2b(node_id.encode(), digest_size=5).hexdigest()


def open_session(conn: Connection, token: str, now: float | None = None) -> str:
    """A new session for the holder of ``token``; returns the cookie's secret (stored only as its hash)."""
    now = time.time() if now is None else now
    secret = secrets.token_urlsafe(32)
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))  # forget the long expired
    conn.execute(insert(web_sessions).values(session_hash=_hash(secret), token_hash=_hash(token), created_at=now,
                                             expires_at=now + SESSION_SECONDS, revoked_at=None))
    return secret


def session_valid(conn: Connection, token: str, secret: str | None, now: float | None = None) -> bool:
    """An open session, not expired nor revoked, opened with the token the node has now."""
    if not token or not secret or len(secret) > 100:
        return False
    now = time.time() if now is None else now
    row = conn.execute(select(web_sessions.c.token_hash, web_sessions.c.expires_at, web_sessions.c.revoked_at)
                       .where(web_sessions.c.session_hash == _hash(secret))).first()
    return (row is not None and row.revoked_at is None and now <= row.expires_at
            and hmac.compare_digest(row.token_hash, _hash(token)))


def revoke_session(conn: Connection, secret: str | None, now: float | None = None) -> None:
    if secret and len(secret) <= 100:
        conn.execute(update(web_sessions).where(web_sessions.c.session_hash == _hash(secret))
                     .values(revoked_at=time.time() if now is None else now))


def bearer_valid(token: str, header: str | None) -> bool:
    """The header carries this token (an empty token admits nobody)."""
    return bool(token) and header is not None and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this node (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


def login_url(path: str) -> str:
    return "/login?next=" + quote(safe_next(path), safe="/")
