"""The native stack: Kafka, the collector, Jaeger, Prometheus, Redis and PostgreSQL as processes."""

from tradetrace.stack.health import StackError
from tradetrace.stack.stack import Stack, components

__all__ = ["Stack", "StackError", "components"]
