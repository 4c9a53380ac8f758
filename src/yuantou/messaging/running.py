"""Starts and stops a messaging core's background work: inbox writer, outbox sender, processor, pair checkpoints."""

from __future__ import annotations

import asyncio
from typing import Any

from yuantou.messaging.core import Messenger
from yuantou.messaging.pair_checkpoints import keep_agreeing
from yuantou.messaging.processor import Processor


async def start(messenger: Messenger) -> list[asyncio.Task[Any]]:
    """The core's tasks, started; hand them to ``stop``."""
    if messenger.config.single_process:  # a restart after a crash need not wait for its own old leases
        await messenger.db.run(messenger.outbox.release_claims)
    tasks = [
        asyncio.create_task(messenger.inbox.run(), name="inbox"),
        asyncio.create_task(messenger.outbox.run(), name="outbox"),
        asyncio.create_task(Processor(messenger).run(), name="processor"),
    ]
    if messenger.config.ledger and messenger.config.checkpoint_every_seconds:
        tasks.append(asyncio.create_task(keep_agreeing(messenger), name="pair-checkpoints"))
    messenger.wake_processor()
    return tasks


async def stop(messenger: Messenger, tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await messenger.http.aclose()
    await messenger.outbox_http.aclose()
