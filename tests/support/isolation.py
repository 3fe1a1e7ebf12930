"""Room of a test's own on the shared stack: a database, a Redis database, topics, a group.

A test that starts services of its own (another collector, a profile, tracing off) isolates
them with `isolated_env`, so they never take the session platform's tasks or signals.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.shared.settings import Settings
from tests.support.platform import settings_from_env
from tracing.service_names import BACKEND, TRIGGER_DISPATCHER, WORKER
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CollectorOnOwnPorts
from tradetrace.stack.ports import free_port
from tradetrace.stack.scratch import fresh_database, own_redis_database


def namespace(prefix: str) -> str:
    """A service.namespace no other test or session uses (it also names topics and databases)."""
    return f"{prefix}-{secrets.token_hex(4)}"


@contextmanager
def isolated_env(platform_env: dict[str, str], namespace: str,
                 database: bool = True) -> Iterator[dict[str, str]]:
    """The session's platform variables with the namespace, and topics, a consumer group and
    a Redis database of their own (and a database, unless the test wants the session's). The
    Redis database is the block's: a server has 16, and a session that kept one for each
    test ran out of them."""
    with own_redis_database() as redis_url:
        env = {**platform_env,
               "OTEL_RESOURCE_ATTRIBUTES": f"service.namespace={namespace}",
               "TRADETRACE_REDIS_URL": redis_url,
               "TRADETRACE_SIGNALS_TOPIC": f"signals-{namespace}",
               "TRADETRACE_DLQ_TOPIC": f"signals-{namespace}.dlq",
               "TRADETRACE_CONSUMER_GROUP": f"dispatcher-{namespace}"}
        if database:
            env["TRADETRACE_DATABASE_URL"] = fresh_database(namespace.replace("-", "_"))
        yield env


@contextmanager
def platform_beside(collector: CollectorOnOwnPorts, platform_env: dict[str, str],
                    state: Path, prefix: str) -> Iterator[tuple[Platform, Settings]]:
    """A collector of the test's own, and the backend, worker and dispatcher sending to it
    in a room of their own; both stopped however the block ends."""
    with isolated_env(platform_env, namespace(prefix)) as isolated:
        env = {**isolated, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint}
        services = Platform(env=env, state=state / "platform", backend_port=free_port())
        with Stack([collector]).running(), services.running([BACKEND, WORKER,
                                                             TRIGGER_DISPATCHER]):
            yield services, settings_from_env(env)
