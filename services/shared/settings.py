"""Configuration of every service, from `TRADETRACE_*` environment variables (pydantic-settings).

Defaults point at the native stack on 127.0.0.1; SQLite is the embedded default database.
One object per process: it extends tracing's settings (profile, environment), so every
`TRADETRACE_*` variable a service reads is a field here.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator

from services.shared import objectives
from tracing.settings import TracingSettings

KafkaConfig = dict[str, str | int | float | bool]


class Settings(TracingSettings):

    # URLs carry passwords on the native stack and in compose: kept out of the settings' repr
    # (a traceback or a test failure prints it).
    database_url: str = Field("sqlite:///./tradetrace.db", repr=False)
    redis_url: str = Field("redis://127.0.0.1:6379/0", repr=False)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # librdkafka properties every Kafka client of the platform gets (producers, consumers,
    # admin): how to reach a closed broker in production, e.g. TRADETRACE_KAFKA_CLIENT=
    # '{"security.protocol": "SASL_SSL", "sasl.mechanisms": "SCRAM-SHA-512",
    #   "sasl.username": "dispatcher", "sasl.password": "...", "ssl.ca.location": "/ca.pem"}'
    # (on AWS MSK with IAM: "sasl.mechanisms": "OAUTHBEARER" and a token provider). Kept out
    # of the repr: it may hold a password.
    kafka_client: dict[str, str] = Field({}, repr=False)
    signals_topic: str = "trading-signals"
    dlq_topic: str = "trading-signals.dlq"
    # Where the backend (its signal explorer) and the CLI read traces and metrics from.
    jaeger_query_url: str = "http://127.0.0.1:16686"
    prometheus_url: str = "http://127.0.0.1:9090"
    # Jaeger's web UI, where there is one (compose's image has it; Jaeger built from its Go
    # module has none): trace links open there. Unset, they open the signal explorer.
    jaeger_ui_url: str | None = None
    # The explorer's address as a browser reaches it; default: the backend on this machine.
    explorer_url: str | None = None
    # The AWS SDK's own variable: on the aws profile, trace pages link to the X-Ray console.
    aws_region: str | None = Field(None, validation_alias=AliasChoices("AWS_REGION",
                                                                        "AWS_DEFAULT_REGION"))

    # Every client of Redis and the database gives up on a hung server after this long, so a
    # service reports the fault instead of hanging with it.
    redis_timeout_seconds: float = Field(5.0, gt=0)
    database_connect_timeout_seconds: int = Field(5, ge=1)
    database_statement_timeout_seconds: int = Field(30, ge=1)
    # Backoff between retries after an infrastructure error (database, Redis, broker): doubling
    # from retry_backoff_seconds up to this cap.
    max_retry_backoff_seconds: float = Field(30.0, gt=0)
    # A long-running service touches this file while its loop lives (liveness for
    # `services status` and compose healthchecks); unset, it keeps none.
    heartbeat_file: Path | None = None
    # The platform's log files (JSON lines with trace ids), where the explorer finds a
    # signal's log lines; the native launcher sets them, compose's logs go to Docker.
    service_log_files: list[Path] = []

    # backend
    backend_host: str = "127.0.0.1"
    backend_port: int = 8000
    # Reads (pipelines, executions) without a key: only where everyone who can reach the
    # backend may see them. Writes always need a `write` key.
    open_reads: bool = False
    # The Host headers the backend answers (DNS rebinding gets a 400); compose adds "backend".
    allowed_hosts: list[str] = ["127.0.0.1", "localhost"]
    # Origins a browser may call the API from; none by default (no CORS headers at all).
    cors_origins: list[str] = []
    # A request body larger than this is refused (413) unread: a pipeline is a few KiB.
    max_request_bytes: int = Field(65536, ge=1024)
    # The key the CLI sends (tradetrace demo, ...); `tradetrace keys create` makes one.
    api_key: str | None = Field(None, repr=False)

    # trigger-dispatcher
    consumer_group: str = "trigger-dispatcher"
    # The signal topic's partitions: the most dispatchers that share its work (one group).
    signal_partitions: int = Field(6, ge=1, le=1000)
    # A dispatcher that dies holds its partitions until this passes; Kafka's default is 45 s.
    consumer_session_timeout_ms: int = Field(10000, ge=6000, le=300000)
    batch_size: int = Field(100, ge=1, le=10000)
    # How long one consume waits for a first message (a batch is then what is already
    # fetched, up to batch_size: a signal does not wait for the batch to fill).
    batch_timeout_seconds: float = Field(0.1, gt=0)
    index_refresh_seconds: float = Field(5.0, gt=0)
    running_lock_seconds: int = Field(600, ge=1)
    # How long Redis keeps what the dispatcher made of a signal (read by `signal emit`). Only a
    # convenience: the executions table is the record of what ran, and the dedup source.
    dispatch_record_seconds: int = Field(3600, ge=60)
    # A log line per signal (what it matched, enqueued, skipped), in the signal's trace under
    # its process span. Off, the dispatcher logs one line per batch: the same facts per signal
    # are on the process span and in the dispatch record, and the line cost ~19% of the
    # dispatcher's CPU per signal (a JSON line, and an OTLP record when tracing).
    log_every_signal: bool = False
    # A DLQ copy larger than this keeps its headers and the first bytes of its value
    # (the original stays in the source topic, which the DLQ headers point to).
    dlq_max_value_bytes: int = Field(512 * 1024, ge=1024)
    # How long a commit waits for a restarting broker, and the pause before a failed batch retries.
    commit_retry_seconds: float = Field(60.0, ge=0)
    retry_backoff_seconds: float = Field(1.0, ge=0)

    # worker
    # Celery's pool: prefork children (tracing is set up in each after the fork), how many,
    # and how many tasks each reserves ahead (acks stay late: a reserved task not yet run is
    # redelivered like a running one). Measured in benchmarks/worker_cost.py --configs.
    worker_concurrency: int = Field(2, ge=1, le=64)
    worker_prefetch_multiplier: int = Field(1, ge=1, le=128)
    agent_failure_rate: float = Field(0.0, ge=0, le=1)
    agent_time_scale: float = Field(1.0, ge=0)
    # Starts of one execution beyond the first: retries after a transient failure, and
    # take-overs after its worker died. Then it fails.
    task_max_retries: int = Field(3, ge=0)
    # The latency objective of a pipeline that sets none (services/shared/objectives.py):
    # lax enough that a burst's queue on two cores does not page, tighten it per pipeline.
    latency_objective_ms: int = Field(1000, ge=objectives.MIN_MS, le=objectives.MAX_MS)
    latency_objective_target: float = Field(0.99, ge=objectives.MIN_TARGET,
                                            le=objectives.MAX_TARGET)
    periodic_tick_seconds: float = Field(5.0, gt=0)
    # A running execution is owned by its worker while its lease lasts; the worker renews it
    # every third of it. A lease that runs out means the worker died: the reaper takes over.
    execution_lease_seconds: float = Field(30.0, ge=3)
    # A queued execution not started after this long is published again (its task may have
    # been lost with Redis); a task delivered twice still runs once.
    queue_lease_seconds: float = Field(300.0, ge=1)
    reaper_interval_seconds: float = Field(5.0, gt=0)
    # Celery's limits per task: the soft one fails the execution, the hard one kills the child.
    # Both stay below the Redis visibility timeout, which would otherwise redeliver a live task.
    task_soft_time_limit_seconds: int = Field(600, ge=1, le=3000)
    task_time_limit_seconds: int = Field(660, ge=1, le=3300)
    # How long the worker keeps retrying a task whose database or Redis is away before it
    # leaves the execution to the reaper (which republishes it when the database is back).
    outage_retry_seconds: float = Field(600.0, ge=0)

    # signal-generator
    generator: str = Field("mock", pattern="^(mock|golden_cross)$")
    signals_per_second: float = Field(1.0, gt=0)
    tickers: list[str] = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"]
    generator_seed: int | None = None
    # Signals the generator holds for a retry (failed deliveries, a full local queue) before it
    # pauses generating: backpressure, not loss.
    generator_max_pending: int = Field(10000, ge=1)
    # librdkafka settings for the generator's producer, over its defaults: e.g.
    # {"queue.buffering.max.messages": 100000, "message.timeout.ms": 300000}.
    generator_producer: dict[str, str | int] = {}

    def kafka_config(self, own: KafkaConfig | None = None) -> KafkaConfig:
        """A Kafka client's configuration: the brokers, the security properties, then the
        client's own settings."""
        return {"bootstrap.servers": self.kafka_bootstrap_servers, **self.kafka_client,
                **(own or {})}

    def default_objective(self) -> objectives.LatencyObjective:
        """The latency objective of a pipeline that sets none."""
        return objectives.LatencyObjective(self.latency_objective_ms,
                                           self.latency_objective_target)

    def trace_url(self, trace_id: str) -> str:
        """Where a trace opens (the API's executions and the CLI link to it): Jaeger's UI when
        there is one, else the explorer's page of the trace."""
        if self.jaeger_ui_url:
            return f"{self.jaeger_ui_url.rstrip('/')}/trace/{trace_id}"
        return f"{self.explorer_base_url()}/traces/{trace_id}"

    def xray_url(self, trace_id: str) -> str | None:
        """The trace in the X-Ray console (profile aws): X-Ray writes a W3C trace id as
        1-<first 8 hex digits>-<the other 24>."""
        if self.profile != "aws" or not self.aws_region:
            return None
        region = self.aws_region
        return (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
                f"#xray:traces/1-{trace_id[:8]}-{trace_id[8:]}")

    def explorer_base_url(self) -> str:
        return (self.explorer_url or f"http://127.0.0.1:{self.backend_port}/explorer").rstrip("/")

    @model_validator(mode="after")
    def soft_limit_first(self) -> Settings:
        if self.task_soft_time_limit_seconds >= self.task_time_limit_seconds:
            raise ValueError("task_soft_time_limit_seconds must be below task_time_limit_seconds")
        return self


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (a cached factory, not an import-time global)."""
    return Settings()
