"""QR codes as inline SVG, drawn by the node itself (segno): nothing is fetched from elsewhere."""

from __future__ import annotations

import segno
from markupsafe import Markup, escape


def qr_svg(text: str, label: str, scale: int = 4) -> Markup:
    """An ``<svg>`` of ``text`` with ``label`` as its accessible name (segno escapes the title)."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=scale, border=2, title=label, dark="#1f2a24", light="#ffffff", svgclass="qr")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))
