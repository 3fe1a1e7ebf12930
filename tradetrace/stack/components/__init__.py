"""The native stack's components, in start order."""

from tradetrace.stack.components.base import Component
from tradetrace.stack.components.cassandra import Cassandra
from tradetrace.stack.components.collector import Collector
from tradetrace.stack.components.jaeger import Jaeger
from tradetrace.stack.components.kafka import Kafka
from tradetrace.stack.components.postgres import Postgres
from tradetrace.stack.components.prometheus import Prometheus
from tradetrace.stack.components.redis import Redis

__all__ = ["Cassandra", "Collector", "Component", "Jaeger", "Kafka", "Postgres", "Prometheus",
           "Redis"]
