"""Fixtures for the integration tier: the real native stack and clients of its HTTP APIs.

The stack is brought up once per session; at the end we stop only the components this session
started, so a stack that was already running (e.g. from `make run`) stays up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tracing.service_names import BACKEND, BEAT, TRIGGER_DISPATCHER, WORKER
from tradetrace.stack import Stack
from tradetrace.stack.components.jaeger import query_url
from tradetrace.stack.components.kafka import bootstrap_servers
from tradetrace.stack.components.postgres import database_url
from tradetrace.stack.components.redis import redis_url as stack_redis_url
from tradetrace.stack.ports import HOST, free_port, port
from tradetrace.stack.scratch import (
    free_redis_url,
    fresh_database,
    left_as_found,
    own_redis_database,
)
from tradetrace.stack.stack import components, record_profile


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    """The single profile's stack (the tests start the scale profile's parts themselves):
    with the scale profile running, the session stops at once and says so."""
    record_profile("single")
    native = Stack(components(profile="single"))
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # show the build and start-up timings live
        started = native.up()
    yield native
    if started:
        native.select(started).down()


@pytest.fixture(scope="session", autouse=True)
def stack_left_as_found(stack: Stack) -> Iterator[None]:
    """The session's databases and topics are dropped after its last test (first in, last
    out: every service of the session has stopped by then)."""
    with left_as_found():
        yield


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    return bootstrap_servers()


@pytest.fixture(scope="session")
def postgres_url(stack: Stack) -> str:
    return database_url(port("postgres"))


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    return stack_redis_url(port("redis"))


@pytest.fixture(scope="session")
def otlp_grpc_endpoint(stack: Stack) -> str:
    return f"http://{HOST}:{port('collector', 'OTLP gRPC')}"


@pytest.fixture(scope="session")
def jaeger(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=query_url(), timeout=5) as client:
        yield client


@pytest.fixture(scope="session")
def prometheus(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://{HOST}:{port('prometheus')}", timeout=5) as client:
        yield client


@pytest.fixture
def own_redis_url(stack: Stack) -> Iterator[str]:
    """A Redis database of the test's own, handed back when it ends."""
    with own_redis_database() as url:
        yield url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test or run uses, for topics, services and keys."""
    return f"{request.node.name[:30].replace('[', '-').rstrip(']')}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def platform_env(stack: Stack, kafka_bootstrap: str) -> dict[str, str]:
    """A fresh database, topics, consumer group and Redis database for this test session."""
    from services.shared.settings import Settings
    from services.shared.topics import ensure_topics

    run = uuid.uuid4().hex[:8]
    url = fresh_database(f"tradetrace_test_{run}")
    topic, dlq = f"trading-signals-{run}", f"trading-signals-{run}.dlq"
    ensure_topics(Settings(kafka_bootstrap_servers=kafka_bootstrap, signals_topic=topic,
                           dlq_topic=dlq))
    redis_url = free_redis_url()
    return {
        "TRADETRACE_DATABASE_URL": url,
        "TRADETRACE_REDIS_URL": redis_url,
        "TRADETRACE_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "TRADETRACE_SIGNALS_TOPIC": topic,
        "TRADETRACE_DLQ_TOPIC": dlq,
        "TRADETRACE_CONSUMER_GROUP": f"dispatcher-{run}",
        "TRADETRACE_INDEX_REFRESH_SECONDS": "0.5",
        "TRADETRACE_BATCH_TIMEOUT_SECONDS": "0.2",
        # The tests read a signal's dispatcher line in its trace (one per batch by default).
        "TRADETRACE_LOG_EVERY_SIGNAL": "true",
        "TRADETRACE_PERIODIC_TICK_SECONDS": "1",
        "TRADETRACE_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        # A dead worker's run is taken over within seconds, a lost task republished within
        # half a minute (the defaults, 30 s and 5 min, suit production, not a test's bound).
        "TRADETRACE_EXECUTION_LEASE_SECONDS": "6",
        "TRADETRACE_QUEUE_LEASE_SECONDS": "20",
        "TRADETRACE_REAPER_INTERVAL_SECONDS": "1",
        "PYTHONFAULTHANDLER": "1",          # a crash in a C extension leaves its stack in the log
        "OTEL_BSP_SCHEDULE_DELAY": "200",   # spans reach Jaeger in well under a second
        "OTEL_METRIC_EXPORT_INTERVAL": "2000",
    }


@pytest.fixture(scope="session")
def settings(platform_env: dict[str, str]):
    from tests.support.platform import settings_from_env

    return settings_from_env(platform_env)


@pytest.fixture(scope="session")
def platform(platform_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory):
    from tradetrace.platform import Platform

    services = Platform(env=platform_env, state=tmp_path_factory.mktemp("platform"),
                        backend_port=free_port())
    services.up([BACKEND, WORKER, BEAT, TRIGGER_DISPATCHER])
    yield services
    services.down()


@pytest.fixture(scope="session")
def api(platform) -> Iterator[httpx.Client]:
    """The session platform's API, with a write key."""
    from tests.support.platform import api_client

    with api_client(platform) as client:
        yield client


@pytest.fixture
def ticker() -> str:
    """A ticker no other test watches, so tests never trigger each other's pipelines."""
    import random
    import string

    return "Z" + "".join(random.choices(string.ascii_uppercase, k=6))


@pytest.fixture(scope="session")
def traces(stack: Stack):
    """Jaeger's HTTP API, as `tradetrace trace` reads it."""
    from trace_reader.jaeger import Jaeger

    return Jaeger(query_url())
