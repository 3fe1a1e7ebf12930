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

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from tradetrace.stack.components.collector import COLLECTOR_DIR, CONFIG, CollectorOnOwnPorts

AGENT_CONFIG = COLLECTOR_DIR / "agent.yaml"
GATEWAY_OVERLAY = COLLECTOR_DIR / "gateway.yaml"   # over CONFIG


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

    def env(self) -> dict[str, str]:
        """The variables collector/agent.yaml and collector/gateway.yaml read."""
        return {"TELEMETRY_BUS_BROKERS": self.brokers,
                "TELEMETRY_BUS_GROUP": f"{self.name}-gateways",
                **{f"TELEMETRY_BUS_{signal.upper()}": topic
                   for signal, topic in self.topics.items()}}

    def create_topics(self, timeout: float = 15.0) -> None:
        """The bus's topics, with `partitions` each (the broker creates none by itself)."""
        admin = AdminClient({"bootstrap.servers": self.brokers})
        wanted = [NewTopic(topic, self.partitions, 1) for topic in self.topics.values()]
        for topic, future in admin.create_topics(wanted, request_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as error:
                if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"cannot create the telemetry bus topic {topic}: "
                                       f"{error}") from None


class Agent(CollectorOnOwnPorts):
    """The collector the services send to: OTLP in, the bus out."""

    name = "agent"

    def __init__(self, state: Path, bus: TelemetryBus) -> None:
        super().__init__(state, configs=(AGENT_CONFIG,), env=bus.env())


class Gateway(CollectorOnOwnPorts):
    """One of N collectors that read the bus and do what the single collector does."""

    def __init__(self, state: Path, index: int, bus: TelemetryBus, jaeger_otlp: str) -> None:
        self.name = f"gateway-{index}"      # before the base class names the state folder
        super().__init__(state, configs=(CONFIG, GATEWAY_OVERLAY),
                         env={**bus.env(), "GATEWAY_NAME": self.name,
                              "JAEGER_OTLP_ENDPOINT": jaeger_otlp})
