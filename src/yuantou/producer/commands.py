"""Everything a person or a script asks of a producer node, one typed command each.

The JSON API, the CLI and the consoles build these and hand them to ``ProducerService``. A refused
command raises ``ProducerProblem``: ``kind`` says whether the input was wrong (``invalid``), named
something that is not there (``not_found``) or came at the wrong time (``conflict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from yuantou.domain.catalog import CatalogItem
from yuantou.domain.twin import Twin

ProblemKind = Literal["invalid", "not_found", "conflict"]


class ProducerProblem(Exception):
    """``code``, where there is one, says exactly why (e.g. ``already_there`` for an order moved twice), for a
    sentence in the reader's language; ``message`` says it in English with the details."""

    def __init__(self, kind: ProblemKind, message: str, code: str = "") -> None:
        super().__init__(message)
        self.kind, self.message, self.code = kind, message, code


@dataclass(frozen=True, slots=True)
class AdvanceOrder:
    """Accept, pack, ship, deliver or refuse an order; the buyer is told in the same transaction."""

    order_id: str
    state: str  # Accepted, Packed, Shipped, Delivered or Refused (domain.fulfilment says which moves are allowed)
    reason: str = ""  # why it is refused, told to the buyer


@dataclass(frozen=True, slots=True)
class SetAutoAccept:
    """Accept every order as it is confirmed (a buyer can only confirm within capacity), or wait for a person."""

    enabled: bool


@dataclass(frozen=True, slots=True)
class PutItems:
    """Add or replace catalog items (what is already sold of a window stays taken)."""

    items: tuple[CatalogItem, ...]


@dataclass(frozen=True, slots=True)
class ImportCatalog:
    """A catalog file's items: added or replaced, and with ``replace`` the items it does not list retired."""

    items: tuple[CatalogItem, ...]
    replace: bool = False


@dataclass(frozen=True, slots=True)
class RetireItem:
    """Take an item out of the catalog (orders that bought it keep it)."""

    item_id: str


@dataclass(frozen=True, slots=True)
class ReplaceTwin:
    twin: Twin


TWIN_SECTIONS = {"resources": "id", "products": "id", "stock": "id", "lanes": "region"}  # section → its key field


@dataclass(frozen=True, slots=True)
class EditTwin:
    """Add or replace (``record``) or remove (``record=None``) one resource, product, stock lot or lane."""

    section: str
    key: str
    record: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SalesDay:
    product: str
    region: str
    day: date
    quantity: float


@dataclass(frozen=True, slots=True)
class ImportHistory:
    """Sales from before the node existed (replaces those cells)."""

    rows: tuple[SalesDay, ...]


@dataclass(frozen=True, slots=True)
class RunForecast:
    horizon: int = 28  # days ahead
    levels: tuple[int, ...] = (80, 95)  # interval levels in %
    as_of: date | None = None  # forecast from this day on (default: today, UTC)
    windows: int = 2


@dataclass(frozen=True, slots=True)
class RunPlan:
    days: int = 28
    start: date | None = None  # first day (default: today, UTC)
    publish: bool = False  # offer the plan's room for new orders as catalog capacity
    time_limit: float | None = None


@dataclass(frozen=True, slots=True)
class PublishPlan:
    """Offer the latest plan's room for new orders as capacity in the catalog's day windows."""
