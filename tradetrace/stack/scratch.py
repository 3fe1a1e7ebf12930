"""Room of one's own on the shared stack: a fresh PostgreSQL database, an unused Redis database.

Tests and benchmarks that start services of their own put them here, so they never take the
demo's (or another session's) tasks or rows; `left_as_found` takes the room away again, so the
shared stack does not grow with every run (it once held 271 databases and 5,000 partitions,
and PostgreSQL's and Kafka's recovery after a kill grew with them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis

from services.backend.migrate import upgrade
from tradetrace.stack.components.kafka import bootstrap_servers
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


@contextmanager
def own_redis_database() -> Iterator[str]:
    """A free Redis database (as `free_redis_url`) for the block only: emptied and handed
    back when it ends. A Redis server has 16 databases, so a session that keeps one for each
    short test runs out of them (it did, at 17)."""
    url = free_redis_url()
    client = redis.Redis.from_url(url)
    try:
        yield url
    finally:
        client.flushdb()
        _handed_out.discard(client.get_connection_kwargs()["db"])


def _server() -> psycopg.Connection:
    url = database_url(port("postgres"), "postgres").replace("postgresql+psycopg", "postgresql")
    return psycopg.connect(url, autocommit=True)


def fresh_database(name: str) -> str:
    """A new, migrated PostgreSQL database on the stack; returns its URL."""
    with _server() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(port("postgres"), name)
    upgrade(url)
    return url


def drop_database(name: str) -> None:
    with _server() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _databases() -> set[str]:
    with _server() as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _admin():
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap_servers()})


def _topics() -> set[str]:
    return set(_admin().list_topics(timeout=30).topics)


@contextmanager
def left_as_found() -> Iterator[None]:
    """Databases and topics made on the stack while the block runs are dropped when it ends
    (those that were there before, the demo's among them, are left alone). A run that is
    killed leaves its own behind."""
    databases, topics = _databases(), _topics()
    try:
        yield
    finally:
        for name in sorted(_databases() - databases):
            drop_database(name)
        made = sorted(_topics() - topics)
        if made:
            admin = _admin()       # held until every deletion is answered (else: _DESTROY)
            for future in admin.delete_topics(made, operation_timeout=60).values():
                future.result()
