"""The frame every console page shares (``console/base.html``): its title, its navigation, the language switch
that brings the reader back to the same page, and no caching. The organiser's, the producer's, the node's own
and the directory operator's consoles each fix their title and navigation once (``functools.partial``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from yuantou.web.languages import language_context, locale_of
from yuantou.web.site import render


def console_page(request: Request, template: str, heading: str, at: str | None = None, *, title: str,
                 console_nav: Sequence[tuple[str, str]], nav: Sequence[tuple[str, str]] = (),
                 **context: Any) -> HTMLResponse:
    """``at``: the page's own path, query included (an answer to a form's post is still that page, for the
    language link and the navigation); the request's path without one."""
    locale = locale_of(request)
    path = at or request.url.path
    html = render(template, **language_context(locale), heading=heading, nav=nav, console_nav=console_nav,
                  console_title=title, here=path.split("?")[0], path=path, locale=locale, **context)
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Content-Language": locale.replace("_", "-")})
