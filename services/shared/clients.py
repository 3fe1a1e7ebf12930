"""Clients of the platform's infrastructure, with timeouts, and the errors that mean it is away.

Every Redis client is made here so none can hang on a server that stopped answering; the
database's timeouts are set where its engine is made (`services.shared.db`).
"""

from __future__ import annotations

import redis
import sqlalchemy.exc
from kombu.exceptions import BatchPublishError
from kombu.exceptions import OperationalError as BrokerError

from services.shared.settings import Settings

# An outage, not a bug: what failed will work again once the server is back, so the caller
# retries with backoff (or rewinds) instead of failing the work or parking it.
INFRASTRUCTURE_ERRORS: tuple[type[Exception], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    BrokerError,
    BatchPublishError,      # a batch of tasks not (surely) in Redis: publish them all again
)


def redis_client(settings: Settings) -> redis.Redis:
    timeout = settings.redis_timeout_seconds
    return redis.Redis.from_url(settings.redis_url, socket_timeout=timeout,
                                socket_connect_timeout=timeout, health_check_interval=30)


def backoff_seconds(retries: int, cap: float = 30.0) -> float:
    """Exponential backoff before retry number `retries` + 1: 1 s, 2 s, 4 s, ... capped."""
    return min(cap, 2.0 ** retries)
