"""Gettext catalogs, read from the ``.po`` files shipped in ``i18n/locale`` and compiled in memory once.

English is the source language: its texts are the message ids, so it needs no catalog. Mark a text for
translation with ``N_`` where it is defined and translate it with ``gettext(locale, text)`` where it is shown.
``tests/test_i18n.py`` fails on any marked text the Chinese catalog does not translate.
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from yuantou.i18n.locales import ENGLISH, LOCALES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def N_(text: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    return text


class CatalogMissing(RuntimeError):
    """A language the node speaks has no catalog where the package keeps it: an install that left it out."""


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """``locale``'s catalog; English (the message ids) and a locale the node does not speak need none. A missing
    catalog of a spoken language is an error, never a page silently in English."""
    if locale == ENGLISH or locale not in LOCALES:
        return _gettext.NullTranslations()
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.is_file():
        raise CatalogMissing(f"the {locale} catalog is missing from the installed package ({path}): reinstall yuantou")
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return _gettext.GNUTranslations(compiled)


def gettext(locale: str, text: str, **values: object) -> str:
    """``text`` in ``locale``, with ``{name}`` placeholders filled from ``values``."""
    translated = translations(locale).gettext(text)
    return translated.format(**values) if values else translated
