"""The dashboard's session cookie and bearer check, on their own: what they admit and what they refuse."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yuantou.web.auth import SESSION_SECONDS, bearer_valid, safe_next, session_valid, session_value

TOKEN = "a-token-of-24-characters"


def test_a_session_lasts_its_time_and_belongs_to_its_token():
    cookie = session_value(TOKEN, now=1_000_000)
    assert session_valid(TOKEN, cookie, now=1_000_000 + SESSION_SECONDS - 1)
    assert not session_valid(TOKEN, cookie, now=1_000_000 + SESSION_SECONDS + 1)  # expired
    assert not session_valid(TOKEN, cookie, now=1_000_000 - 3600)  # issued in the future
    assert not session_valid(TOKEN + "x", cookie, now=1_000_001)  # the token changed: everyone is logged out
    issued, mac = cookie.split(".")
    assert not session_valid(TOKEN, f"{int(issued) + 1}.{mac}", now=1_000_001)  # a moved issue time


@given(st.text(max_size=80))
def test_no_forged_cookie_or_header_gets_in(value):
    assert not session_valid(TOKEN, value) or value == session_value(TOKEN, float(value.split(".")[0]))
    assert bearer_valid(TOKEN, value) == (value == f"Bearer {TOKEN}")


def test_an_empty_token_admits_nobody():
    assert not bearer_valid("", "Bearer ") and not session_valid("", session_value(""))


def test_after_login_only_paths_on_this_node():
    assert safe_next("/dashboard/buyer?x=1") == "/dashboard/buyer?x=1"
    for bad in ("https://evil.example/", "//evil.example/", "/\\evil", "", None, "dashboard"):
        assert safe_next(bad) == "/dashboard"
