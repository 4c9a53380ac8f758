"""Which language to answer in: the best of ours for a request's ``Accept-Language`` (RFC 9110 weights)."""

from __future__ import annotations

CHINESE = "zh_CN"
ENGLISH = "en"
LOCALES = (CHINESE, ENGLISH)
DEFAULT = ENGLISH  # a client that states no language (scripts, the CLI) gets English


def _ours(tag: str) -> str | None:
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return CHINESE if primary == "zh" else ENGLISH if primary == "en" else None


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The locale to use: one chosen on the page (a cookie) if it is ours, else the best ``Accept-Language`` match.

    Every Chinese tag (zh, zh-CN, zh-Hans, zh-TW…) gets Simplified Chinese, the one Chinese this node speaks."""
    if chosen in LOCALES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "")[:1000].split(",")[:50]):
        tag, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        locale = _ours(tag)
        if locale and 0 < weight <= 1:
            ranked.append((-weight, position, locale))
    return min(ranked)[2] if ranked else DEFAULT
