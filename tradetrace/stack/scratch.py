"""Room of one's own on the shared stack: a fresh PostgreSQL database, an unused Redis database.

Tests and benchmarks that start services of their own put them here, so they never take the
demo's (or another session's) tasks or rows.
"""

from __future__ import annotations

import psycopg
import redis

from services.backend.migrate import upgrade
from tradetrace.stack.components.postgres import database_url
from tradetrace.stack.components.redis import redis_url
from tradetrace.stack.ports import port

_handed_out: set[int] = set()


def free_redis_url() -> str:
    """A Redis database no client is connected to, emptied: a service left running by an
    interrupted run keeps polling its database and would take this run's tasks (a stale
    worker once swallowed every reaper task of the next test session)."""
    client = redis.Redis.from_url(redis_url(port("redis")))
    used = {int(c["db"]) for c in client.client_list()} | _handed_out | {0}
    free = next((db for db in range(1, 16) if db not in used), None)
    if free is None:
        raise RuntimeError(f"every Redis database is in use ({sorted(used)}): stop stale services")
    _handed_out.add(free)
    url = redis_url(port("redis"), free)
    redis.Redis.from_url(url).flushdb()
    return url


def fresh_database(name: str) -> str:
    """A new, migrated PostgreSQL database on the stack; returns its URL."""
    server = database_url(port("postgres"), "postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(port("postgres"), name)
    upgrade(url)
    return url


def drop_database(name: str) -> None:
    server = database_url(port("postgres"), "postgres").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
