"""What a refused pool or hand-out command says to a person, by its code: one sentence each, translated.

The API answers these as ``error.text`` in the request's language, beside the English ``message`` with its
details (ids, numbers) for scripts and logs; pages show the text next to the field (``error.path``).
"""

from __future__ import annotations

from yuantou.i18n.catalogs import N_, gettext

REFUSALS: dict[str, str] = {
    "bad_quantity": N_("Enter a quantity the pool sells: a positive number in its steps."),
    "bad_price": N_("Enter a positive price in whole cents (fen)."),
    "bad_terms": N_("These pool terms do not fit together: check the tiers, bulk unit, minimum batch and times."),
    "bad_product": N_("Name an item, or a category."),
    "bad_pickup": N_("This pool does not deliver to that pickup point."),
    "bad_window": N_("This pool delivers outside the time you can collect."),
    "unknown_product": N_("No producer this node knows offers that product."),
    "unknown_pool": N_("There is no such pool."),
    "unknown_intent": N_("There is no such order line."),
    "pool_closed": N_("This pool has closed: it takes no more changes."),
    "already_withdrawn": N_("This order line was already withdrawn."),
    "duplicate_intent": N_("This order line exists already."),
    "pool_full": N_("This pool is full."),
    "wrong_product": N_("This pool sells another product."),
    "price_too_low": N_("The price is above your limit: raise the limit to join."),
    "not_unsourced": N_("Only a pool that could not be bought can be sourced again."),
    "unknown_code": N_("No order line at this pickup point has that pickup code."),
    "not_arrived": N_("The goods for this line have not left the producer yet."),
    "already_handed_out": N_("This line was already handed out."),
    "bad_number": N_("Enter a number, such as 2 or 2.5."),
    "bad_name": N_("Enter your name as the organiser should call it: up to 32 characters."),
    "bad_phone": N_("Enter a phone number of 5 to 15 digits."),
    "bad_pickup_name": N_("Give each pickup point a name without commas."),
    "bad_time": N_("Enter a date and time."),
}
FALLBACK = N_("This request was refused.")
# where one code covers several mistakes, the field it names picks the sentence
REFUSALS_AT: dict[tuple[str, str], str] = {
    ("bad_terms", "cutoff"): N_("The cut-off must come before the delivery window starts, and not be past."),
    ("bad_terms", "window"): N_("The delivery window must end after it starts."),
    ("bad_terms", "tiers"): N_("Price tiers start at 0, rise in quantity and never cost more per unit."),
    ("bad_terms", "max_quantity"): N_("The maximum must be at least one bulk unit and the minimum batch."),
    ("bad_terms", "bulk_unit"): N_("The bulk unit must be positive."),
}


def refusal_text(code: str, locale: str, path: str | None = None) -> str:
    return gettext(locale, REFUSALS_AT.get((code, path or "")) or REFUSALS.get(code, FALLBACK))
