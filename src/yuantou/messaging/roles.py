"""What the messaging core asks of a node's roles: the producer answers requests, the buyer takes callbacks."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.engine import Connection


class RequestHandler(Protocol):
    """The producer side: answer a peer's request (``search``, ``select``, …) inside the processing transaction.

    Returns the callback's ``message``; raises ``BecknError`` to refuse (nothing it changed is kept)."""

    def answer(self, conn: Connection, action: str, message: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        ...


class CallbackHandler(Protocol):
    """The buyer side: apply a callback (``on_search``, ``on_confirm``, …) inside the processing transaction."""

    def apply(self, conn: Connection, action: str, payload: dict[str, Any], received_at: float) -> None:
        ...

    def unsolicited_status_problem(self, conn: Connection, sender: str | None, transaction_id: str,
                                   message: Any) -> str | None:
        """Why an ``on_status`` no request asked for may not be taken (``None``: it may)."""
        ...
