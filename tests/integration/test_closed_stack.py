"""The native stack is closed to whoever else is on the machine: PostgreSQL and Redis want
their generated passwords, and Prometheus takes no orders: no lifecycle API (nobody stops or
reloads it), no admin API (nor deletes series), no remote-write receiver (nor writes into it)."""

from __future__ import annotations

import httpx
import psycopg
import pytest
import redis

from tradetrace.stack.components.postgres import USER, database_url
from tradetrace.stack.ports import HOST, port


def test_prometheus_cannot_be_stopped_or_written_to(prometheus: httpx.Client) -> None:
    for path in ("/-/quit", "/-/reload", "/api/v1/write"):
        response = prometheus.post(path)
        assert response.status_code in (403, 404, 405), (path, response.status_code)
    # Prometheus answers a disabled admin API with 500 "unavailable", saying why.
    admin = prometheus.post("/api/v1/admin/tsdb/delete_series", params={"match[]": "up"})
    assert admin.json()["error"] == "admin APIs disabled"
    assert prometheus.get("/-/ready").status_code == 200        # and it is still there


def test_postgres_and_redis_refuse_a_client_without_the_password(stack) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(host=HOST, port=port("postgres"), user=USER, password="guess",
                        dbname="tradetrace", connect_timeout=3)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(host=HOST, port=port("postgres"), user="postgres", dbname="postgres",
                        connect_timeout=3)
    with psycopg.connect(database_url(port("postgres")).replace("+psycopg", "")) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=HOST, port=port("redis"), socket_timeout=3).ping()
