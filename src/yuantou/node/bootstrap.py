"""Composes a node from its config: one messaging core, and the buyer and producer roles it has.

The one place that knows every layer: it turns ``NodeConfig`` into the messaging settings, opens the
store, builds ``BuyerService`` and ``ProducerService`` for the roles the config names and plugs them
into the messaging core as its callback and request handlers. It also follows the config file, so
that ``yuantou node rotate-key`` takes effect while the node runs.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx

from yuantou.buyer.service import BuyerService
from yuantou.messaging import running
from yuantou.messaging.core import Messenger
from yuantou.messaging.intake import Intake
from yuantou.messaging.settings import MessagingSettings
from yuantou.node.config import ConfigError, NodeConfig, load_config
from yuantou.producer.orders import Provider
from yuantou.producer.service import ProducerService
from yuantou.protocol.keys import KeyError_, KeyPair
from yuantou.store.db import Database

log = logging.getLogger(__name__)


def messaging_settings(config: NodeConfig) -> MessagingSettings:
    return MessagingSettings(
        subscriber_id=config.subscriber_id, url=config.url, directory_url=config.directory_url,
        domain=config.domain, city=config.city, country=config.country, roles=tuple(config.roles),
        request_ttl=config.request_ttl,
        clock_skew_seconds=config.clock_skew_seconds, signature_backdating_seconds=config.signature_backdating_seconds,
        ledger=config.ledger, outbox_max_attempts=config.outbox_max_attempts,
        checkpoint_every_seconds=config.checkpoint_every_seconds,
        checkpoint_settle_seconds=config.checkpoint_settle_seconds, single_process=config.workers == 1)


class Node:
    """A running node: its messaging core and its roles, started and stopped together."""

    def __init__(self, config: NodeConfig, keys: KeyPair, http: httpx.AsyncClient | None = None,
                 config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path  # watched for a rotated key (None: the key never changes)
        self.db = Database(config.database_url)
        self.messenger = Messenger(messaging_settings(config), keys, config.key_id, self.db, http)
        self.intake = Intake(self.messenger)
        self.buyer: BuyerService | None = None
        self.producer: ProducerService | None = None
        if config.is_buyer:
            self.buyer = BuyerService(self.messenger, config.pool_schedule, config.gateway_url,
                                      config.offers_refresh_seconds)
            self.messenger.callbacks = self.buyer
        if config.is_producer:
            provider = Provider(config.provider_id or config.subscriber_id, config.provider_name or config.subscriber_id,
                                place=config.provider_place)
            self.producer = ProducerService(self.messenger, provider, config.pool_schedule.zone)
            self.messenger.requests = self.producer
        self._tasks: list[asyncio.Task[Any]] = []  # the messaging core's
        self._watching: list[asyncio.Task[Any]] = []  # the config file's

    async def start(self) -> None:
        self._tasks = await running.start(self.messenger)
        if self.buyer is not None:
            await self.buyer.start()
        if self.config_path is not None:
            self._watching.append(asyncio.create_task(self.watch_keys(self.config_path), name="keys"))

    async def stop(self) -> None:
        for task in self._watching:
            task.cancel()
        await asyncio.gather(*self._watching, return_exceptions=True)
        if self.buyer is not None:
            await self.buyer.stop()
        await running.stop(self.messenger, self._tasks)
        self.db.close()

    async def watch_keys(self, path: Path, every: float = 2.0) -> None:
        """Sign with the key the config names: ``yuantou node rotate-key`` rewrites it while the node runs."""
        seen = path.stat().st_mtime_ns
        while True:
            await asyncio.sleep(every)
            try:
                changed = path.stat().st_mtime_ns
                if changed == seen:
                    continue
                seen = changed
                fresh = load_config(path)
                if (fresh.key_id, fresh.key_file) == (self.config.key_id, self.config.key_file):
                    continue
                keys = KeyPair.load(fresh.key_file)
            except (OSError, ConfigError, KeyError_) as exc:
                log.warning("%s changed but its key cannot be loaded (%s); still signing with %s",
                            path, exc, self.config.key_id)
                continue
            self.config = self.config.model_copy(update={"key_id": fresh.key_id, "key_file": fresh.key_file})
            self.messenger.use_key(fresh.key_id, keys)
