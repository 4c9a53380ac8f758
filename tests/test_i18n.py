"""Languages and money: every marked text translated, the right language chosen, amounts with their currency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

import yuantou
from yuantou.i18n import catalogs
from yuantou.i18n.catalogs import LOCALE_DIR, CatalogMissing, gettext
from yuantou.i18n.locales import CHINESE, ENGLISH, negotiate
from yuantou.i18n.money import money
from yuantou.i18n.refusals import REFUSALS, refusal_text

SOURCE = Path(yuantou.__file__).parent


def marked_texts() -> set[str]:
    """Every text the code and the page templates mark for translation (``N_``, ``_``), as Babel's extractors
    find it."""
    found = extract_from_dir(str(SOURCE), method_map=[("**.py", "python"),
                                                      ("**/templates/**.html", "jinja2.ext:babel_extract")],
                             keywords={"N_": None, "_": None}, comment_tags=(), strip_comment_tags=True)
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def test_every_marked_text_has_a_chinese_translation_and_the_catalog_holds_no_stale_one():
    with (LOCALE_DIR / CHINESE / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=CHINESE)
    translated = {m.id: m.string for m in catalog if m.id}
    marked = marked_texts()
    assert set(REFUSALS.values()) <= marked  # the extractor sees the texts the API answers with
    assert sorted(t for t in marked if not translated.get(t)) == [], "texts without a Chinese translation"
    assert sorted(set(translated) - marked) == [], "catalog entries no code uses any more"
    assert all(gettext(CHINESE, t) != t for t in marked) and all(gettext(ENGLISH, t) == t for t in marked)


def test_every_refusal_code_the_api_answers_with_has_a_sentence_in_both_languages():
    from yuantou.node.api.errors import POOL_STATUS

    assert set(POOL_STATUS) <= set(REFUSALS)
    assert refusal_text("pool_closed", CHINESE) == "本团已截单，不能再修改。"
    assert refusal_text("pool_closed", ENGLISH) == "This pool has closed: it takes no more changes."


def test_the_language_follows_accept_language_and_a_choice_made_on_the_page():
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == CHINESE
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.8") == ENGLISH
    assert negotiate("fr-FR, en;q=0.5, zh-Hant;q=0.8") == CHINESE  # any Chinese reads the simplified texts
    assert negotiate("zh;q=0, en;q=0.1") == ENGLISH and negotiate("fr") == ENGLISH and negotiate(None) == ENGLISH
    assert negotiate("en", chosen=CHINESE) == CHINESE and negotiate("zh", chosen="de") == CHINESE


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=10)))
def test_any_header_gives_one_of_our_languages(header: str, chosen: str | None):
    assert negotiate(header, chosen) in (CHINESE, ENGLISH)


def test_money_carries_its_currency_in_each_language():
    assert money(Decimal("12.5"), "CNY", CHINESE) == "¥12.50"
    assert money("1234.5", "CNY", ENGLISH) == "CNY\u00a01,234.50"
    assert money(27, "CNY", ENGLISH) == "CNY\u00a027.00" and money("9.0", "CNY", CHINESE) == "¥9.00"


def test_a_catalog_left_out_of_an_install_is_an_error_not_a_page_silently_in_english(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(catalogs, "LOCALE_DIR", tmp_path)  # an install without i18n/locale
    catalogs.translations.cache_clear()
    try:
        with pytest.raises(CatalogMissing, match="zh_CN catalog is missing"):
            gettext(CHINESE, "Log out")
        assert gettext(ENGLISH, "Log out") == "Log out"
    finally:
        monkeypatch.undo()
        catalogs.translations.cache_clear()
    assert gettext(CHINESE, "Log out") != "Log out"
