"""Attribute names: OpenTelemetry semantic conventions where they exist, ours where not."""

from __future__ import annotations

# Ours (no convention exists for these).
SIGNAL_ID = "signal.id"
SIGNAL_TYPE = "signal.type"
SIGNAL_SOURCE = "signal.source"
TICKER = "ticker"
PIPELINE_ID = "pipeline.id"
TRIGGER_MODE = "trigger.mode"
EXECUTION_STATUS = "execution.status"
COST_USD = "cost.usd"
AGENT_NAME = "agent.name"
AGENT_OUTCOME = "agent.outcome"
PIPELINES_MATCHED = "pipelines.matched"
PIPELINES_ENQUEUED = "pipelines.enqueued"
PIPELINES_SKIPPED_RUNNING = "pipelines.skipped_running"
PIPELINES_DUPLICATES = "pipelines.duplicates"
MESSAGE_AGE_MS = "tradetrace.message.age_ms"
# Why a consumer span is a new root: "missing" or "invalid" trace headers.
TRACE_CONTEXT = "tradetrace.trace_context"
DLQ_REASON = "tradetrace.dlq.reason"

# Messaging semantic conventions (v1.30+).
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_DESTINATION = "messaging.destination.name"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_CONSUMER_GROUP = "messaging.consumer.group.name"
MESSAGING_PARTITION = "messaging.destination.partition.id"
MESSAGING_KAFKA_OFFSET = "messaging.kafka.offset"
MESSAGING_KAFKA_KEY = "messaging.kafka.message.key"
MESSAGING_MESSAGE_ID = "messaging.message.id"
MESSAGING_BATCH_COUNT = "messaging.batch.message_count"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
