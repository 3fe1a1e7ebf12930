"""What a cloud profile's end-to-end test sets up, the same for every cloud: a second collector
of our binary on spanmetrics.yaml plus the profile's overlay, a Prometheus that only receives
remote writes, and the platform's services on the profile's variables, in a room of their own."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

import httpx
import redis

from tests.support.dispatcher import wait_for_index
from tests.support.isolation import isolated_env, namespace
from tests.support.platform import create_pipeline, run_generator, settings_from_env
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CONFIG, CollectorOnOwnPorts
from tradetrace.stack.components.prometheus import PrometheusOnOwnPort
from tradetrace.stack.ports import free_port


@contextmanager
def remote_write_receiver(state: Path) -> Iterator[PrometheusOnOwnPort]:
    """A Prometheus of its own that only receives remote writes (the stack's has its receiver
    off): the managed Prometheus's stand-in, where a test queries what was written."""
    (state / "prometheus.yml").write_text("global: {}\n")
    receiver = PrometheusOnOwnPort(state, state / "prometheus.yml", remote_write_receiver=True)
    with Stack([receiver]).running():
        yield receiver


@contextmanager
def profile_collector(state: Path, overlay: Path,
                      env: dict[str, str]) -> Iterator[CollectorOnOwnPorts]:
    collector = CollectorOnOwnPorts(state, configs=(CONFIG, overlay), env=env)
    collector.install()
    own = Stack([collector])
    own.up()
    try:
        yield collector
    finally:
        own.down()


@contextmanager
def profile_env(platform_env: dict[str, str], profile: str, collector: CollectorOnOwnPorts,
                **extra: str) -> Iterator[dict[str, str]]:
    """The test session's platform variables, plus the profile switch and its collector."""
    with isolated_env(platform_env, namespace(profile), database=False) as isolated:
        yield {**isolated, "TRADETRACE_PROFILE": profile,
               "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint, **extra}


@contextmanager
def profile_platform(env: dict[str, str], state: Path,
                     services: list[str]) -> Iterator[Platform]:
    redis.Redis.from_url(env["TRADETRACE_REDIS_URL"]).flushdb()
    platform = Platform(env=env, state=state, backend_port=free_port())
    platform.up(services)
    try:
        yield platform
    finally:
        platform.down()


def run_signals(env: dict[str, str], api: httpx.Client, ticker: str, state: Path,
                count: int) -> tuple[list[int], dict[str, str], dict[str, list[int]]]:
    """Two pipelines on the ticker, `count` signals from the real generator, each followed to
    its finished executions: the pipelines, each signal's trace id and enqueued pipelines."""
    settings = settings_from_env(env)
    pipelines = [create_pipeline(api, f"{ticker}-{i}", [ticker])["id"] for i in (1, 2)]
    wait_for_index(settings)
    messages = run_generator(env, state, [ticker], count=count, per_second=2)
    traces, enqueued = {}, {}
    for message in messages:
        signal_id = json.loads(message.value())["signal_id"]
        enqueued[signal_id] = emit.wait_for_dispatch(settings, signal_id)["enqueued"]
        executions = emit.wait_for_executions(settings, signal_id, len(enqueued[signal_id]))
        traces[signal_id] = next(iter({e.trace_id for e in executions} or {None}))
    return pipelines, traces, enqueued


class ReceivedSpan(Protocol):
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str


S = TypeVar("S", bound=ReceivedSpan)


def whole_trace(spans: Sequence[S], trace_id: str, expected: Counter) -> list[S] | None:
    """The trace's spans once the expected names are there and every parent is among them."""
    found = [s for s in spans if s.trace_id == trace_id]
    if expected - Counter(s.name for s in found):
        return None
    ids = {s.span_id for s in found}
    if any(s.parent_span_id and s.parent_span_id not in ids for s in found):
        return None
    return found
