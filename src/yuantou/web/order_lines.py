"""A household's line as "my orders" shows it: status in words, amounts in its currency, pickup in local time.

A pool that failed or could not be bought says why, in plain words, and that nothing is charged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.money import money
from yuantou.web.local_text import quantity, time_span, unit_price
from yuantou.web.qr import qr_svg

STATUS = {
    "joined": N_("Joined: waiting for the cut-off"), "withdrawn": N_("Withdrawn"),
    "ordering": N_("Being ordered"), "ordered": N_("Ordered"), "accepted": N_("Accepted by the producer"),
    "packed": N_("Packed"), "shipped": N_("On its way"), "delivered": N_("At the pickup point"),
    "handed_out": N_("Handed out"), "unsourced": N_("Not bought"), "failed": N_("Pool not formed"),
    "priced_out": N_("Not bought: over your price limit"), "left_out": N_("Not bought: the pool was full"),
}
NOTHING_CHARGED = N_("Nothing is charged.")
WHY = {
    "failed": N_("Not enough was ordered by the cut-off to reach the minimum batch."),
    "unsourced": N_("No producer could supply this pool."),
    "priced_out": N_("The pool's final price was above your limit."),
    "left_out": N_("The pool's batch was full before your share."),
}
FAILURES = {"empty": N_("No one joined this pool."),
            "priced_out": N_("Every household's price limit was below the producer's prices.")}
SHIPPED_HINT = N_("Show the pickup code at the pickup point.")


def line_view(line: dict[str, Any], item_name: Callable[[str | None], str | None], producer_name: Callable[[str], str],
              zone: tzinfo, locale: str) -> dict[str, Any]:
    status, unit, currency = line["status"], line["unit"], line["currency"]
    asked = line["asked"]
    wanted = asked[0] if asked[0] == asked[1] else f"{asked[0]}–{asked[1]}"
    explanation = None
    if status in WHY:
        reason = FAILURES.get(line.get("failure") or "") if status == "failed" else None
        explanation = f"{gettext(locale, reason or WHY[status])} {gettext(locale, NOTHING_CHARGED)}"
    elif status in ("shipped", "delivered"):
        explanation = gettext(locale, SHIPPED_HINT)
    code = line.get("pickup_code")
    got = line["quantity"] is not None and Decimal(line["quantity"]) > 0  # allocated; else show what was asked
    producers = "; ".join(dict.fromkeys(producer_name(s["producer"]) for s in line.get("suppliers") or []))
    return {
        "intent_id": line["intent_id"], "status": status, "status_text": gettext(locale, STATUS.get(status, status)),
        "title": item_name(line["item"]) or line["item"], "explanation": explanation,
        "quantity_text": quantity(line["quantity"], unit) if got else f"{wanted} {unit}",
        "unit_price_text": unit_price(line["unit_price"], currency, unit, locale) if line["unit_price"] else None,
        "amount_text": money(line["amount"], currency, locale) if line.get("amount") else None,
        "pickup_point": line["pickup_point"], "pickup_text": time_span(line["pickup_window"][0], line["pickup_window"][1], zone, locale),
        "producers": producers, "pickup_code": code, "receipt": line.get("receipt"),
        "qr": qr_svg(code, gettext(locale, N_("Pickup code {code} as a QR code"), code=code)) if code else Markup(""),
    }
