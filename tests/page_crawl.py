"""Every page a person can reach from a site's entry pages, by following its links as a browser would: each
answers 200 and renders whole, in the language asked for. What a crawl visited is checked against the app's own
list of page routes, so that a page no link reaches is named instead of being silently skipped."""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit

import httpx
from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

LINK = re.compile(r'\s(?:href|src|hx-get|data-src|data-refresh)="([^"]+)"')
LIVE_POOL = re.compile(r'\sdata-live="([^"]+)"')  # on a storefront page, shop.js streams /shop/live?pool=… for each
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
HTML_LANG = re.compile(r'<html lang="([^"]+)"')
CJK = re.compile(r"[\u4e00-\u9fff]")
NOT_FOLLOWED = ("/logout", "/language", "/shop/sign-out", "/beckn/", "/api/")  # they change state or need a token
ENGLISH_ONLY = ("/docs",)  # the API's reference for engineers: Swagger UI has no Chinese


@dataclass
class Crawl:
    """What one crawl of one site found: every address it fetched with its status, each full page's title, and
    each problem in words (the address, and what was wrong)."""

    statuses: dict[str, int] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def paths(self) -> set[str]:
        return {urlsplit(url).path for url in self.statuses}


def crawl(client: httpx.Client, seeds: list[str], language: str, limit: int = 600) -> Crawl:
    """Fetch ``seeds`` and every same-site address their pages link to, with ``client`` (its cookies are the
    visitor's) asking for ``language`` (``zh-CN`` or ``en``)."""
    found = Crawl()
    queue, seen = deque(seeds), set(seeds)
    while queue and len(found.statuses) < limit:
        url = queue.popleft()
        try:
            links = _fetch(client, url, language, found)
        except httpx.TransportError as exc:  # a process that dies on a page, or drops the connection
            found.problems.append(f"{url}: {type(exc).__name__} {exc}")
            continue
        for link in links:
            target = _same_site(client.base_url.netloc.decode(), url, link)
            if target and target not in seen and not target.startswith(NOT_FOLLOWED):
                seen.add(target)
                queue.append(target)
    if queue:
        found.problems.append(f"more than {limit} addresses: the crawl stopped before {queue[0]}")
    return found


def _fetch(client: httpx.Client, url: str, language: str, found: Crawl) -> list[str]:
    with client.stream("GET", url, headers={"Accept-Language": language}) as response:
        found.statuses[url] = response.status_code
        kind = response.headers.get("content-type", "")
        if response.status_code in (301, 302, 303, 307, 308):
            target = response.headers["location"]
            if urlsplit(target).path == "/login":
                found.problems.append(f"{url}: sent to the login page (the visitor's session was not taken)")
                return []
            return [target]
        if response.status_code != 200:
            found.problems.append(f"{url}: {response.status_code} {response.read()[:300]!r}")
            return []
        if kind.startswith("text/event-stream"):  # a live feed: it answers; its events are the storefront's tests'
            return []
        body = response.read()
    if not kind.startswith("text/html"):
        if not body:
            found.problems.append(f"{url}: an empty {kind or 'answer'}")
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        found.problems.append(f"{url}: not UTF-8 ({exc})")
        return []
    if text.lstrip().lower().startswith("<!doctype html>"):
        english_only = urlsplit(url).path in ENGLISH_ONLY
        title = _check_page(url, text, "en" if english_only else language, found)
        if title is not None and not english_only:
            found.titles[url] = title
    live = [f"/shop/live?pool={quote(html.unescape(pool))}" for pool in LIVE_POOL.findall(text)
            if urlsplit(url).path.startswith("/shop")]
    return [html.unescape(link) for link in LINK.findall(text)] + live


def _check_page(url: str, text: str, language: str, found: Crawl) -> str | None:
    """A whole page: closed, in the language asked for, its title translated. Returns the title."""
    lang = HTML_LANG.search(text)
    title = TITLE.search(text)
    if not text.rstrip().endswith("</html>"):
        found.problems.append(f"{url}: the page ends before </html>")
    if lang is None or lang.group(1).split("-")[0] != language.split("-")[0]:
        found.problems.append(f"{url}: <html lang> is {lang and lang.group(1)!r}, not {language}")
    if title is None:
        found.problems.append(f"{url}: no <title>")
        return None
    text_of_title = html.unescape(title.group(1)).strip()
    if language.startswith("zh") and not CJK.search(text_of_title):
        found.problems.append(f"{url}: the Chinese page's title is not in Chinese: {text_of_title!r}")
    return text_of_title


def _same_site(site: str, page: str, link: str) -> str | None:
    """``link`` (found on the page at path ``page``) as a path and query, or None if it leaves ``site`` (host:port)
    or is not a web address (``data:``, ``mailto:``)."""
    parts = urlsplit(urljoin(f"http://{site}{page}", link.split("#")[0]))
    if parts.scheme not in ("http", "https") or parts.netloc != site:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def page_routes(app: FastAPI, leave_out: tuple[str, ...] = ("/language",)) -> list[Route]:
    """The app's pages: every GET route that is not part of its JSON API (those stay out of the OpenAPI schema),
    but the redirects in ``leave_out``."""
    return [r for r in _flat(app.routes) if isinstance(r, Route) and "GET" in (r.methods or ()) and
            not r.include_in_schema and r.path not in leave_out]


def _flat(routes: list) -> Iterator[BaseRoute]:
    """Every route, included routers opened: FastAPI 0.12x and later keep an included router as one entry holding
    the router (``original_router``); earlier ones copied its routes in. Every page router here carries its own
    prefix, so a route's path is where it answers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


def unvisited(routes: list[Route], paths: set[str]) -> list[str]:
    """The routes no visited path matched."""
    return sorted(r.path for r in routes if not any(r.path_regex.match(path) for path in paths))
