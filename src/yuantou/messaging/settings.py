"""What the messaging core needs to know of its node, and nothing of the node's other settings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MessagingSettings:
    """The node as its peers see it, and how patient and strict its messaging is."""

    subscriber_id: str
    url: str  # the public base URL of its Beckn endpoints
    directory_url: str
    domain: str
    city: str
    country: str
    roles: tuple[str, ...]  # what it is, as its NACKs name it (the roles it serves plug in as handlers)
    request_ttl: str = "PT30S"
    clock_skew_seconds: int = 5
    signature_backdating_seconds: int = 120
    ledger: bool = True
    outbox_max_attempts: int = 30
    checkpoint_every_seconds: int = 300
    checkpoint_settle_seconds: int = 60
    single_process: bool = True  # one worker: a restart may release its own old outbox leases at once
