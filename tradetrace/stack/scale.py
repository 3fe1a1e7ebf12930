"""The scale profile's telemetry tier: one agent collector, N gateway collectors between them
Kafka (the telemetry bus), and Jaeger on Cassandra.

The services send OTLP to the agent (collector/agent.yaml), which writes it to the bus keyed
by trace id; the gateways (collector/spanmetrics.yaml with collector/gateway.yaml over it)
share the bus's partitions in one consumer group, so every span of a trace reaches one
gateway, which derives the metrics, samples and stores. This is the design of Jaeger's
ingester and Tempo's distributors, with the engines we already run (see
../shared/reference/scale-out.md for what was checked).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from services.shared.topics import create_topics
from tradetrace.stack.components.base import Component
from tradetrace.stack.components.cassandra import Cassandra
from tradetrace.stack.components.collector import (
    COLLECTOR_DIR,
    CONFIG,
    CollectorOnOwnPorts,
    CollectorPorts,
)
from tradetrace.stack.components.jaeger import CASSANDRA, Jaeger
from tradetrace.stack.components.jaeger import CONFIG as JAEGER_CONFIG
from tradetrace.stack.components.kafka import Kafka, bootstrap_servers
from tradetrace.stack.components.postgres import Postgres
from tradetrace.stack.components.prometheus import Prometheus
from tradetrace.stack.components.redis import Redis
from tradetrace.stack.health import StackError
from tradetrace.stack.paths import state_dir
from tradetrace.stack.ports import HOST, free_port, port

AGENT_CONFIG = COLLECTOR_DIR / "agent.yaml"
GATEWAY_OVERLAY = COLLECTOR_DIR / "gateway.yaml"   # over CONFIG
GATEWAYS = 2
REPLICAS = 2        # dispatchers (one consumer group) and workers (one queue) the profile runs


@dataclass(frozen=True)
class TelemetryBus:
    """The Kafka topics between the agent and the gateways, and the gateways' group.

    One partition is the unit a gateway takes over; `partitions` bounds how many gateways can
    share the work (each needs one at least), so it is set well above the gateways run today.
    """

    brokers: str
    name: str = "telemetry"         # prefix of the topics and the consumer groups
    partitions: int = 12

    @property
    def topics(self) -> dict[str, str]:
        return {signal: f"{self.name}.{signal}" for signal in ("spans", "metrics", "logs")}

    def agent_env(self) -> dict[str, str]:
        """The variables collector/agent.yaml reads: where to write."""
        return {"TELEMETRY_BUS_BROKERS": self.brokers,
                **{f"TELEMETRY_BUS_{signal.upper()}": topic
                   for signal, topic in self.topics.items()}}

    def gateway_env(self) -> dict[str, str]:
        """The variables collector/gateway.yaml reads: where to read, and in which group."""
        return {**self.agent_env(), "TELEMETRY_BUS_GROUP": f"{self.name}-gateways"}

    def create_topics(self) -> None:
        """The bus's topics, with `partitions` each (the broker creates none by itself)."""
        try:
            create_topics(AdminClient({"bootstrap.servers": self.brokers}),
                          [NewTopic(topic, self.partitions, 1) for topic in self.topics.values()])
        except RuntimeError as error:
            raise StackError(f"the telemetry bus: {error}") from None


class _OnTheBus(CollectorOnOwnPorts):
    """A collector of the tier: the bus's topics are there before it starts."""

    bus: TelemetryBus

    def prepare(self) -> None:
        super().prepare()
        self.bus.create_topics()            # the broker creates no topic by itself


class Agent(_OnTheBus):
    """The collector the services send to: OTLP in, the bus out. In the scale profile it is
    the stack's `collector`, on the collector's ports, so the services need no other address."""

    def __init__(self, state: Path, bus: TelemetryBus, name: str = "agent",
                 ports: CollectorPorts | None = None) -> None:
        self.name = name                    # before the base class names the state folder
        super().__init__(state, configs=(AGENT_CONFIG,), env=bus.agent_env(), ports=ports)
        self.bus = bus
        self.starts_after = ("kafka",)


class Gateway(_OnTheBus):
    """One of N collectors that read the bus and do what the single collector does. It pushes
    the derived counters to `remote_write_url`; Prometheus scrapes the rest from it."""

    def __init__(self, state: Path, index: int, bus: TelemetryBus, jaeger_otlp: str,
                 remote_write_url: str, ports: CollectorPorts | None = None) -> None:
        self.name = f"gateway-{index}"
        super().__init__(state, configs=(CONFIG, GATEWAY_OVERLAY),
                         env={**bus.gateway_env(), "GATEWAY_NAME": self.name,
                              "JAEGER_OTLP_ENDPOINT": jaeger_otlp,
                              "DERIVED_METRICS_REMOTE_WRITE_URL": remote_write_url},
                         ports=ports)
        self.bus = bus
        self.starts_after = ("kafka", "jaeger")

    @property
    def port(self) -> int:
        """Its main port: the RED metrics Prometheus scrapes (its OTLP is not used)."""
        return self.exporter


def scale_components(state: Path | None = None) -> list[Component]:
    """The scale profile, in start order: the single profile's storage, Cassandra, Jaeger on
    it, Prometheus (taking the gateways' pushes), GATEWAYS gateways on the ports of the table,
    and the agent on the collector's ports."""
    base = state or state_dir()
    bus = TelemetryBus(bootstrap_servers())
    jaeger_otlp = f"{HOST}:{port('jaeger', 'OTLP gRPC')}"
    prometheus = Prometheus(state, remote_write_receiver=True)
    gateways = [Gateway(base, index, bus, jaeger_otlp, prometheus.remote_write_url,
                        ports=_table_ports(f"gateway-{index}"))
                for index in range(1, GATEWAYS + 1)]
    return [Postgres(state), Redis(state), Kafka(state), Cassandra(state),
            Jaeger(state, (JAEGER_CONFIG, CASSANDRA)), prometheus, *gateways,
            Agent(base, bus, name="collector", ports=_table_ports("collector"))]


def _table_ports(component: str) -> CollectorPorts:
    """A collector's ports from the port table; a gateway's OTLP receiver is never started
    (it reads the bus), so it gets free ports that nothing connects to."""
    def number(purpose: str) -> int:
        try:
            return port(component, purpose)
        except KeyError:
            return free_port()

    return CollectorPorts(number("OTLP gRPC"), number("OTLP HTTP"), number("Prometheus"),
                          number("health"), number("collector self-metrics"))
