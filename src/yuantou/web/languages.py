"""Which language a page speaks, and what every translated template is given: ``_``, the page's language
tag, and the other language to switch to (remembered in a cookie, so every page of the node follows)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from yuantou.i18n.catalogs import gettext
from yuantou.i18n.locales import CHINESE, ENGLISH, negotiate

LANGUAGE_COOKIE = "yuantou_lang"
LANGUAGE_NAMES = {CHINESE: "中文", ENGLISH: "English"}


def locale_of(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), request.cookies.get(LANGUAGE_COOKIE))


def language_context(locale: str) -> dict[str, Any]:
    other = ENGLISH if locale == CHINESE else CHINESE
    return {"_": lambda text, **values: gettext(locale, text, **values), "lang_tag": locale.replace("_", "-"),
            "other_locale": other, "other_tag": other.replace("_", "-"), "other_name": LANGUAGE_NAMES[other]}
