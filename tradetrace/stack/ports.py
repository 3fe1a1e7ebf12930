"""The one table of ports of the native stack. Everything binds to 127.0.0.1.

The collector keeps the OpenTelemetry defaults (4317/4318) that every SDK uses; Jaeger's
own OTLP, health and metrics ports are moved off the collector's. The README's port table
is this list (a unit test keeps them equal).
"""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Port:
    component: str
    number: int
    purpose: str


PORTS: tuple[Port, ...] = (
    Port("kafka", 9092, "broker (PLAINTEXT)"),
    Port("kafka", 9093, "KRaft controller"),
    Port("collector", 4317, "OTLP gRPC in"),
    Port("collector", 4318, "OTLP HTTP in"),
    Port("collector", 8889, "Prometheus exporter (span-derived metrics, OpenMetrics)"),
    Port("collector", 8888, "collector self-metrics"),
    Port("collector", 13133, "health_check"),
    Port("jaeger", 16686, "query HTTP API (and UI, where built)"),
    Port("jaeger", 16685, "query gRPC"),
    Port("jaeger", 14317, "OTLP gRPC in (from the collector)"),
    Port("jaeger", 14318, "OTLP HTTP in"),
    Port("jaeger", 13134, "healthcheckv2"),
    Port("jaeger", 18888, "Jaeger self-metrics"),
    Port("cassandra", 19042, "CQL (the scale profile's trace store)"),
    Port("cassandra", 17000, "inter-node storage (the scale profile)"),
    Port("cassandra", 17199, "JMX, loopback only (nodetool)"),
    Port("gateway-1", 8891, "Prometheus exporter (the scale profile's span-derived metrics)"),
    Port("gateway-1", 8892, "collector self-metrics"),
    Port("gateway-1", 13135, "health_check"),
    Port("gateway-2", 8893, "Prometheus exporter (the scale profile's span-derived metrics)"),
    Port("gateway-2", 8894, "collector self-metrics"),
    Port("gateway-2", 13136, "health_check"),
    Port("prometheus", 9090, "HTTP API and UI"),
    Port("redis", 6379, "Redis (Celery broker, locks)"),
    Port("postgres", 5432, "PostgreSQL"),
    Port("backend", 8000, "the platform's API (tradetrace services up)"),
)


def port(component: str, purpose_prefix: str = "") -> int:
    """The port number of a component, the first one whose purpose starts with the prefix."""
    for entry in PORTS:
        if entry.component == component and entry.purpose.startswith(purpose_prefix):
            return entry.number
    raise KeyError(f"no port for {component!r} {purpose_prefix!r}")


# Ports handed out below the kernel's ephemeral range (32768-60999 by default): there no
# outgoing connection takes one as its local port and no other process's bind(0) picks it, so
# it stays free between the probe and the start. A CI run lost a module's fixtures when a
# port the OS had picked (52091) was taken by the time its collector started.
_FREE_PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def free_port(tries: int = 1000) -> int:
    """A loopback port nothing listens on now, and not handed out before in this process: for
    a process started beside the stack (a test's second collector, a benchmark's)."""
    fixed = {entry.number for entry in PORTS}
    for _ in range(tries):
        number = random.choice(_FREE_PORTS)
        if number not in fixed and number not in _handed_out and _bindable(number):
            _handed_out.add(number)
            return number
    raise OSError(f"no free loopback port in {_FREE_PORTS.start}-{_FREE_PORTS.stop - 1} "
                  f"after {tries} tries")


def _bindable(number: int) -> bool:
    """Whether a listener could bind the port now (as the process we start will)."""
    with socket.socket() as probe:
        try:
            probe.bind((HOST, number))
        except OSError:
            return False
        return True
