"""What a refused input says to a person: one sentence per kind of validation error (pydantic's ``type``), and
per kind of refused order or producer command, translated. The English details stay beside them for scripts."""

from __future__ import annotations

from yuantou.i18n.catalogs import N_, gettext

INPUT_ERRORS: dict[str, str] = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not one the request takes."),
    "string_type": N_("Enter text here."),
    "string_too_short": N_("This text is too short."),
    "string_too_long": N_("This text is too long."),
    "string_pattern_mismatch": N_("This text is not in the expected form."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number, such as 2 or 2.5."),
    "float_type": N_("Enter a number, such as 2 or 2.5."),
    "decimal_parsing": N_("Enter a number, such as 2 or 2.5."),
    "decimal_type": N_("Enter a number, such as 2 or 2.5."),
    "finite_number": N_("Enter a finite number."),
    "greater_than": N_("This number is too small."),
    "greater_than_equal": N_("This number is too small."),
    "less_than": N_("This number is too large."),
    "less_than_equal": N_("This number is too large."),
    "decimal_max_digits": N_("This number has too many digits."),
    "decimal_max_places": N_("This number has too many decimal places."),
    "datetime_parsing": N_("Enter a date and time."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "date_parsing": N_("Enter a date."),
    "list_type": N_("Give a list here."),
    "too_short": N_("Give at least one entry."),
    "too_long": N_("There are too many entries."),
    "dict_type": N_("Give an object here."),
    "model_type": N_("Give an object here."),
    "json_invalid": N_("The request is not valid JSON."),
    "literal_error": N_("Choose one of the allowed values."),
    "enum": N_("Choose one of the allowed values."),
    "bool_parsing": N_("Answer true or false."),
}
INPUT_FALLBACK = N_("This value is not valid here.")

ORDER_REFUSALS: dict[str, str] = {
    "unknown_producer": N_("The directory does not list that producer."),
    "unknown_order": N_("There is no such order at this node."),
    "not_quoted": N_("The producer has not quoted final terms yet: ask for them (init) first."),
}
PRODUCER_REFUSALS: dict[str, str] = {
    "invalid": N_("This input was refused: the details say what and where."),
    "not_found": N_("There is no such record."),
    "conflict": N_("This cannot be done in the record's present state."),
}

# a producer's refusal with a precise code (``ProducerProblem.code``)
PRODUCER_REFUSALS_BY_CODE: dict[str, str] = {
    "unknown_order": N_("There is no such order at this node."),
    "already_there": N_("The order is in that state already: nothing was changed or sent."),
    "backwards": N_("An order only moves forward: it cannot go back to an earlier state."),
    "ended": N_("This order was refused or cancelled: it moves no more."),
    "shipped": N_("This order has been shipped: it can no longer be refused."),
    "unknown_state": N_("Choose accept, pack, ship, deliver or refuse."),
    "reason_too_long": N_("Keep the reason to 200 characters."),
}


def input_error_text(kind: str, locale: str) -> str:
    return gettext(locale, INPUT_ERRORS.get(kind, INPUT_FALLBACK))


def order_refusal_text(code: str, locale: str) -> str:
    return gettext(locale, ORDER_REFUSALS.get(code, INPUT_FALLBACK))


def producer_refusal_text(kind: str, locale: str, code: str = "") -> str:
    return gettext(locale, PRODUCER_REFUSALS_BY_CODE.get(code) or PRODUCER_REFUSALS.get(kind, INPUT_FALLBACK))
