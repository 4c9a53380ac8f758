"""What the node's own pages (``web.node_tools``) may do with it: read its ledger's evidence and rotate its key."""

from __future__ import annotations

from datetime import timedelta

import httpx

from yuantou.ledger.evidence import evidence_bundle, recent_transactions
from yuantou.node.bootstrap import Node
from yuantou.node.rotation import RotationError, rotate
from yuantou.web.node_tools import NodeTools, RotatedKey, ToolProblem


def node_tools(node: Node) -> NodeTools:
    messenger = node.messenger

    async def transactions() -> list[tuple[str, int]]:
        return await messenger.db.run(recent_transactions)

    async def bundle(transaction_id: str) -> dict | None:
        return await evidence_bundle(messenger.db, messenger.registry, node.config.subscriber_id, transaction_id,
                                     node.config.signature_slack)

    async def rotate_key(new_key_id: str, overlap_seconds: int) -> RotatedKey:
        assert node.config_path is not None  # offered only then
        try:
            done = await rotate(node.config_path, node.config, messenger.keys, messenger.http, new_key_id or None,
                                timedelta(seconds=overlap_seconds))
        except (RotationError, httpx.HTTPError) as exc:
            raise ToolProblem(str(exc)) from None
        return RotatedKey(done.old_key_id, done.new_key_id, done.old_valid_until)

    return NodeTools(transactions, bundle, lambda: node.config.key_id,
                     rotate_key if node.config_path is not None else None)
