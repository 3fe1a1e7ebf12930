"""Each data store of the native stack, used for real through its ordinary client."""

from __future__ import annotations

import psycopg
import redis
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def test_kafka_produce_and_consume_round_trip(kafka_bootstrap: str, unique_name: str) -> None:
    topic = f"stack-test-{unique_name}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(10)
    delivered = []
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, key=b"AAPL", value=b'{"ticker": "AAPL"}',
                     headers=[("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01")],
                     on_delivery=lambda err, msg: delivered.append((err, msg.offset())))
    assert producer.flush(10) == 0
    assert delivered and delivered[0][0] is None

    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": unique_name,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    try:
        message = None
        for _ in range(40):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.error() is None
        assert (message.key(), message.value()) == (b"AAPL", b'{"ticker": "AAPL"}')
        assert dict(message.headers())["traceparent"].startswith(b"00-111")
    finally:
        consumer.close()


def test_redis_stores_and_expires_keys(redis_url: str, unique_name: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.set(f"lock:{unique_name}", "worker-1", nx=True, px=5000)
    assert not client.set(f"lock:{unique_name}", "worker-2", nx=True, px=5000)
    assert client.get(f"lock:{unique_name}") == b"worker-1"
    assert 0 < client.pttl(f"lock:{unique_name}") <= 5000


def test_postgres_serves_the_application_database(postgres_url: str, unique_name: str) -> None:
    engine = sa.create_engine(postgres_url)
    table = unique_name.replace("-", "_")
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE TABLE "{table}" (id serial PRIMARY KEY, ticker text)'))
        conn.execute(sa.text(f'INSERT INTO "{table}" (ticker) VALUES (:t)'), [{"t": "AAPL"},
                                                                            {"t": "MSFT"}])
    with engine.connect() as conn:
        tickers = conn.execute(sa.text(f'SELECT ticker FROM "{table}" ORDER BY id')).scalars()
        assert list(tickers) == ["AAPL", "MSFT"]
        assert conn.execute(sa.text("SHOW server_version")).scalar().split(".")[0].isdigit()
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE "{table}"'))
    engine.dispose()


def test_postgres_is_a_server_not_an_embedded_database(postgres_url: str) -> None:
    """The integration tier must exercise PostgreSQL's wire protocol, not SQLite."""
    url = sa.make_url(postgres_url)
    with psycopg.connect(host=url.host, port=url.port, user=url.username,
                         password=url.password, dbname=url.database) as conn:
        assert conn.info.server_version >= 150000


def test_the_programs_are_the_releases_compose_runs(stack, prometheus, redis_url,
                                                     postgres_url) -> None:
    """docker-compose.yml's images follow native_versions(); the stack's programs must too."""
    from tradetrace.stack.versions import DEBIAN_RELEASES, native_versions

    build = prometheus.get("/api/v1/status/buildinfo").json()["data"]["version"]
    server = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    with psycopg.connect(postgres_url.replace("postgresql+psycopg", "postgresql")) as conn:
        major = conn.execute("SHOW server_version_num").fetchone()[0][:2]
    assert build == native_versions()["prometheus"]
    assert server.startswith(DEBIAN_RELEASES["redis"] + ".")
    assert major == DEBIAN_RELEASES["postgres"]
