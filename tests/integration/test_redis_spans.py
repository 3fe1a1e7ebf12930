"""Our Redis spans are the Redis instrumentation's, made cheaper: the same name, kind,
attributes and error status for the same commands and pipelines, on the stack's real Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tracing.redis_spans import trace_redis, untrace_redis


@pytest.fixture
def provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def _commands(client: redis.Redis, exporter: InMemorySpanExporter) -> list[tuple]:
    exporter.clear()
    client.set("k", "v")
    client.get("k")
    client.eval("return redis.call('get', KEYS[1])", 1, "k")
    pipe = client.pipeline(transaction=False)
    pipe.eval("return 1", 1, "lock:1", "owner", 30)
    pipe.get("k")
    pipe.execute()
    with client.pipeline(transaction=True) as transaction:
        transaction.incr("n")
        transaction.expire("n", 60)
        transaction.execute()
    with pytest.raises(redis.ResponseError):
        client.execute_command("NOPE", "x")
    return [(s.name, s.kind, dict(s.attributes), s.status.status_code, s.status.description,
             [e.name for e in s.events]) for s in exporter.get_finished_spans()]


def test_the_same_spans_as_the_instrumentation(provider, own_redis_url: str) -> None:
    tracer_provider, exporter = provider
    client = redis.Redis.from_url(own_redis_url)
    RedisInstrumentor().instrument(tracer_provider=tracer_provider)
    try:
        theirs = _commands(client, exporter)
    finally:
        RedisInstrumentor().uninstrument()
    trace_redis(tracer_provider)
    try:
        ours = _commands(client, exporter)
    finally:
        untrace_redis()
    assert len(ours) == 6 and ours == theirs
    assert ours[-1][3].name == "ERROR" and ours[-1][5] == ["exception"]


def test_suppressed_commands_make_no_span(provider, own_redis_url: str) -> None:
    """As with the instrumentation: the worker's lease renewals run suppressed."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    tracer_provider, exporter = provider
    client = redis.Redis.from_url(own_redis_url)
    trace_redis(tracer_provider)
    try:
        with suppress_instrumentation():
            client.set("quiet", "1")
        client.get("quiet")
    finally:
        untrace_redis()
    assert [s.name for s in exporter.get_finished_spans()] == ["GET"]
