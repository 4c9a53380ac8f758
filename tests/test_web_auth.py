"""The dashboard's sessions and bearer check, on a real store: what they admit and what they refuse."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yuantou.web.auth import SESSION_SECONDS, bearer_valid, cookie_name, open_session, revoke_session, safe_next, session_valid

TOKEN = "a-token-of-24-characters"


def test_a_session_lasts_its_time_belongs_to_its_token_and_ends_at_logout(db):
    secret = db.transaction(lambda c: open_session(c, TOKEN, now=1_000_000))
    check = lambda token, value, now: db.transaction(lambda c: session_valid(c, token, value, now=now))  # noqa: E731
    assert check(TOKEN, secret, 1_000_000 + SESSION_SECONDS - 1)
    assert not check(TOKEN, secret, 1_000_000 + SESSION_SECONDS + 1)  # expired
    assert not check(TOKEN + "x", secret, 1_000_001)  # the token changed: everyone is logged out
    assert not check(TOKEN, secret + "x", 1_000_001)  # another secret
    other = db.transaction(lambda c: open_session(c, TOKEN, now=1_000_000))
    db.transaction(lambda c: revoke_session(c, secret, now=1_000_002))
    assert not check(TOKEN, secret, 1_000_003), "a logged-out session stays out"
    assert check(TOKEN, other, 1_000_003), "logging out ends that session only"


@given(st.text(max_size=120))
def test_no_forged_header_gets_in(value):
    assert bearer_valid(TOKEN, value) == (value == f"Bearer {TOKEN}")


def test_an_empty_token_admits_nobody(db):
    secret = db.transaction(lambda c: open_session(c, ""))
    assert not bearer_valid("", "Bearer ") and not db.transaction(lambda c: session_valid(c, "", secret))


def test_each_node_has_its_own_cookie():
    assert cookie_name("orchard.yuantou.local") != cookie_name("buyer1.yuantou.local")
    assert cookie_name("orchard.yuantou.local") == cookie_name("orchard.yuantou.local")


def test_after_login_only_paths_on_this_node():
    assert safe_next("/dashboard/buyer?x=1") == "/dashboard/buyer?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "", None, "dashboard"):
        assert safe_next(bad) == "/dashboard"
