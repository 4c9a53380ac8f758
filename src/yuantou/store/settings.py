"""Settings a person changes from a console while the node runs, kept in the store (``node_settings``) so that
every worker process and a restart see the same; each value JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.store.tables import node_settings


def read_setting(conn: Connection, name: str, default: Any) -> Any:
    value = conn.execute(select(node_settings.c.value).where(node_settings.c.name == name)).scalar()
    return default if value is None else json.loads(value)


def write_setting(conn: Connection, name: str, value: Any) -> None:
    text, now = json.dumps(value), time.time()
    changed = conn.execute(update(node_settings).where(node_settings.c.name == name)
                           .values(value=text, updated_at=now)).rowcount
    if not changed:
        conn.execute(node_settings.insert().values(name=name, value=text, updated_at=now))
