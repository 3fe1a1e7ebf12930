"""Waiting for the platform's dispatchers to know the pipelines as they are now."""

from __future__ import annotations

from datetime import datetime

import redis
from sqlalchemy import func, select

from services.shared import redis_keys
from services.shared.db import session_scope
from services.shared.settings import Settings
from tests.support.polling import eventually


def wait_for_index(settings: Settings, timeout: float = 30.0) -> None:
    """Until every live dispatcher serves a pipeline index read after this call, so every
    pipeline change committed before it is matched (or no longer matched). The dispatchers
    announce the database time their index was read at; it is compared with the database's
    time now, one clock."""
    with session_scope(settings.database_url) as session:
        now = session.execute(select(func.now())).scalar_one()
    client = redis.Redis.from_url(settings.redis_url)

    def caught_up() -> list[datetime] | None:
        keys = list(client.scan_iter(redis_keys.DISPATCHER_INDEX_PATTERN))
        served = [datetime.fromisoformat(v.decode()) for v in client.mget(keys) if v] \
            if keys else []
        return served if served and all(as_of >= now for as_of in served) else None

    try:
        eventually(caught_up, "every dispatcher serving an index read after the change",
                   timeout=timeout, interval=0.1)
    finally:
        client.close()
