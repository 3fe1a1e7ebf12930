"""What a cloud profile's end-to-end test sets up, the same for every cloud: a second collector
of our binary on spanmetrics.yaml plus the profile's overlay, a Prometheus that only receives
remote writes, and the platform's services on the profile's variables, in a room of their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support.isolation import isolated_env, namespace
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
