"""Fixtures for the integration tier: the real native stack and clients of its HTTP APIs.

The stack is brought up once per session; at the end we stop only the components this session
started, so a stack that was already running (e.g. from `make run`) stays up.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tradetrace.stack import Stack
from tradetrace.stack.components.jaeger import query_url
from tradetrace.stack.components.kafka import bootstrap_servers
from tradetrace.stack.components.postgres import database_url
from tradetrace.stack.ports import HOST, port


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Iterator[Stack]:
    native = Stack()
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():  # show the build and start-up timings live
        started = native.up()
    yield native
    if started:
        native.select(started).down()


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: Stack) -> str:
    return bootstrap_servers()


@pytest.fixture(scope="session")
def postgres_url(stack: Stack) -> str:
    return database_url(port("postgres"))


@pytest.fixture(scope="session")
def redis_url(stack: Stack) -> str:
    return f"redis://{HOST}:{port('redis')}/0"


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
def unique_name(request: pytest.FixtureRequest) -> str:
    """A name no other test or run uses, for topics, services and keys."""
    return f"{request.node.name[:30].replace('[', '-').rstrip(']')}-{uuid.uuid4().hex[:8]}"
