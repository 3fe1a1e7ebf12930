"""Attribute names: OpenTelemetry semantic conventions where they exist, ours where not."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import db_attributes as _db
from opentelemetry.semconv._incubating.attributes import messaging_attributes as _messaging
from opentelemetry.semconv.attributes import error_attributes as _error
from opentelemetry.semconv.attributes import http_attributes as _http
from opentelemetry.semconv.attributes import server_attributes as _server

# Ours (no convention exists for these).
SIGNAL_ID = "signal.id"
SIGNAL_TYPE = "signal.type"
SIGNAL_SOURCE = "signal.source"
TICKER = "ticker"
PIPELINE_ID = "pipeline.id"
TRIGGER_MODE = "trigger.mode"
EXECUTION_ID = "execution.id"
EXECUTION_STATUS = "execution.status"
EXECUTION_RETRYING = "execution.retrying"      # a transient failure: the run is retried
COST_USD = "cost.usd"
AGENT_NAME = "agent.name"
AGENT_OUTCOME = "agent.outcome"
PIPELINES_MATCHED = "pipelines.matched"
PIPELINES_ENQUEUED = "pipelines.enqueued"
PIPELINES_SKIPPED_RUNNING = "pipelines.skipped_running"
PIPELINES_DUPLICATES = "pipelines.duplicates"
INDEX_TICKERS = "index.tickers"                 # the dispatcher's pipeline index, on its refresh
INDEX_PIPELINES = "index.pipelines"
API_KEY_ID = "tradetrace.api_key.id"            # which key made a request (never the key)
MESSAGE_AGE_MS = "tradetrace.message.age_ms"
# Why a consumer span is a new root: "missing" or "invalid" trace headers.
TRACE_CONTEXT = "tradetrace.trace_context"
DLQ_REASON = "tradetrace.dlq.reason"
# On a redrive's send span: the DLQ entry it sent back ("<dlq topic>/<partition>:<offset>").
DLQ_REDRIVEN_FROM = "tradetrace.dlq.redriven_from"
# Latency from origin, on a run's final `pipeline.execute` span (services/worker/origin.py):
# from what asked for the run to its first start and to its end, and the hops between, in ms.
ORIGIN_START_MS = "tradetrace.origin.start_ms"
ORIGIN_END_MS = "tradetrace.origin.end_ms"
# The time in each hop, in order (services/shared/latency.py says what each holds): one attribute
# each, `tradetrace.hop.<hop>_ms`.
HOPS = ("in_kafka", "dispatch", "in_queue", "retries", "claim", "agents")
HOP_MS = {hop: f"tradetrace.hop.{hop}_ms" for hop in HOPS}
ORIGIN_SKEW = "tradetrace.origin.skew"             # why no age: "negative" or "over_a_day"
# The run judged against its pipeline's latency objective (services/shared/objectives.py).
OBJECTIVE_MS = "tradetrace.objective.start_within_ms"
OBJECTIVE_TARGET = "tradetrace.objective.target"
OBJECTIVE_MISSED = "tradetrace.objective.missed"    # 1 when it started late, else 0
# The Celery instrumentation's own keys (0.66b1), which our publish span keeps: the action,
# the task's name, and the queue and its kind under the old `messaging.destination*` keys.
CELERY_ACTION = "celery.action"
CELERY_TASK_NAME = "celery.task_name"
CELERY_QUEUE = "messaging.destination"
CELERY_QUEUE_KIND = "messaging.destination_kind"

# Semantic conventions, from opentelemetry-semantic-conventions (messaging is still incubating
# there, hence `_incubating`; server.* is stable).
MESSAGING_SYSTEM = _messaging.MESSAGING_SYSTEM
MESSAGING_DESTINATION = _messaging.MESSAGING_DESTINATION_NAME
MESSAGING_OPERATION_TYPE = _messaging.MESSAGING_OPERATION_TYPE
MESSAGING_OPERATION_NAME = _messaging.MESSAGING_OPERATION_NAME
MESSAGING_CONSUMER_GROUP = _messaging.MESSAGING_CONSUMER_GROUP_NAME
MESSAGING_PARTITION = _messaging.MESSAGING_DESTINATION_PARTITION_ID
MESSAGING_KAFKA_OFFSET = _messaging.MESSAGING_KAFKA_OFFSET
MESSAGING_KAFKA_KEY = _messaging.MESSAGING_KAFKA_MESSAGE_KEY
MESSAGING_MESSAGE_ID = _messaging.MESSAGING_MESSAGE_ID
MESSAGING_BATCH_COUNT = _messaging.MESSAGING_BATCH_MESSAGE_COUNT
ERROR_TYPE = _error.ERROR_TYPE
HTTP_REQUEST_METHOD = _http.HTTP_REQUEST_METHOD
HTTP_ROUTE = _http.HTTP_ROUTE
SERVER_ADDRESS = _server.SERVER_ADDRESS
# SQL client spans (tracing/sql.py) under the database conventions' older names, as the
# SQLAlchemy instrumentation writes them by default (the collector derives db_query_duration
# from `db.system`).
DB_SYSTEM = _db.DB_SYSTEM
DB_NAME = _db.DB_NAME
DB_USER = _db.DB_USER
DB_STATEMENT = _db.DB_STATEMENT
DB_OPERATION = _db.DB_OPERATION
SERVER_PORT = _server.SERVER_PORT
