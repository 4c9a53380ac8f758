"""Amounts of money as people read them: ``¥12.50`` in Chinese, ``CNY 12.50`` in English, always with the currency."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency

from yuantou.i18n.locales import CHINESE


def money(amount: Decimal | str | int, currency: str, locale: str) -> str:
    value = Decimal(str(amount))
    if locale == CHINESE:
        return format_currency(value, currency, locale=CHINESE)
    return format_currency(value, currency, format="¤¤\u00a0#,##0.00", locale="en", currency_digits=True)
