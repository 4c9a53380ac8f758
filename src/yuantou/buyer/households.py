"""The storefront's households in the store: each has a personal link, and one session per device it uses.

No passwords. Registering (a name and a phone) opens a session on that device; the household's personal
link opens one on any other. Only hashes of the link's and the cookies' secrets are stored, so a copy of
the store lets nobody in. Ids and secrets carry 128 random bits or more: guessing gets nowhere.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from yuantou.domain.household import clean_name, clean_phone
from yuantou.store.tables import household_sessions, households

SESSION_SECONDS = 180 * 24 * 3600  # a phone stays signed in for a season of pickups
SECRET_MAX = 100  # longer cookies or links are not ours: refused before hashing


def _hash(secret: str) -> str:
    return hashlib.blake2b(secret.encode(), digest_size=32).hexdigest()


@dataclass(frozen=True)
class Household:
    household_id: str
    name: str
    phone: str


@dataclass(frozen=True)
class Registration:
    household: Household
    session_secret: str  # this device's cookie (its personal link is made when asked for, ``new_link``)


def register(conn: Connection, name: str, phone: str, now: float | None = None) -> Registration:
    now = time.time() if now is None else now
    household = Household("hh-" + secrets.token_hex(16), clean_name(name), clean_phone(phone))
    unshown = secrets.token_urlsafe(24)  # a link no one holds until the household asks for one
    conn.execute(insert(households).values(household_id=household.household_id, name=household.name,
                                           phone=household.phone, link_hash=_hash(unshown), created_at=now))
    return Registration(household, _open_session(conn, household.household_id, now))


def new_link(conn: Connection, household_id: str) -> str:
    """A fresh personal link for a household (the old one stops working): it can only be shown once."""
    link = secrets.token_urlsafe(24)
    conn.execute(households.update().where(households.c.household_id == household_id).values(link_hash=_hash(link)))
    return link


def _open_session(conn: Connection, household_id: str, now: float) -> str:
    secret = secrets.token_urlsafe(32)
    conn.execute(delete(household_sessions).where(household_sessions.c.expires_at < now))
    conn.execute(insert(household_sessions).values(session_hash=_hash(secret), household_id=household_id,
                                                   created_at=now, expires_at=now + SESSION_SECONDS))
    return secret


def session_from_link(conn: Connection, link_secret: str, now: float | None = None) -> tuple[Household, str] | None:
    """The household whose personal link this is, with a new session for the device that opened it."""
    if not link_secret or len(link_secret) > SECRET_MAX:
        return None
    row = conn.execute(select(households).where(households.c.link_hash == _hash(link_secret))).mappings().first()
    if row is None:
        return None
    now = time.time() if now is None else now
    return Household(row["household_id"], row["name"], row["phone"]), _open_session(conn, row["household_id"], now)


def session_of(conn: Connection, session_secret: str | None, now: float | None = None) -> tuple[Household, float] | None:
    """The session's household and when the session expires, if it is open."""
    if not session_secret or len(session_secret) > SECRET_MAX:
        return None
    now = time.time() if now is None else now
    row = conn.execute(select(households.c.household_id, households.c.name, households.c.phone,
                              household_sessions.c.expires_at)
                       .join(household_sessions, household_sessions.c.household_id == households.c.household_id)
                       .where(household_sessions.c.session_hash == _hash(session_secret),
                              household_sessions.c.expires_at >= now)).first()
    return None if row is None else (Household(row.household_id, row.name, row.phone), row.expires_at)


class SessionCache:
    """Open sessions seen lately, so that a household's every tap does not cost a store transaction.

    Coherent because one process serves a buyer node's storefront (``workers = 1``) and every way a session ends
    (signing out, expiry) passes here."""

    def __init__(self, most: int = 100_000) -> None:
        self.most = most
        self._open: dict[str, tuple[Household, float]] = {}

    def get(self, session_secret: str, now: float | None = None) -> Household | None:
        found = self._open.get(session_secret)
        if found is None:
            return None
        if found[1] < (time.time() if now is None else now):
            del self._open[session_secret]
            return None
        return found[0]

    def put(self, session_secret: str, household: Household, expires_at: float) -> None:
        if len(self._open) >= self.most:
            self._open.clear()
        self._open[session_secret] = (household, expires_at)

    def forget(self, session_secret: str | None) -> None:
        self._open.pop(session_secret or "", None)


def end_session(conn: Connection, session_secret: str | None) -> None:
    if session_secret and len(session_secret) <= SECRET_MAX:
        conn.execute(delete(household_sessions).where(household_sessions.c.session_hash == _hash(session_secret)))


def contacts(conn: Connection, household_ids: set[str]) -> dict[str, Household]:
    """Names and phones of these households (ids not registered at the storefront are left out)."""
    if not household_ids:
        return {}
    rows = conn.execute(select(households.c.household_id, households.c.name, households.c.phone)
                        .where(households.c.household_id.in_(sorted(household_ids))))
    return {r.household_id: Household(r.household_id, r.name, r.phone) for r in rows}
