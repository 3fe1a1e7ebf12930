"""The dispatcher's batch loop: consume, validate, match, lock, enqueue, then commit.

Offsets are committed only after every task of the batch is enqueued and every rejected
message is in the DLQ: a crash replays the batch (at-least-once), and the per-signal
dedup keys make the replay trigger nothing twice. A batch that fails (Redis or the broker
away) is rewound and retried rather than ending the process, and a commit waits out a
broker restart.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import redis
from confluent_kafka import (
    Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition,
)
from sqlalchemy.exc import SQLAlchemyError

from services.shared.locks import acquire_running_lock
from services.shared.settings import Settings
from services.shared.signals import InvalidSignal, Signal, parse_signal
from services.trigger_dispatcher.index import PipelineIndex, load_index
from tracing import attributes as attr
from tracing import record_failure, signal_baggage, tracer
from tracing.kafka import extract_context, process_span, receive_span

log = logging.getLogger(__name__)

STATS_KEY = "tradetrace:stats:dispatcher"

# Commit errors while the group coordinator is away (a broker restart): retried until it is back.
COORDINATOR_AWAY = frozenset({
    KafkaError._WAIT_COORD, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
})


def dispatch_key(signal_id: str) -> str:
    """Where the dispatcher records what one signal triggered (read by `signal emit`)."""
    return f"tradetrace:signal-dispatch:{signal_id}"


def _dedup_key(signal_id: str, pipeline_id: int) -> str:
    return f"tradetrace:dispatched:{signal_id}:{pipeline_id}"


@dataclass
class SignalOutcome:
    matched: list[int] = field(default_factory=list)
    enqueued: list[int] = field(default_factory=list)
    skipped_running: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)


class Dispatcher:
    def __init__(self, settings: Settings, consumer: Consumer, dlq_producer: Producer,
                 client: redis.Redis) -> None:
        from services.worker.tasks import execute_pipeline  # publishing only

        self.settings = settings
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.redis = client
        self.execute_pipeline = execute_pipeline
        self.index = PipelineIndex()
        self._index_loaded_at = float("-inf")

    def refresh_index_if_due(self) -> bool:
        """Reload the index when due; True once an index is loaded. A database error keeps the
        previous index (and is retried within a second) rather than stopping the dispatcher."""
        now = time.monotonic()
        if now - self._index_loaded_at < self.settings.index_refresh_seconds:
            return True
        try:
            with tracer().start_as_current_span("pipelines.index.refresh") as span:
                self.index = load_index(self.settings.database_url)
                span.set_attributes({"index.tickers": len(self.index),
                                     "index.pipelines": self.index.pipeline_count})
        except SQLAlchemyError as error:
            loaded = self._index_loaded_at > float("-inf")
            log.error("cannot load the pipeline index (%s); %s", error.__class__.__name__,
                      "keeping the previous one" if loaded else "not consuming until it loads")
            if loaded:
                self._index_loaded_at = now - self.settings.index_refresh_seconds + 1.0
            return loaded
        self._index_loaded_at = now
        log.debug("index: %d tickers, %d pipelines", len(self.index), self.index.pipeline_count)
        return True

    def run_once(self) -> int:
        """Consume and handle one batch; returns the number of messages in it."""
        if not self.refresh_index_if_due():
            time.sleep(1.0)  # consuming with no index would match nothing and lose signals
            return 0
        messages = self.consumer.consume(num_messages=self.settings.batch_size,
                                         timeout=self.settings.batch_timeout_seconds)
        if not messages:
            return 0
        try:
            self.handle_batch(messages)
        except Exception:  # noqa: BLE001 - whatever failed, the batch must not be skipped
            log.exception("batch of %d message(s) failed; rewinding to retry it", len(messages))
            self._rewind(messages)
            time.sleep(self.settings.retry_backoff_seconds)
        return len(messages)

    def handle_batch(self, messages: list[Message]) -> None:
        """Handle every message of a batch, each in its own trace, then commit the batch."""
        counts = {"signals_consumed": 0, "dlq": 0}
        received = []
        for message in messages:
            if message.error() is None:
                received.append(message)
            elif message.error().code() != KafkaError._PARTITION_EOF:
                log.error("consume error: %s", message.error())
        contexts = [extract_context(message.headers()) for message in received]
        group, topic = self.settings.consumer_group, self.settings.signals_topic
        with receive_span(tracer(), topic, group, [c for c, _ in contexts],
                          self.settings.kafka_bootstrap_servers) as batch:
            for message, (parent, problem) in zip(received, contexts):
                with process_span(tracer(), message, parent, problem, batch, group) as span:
                    counts["signals_consumed" if self.handle_message(message, span) else "dlq"] += 1
            self._flush_dlq()
            self._commit([TopicPartition(topic, partition, last + 1)  # the next to read
                          for (topic, partition), (_, last) in _partition_ranges(messages).items()])
        self._count(counts)

    def handle_message(self, message: Message, span) -> bool:
        """Dispatch one message; False when it is not a valid signal and went to the DLQ."""
        try:
            signal = parse_signal(message.value())
        except InvalidSignal as invalid:
            span.set_attribute(attr.DLQ_REASON, invalid.reason)
            span.set_attribute("error.type", "invalid_signal")
            record_failure(span, invalid, f"not a valid signal: {invalid.reason}")
            self.send_to_dlq(message, invalid.reason)
            return False
        span.set_attributes({attr.SIGNAL_ID: signal.signal_id, attr.TICKER: signal.ticker,
                             attr.MESSAGING_MESSAGE_ID: signal.signal_id})
        with signal_baggage(signal.signal_id):  # also for messages from clients that set none
            self.dispatch(signal)
        return True

    def dispatch(self, signal: Signal) -> SignalOutcome:
        with tracer().start_as_current_span("pipelines.match",
                                            attributes={attr.TICKER: signal.ticker}) as span:
            outcome = self._dispatch(signal)
            span.set_attributes({attr.PIPELINES_MATCHED: len(outcome.matched),
                                 attr.PIPELINES_ENQUEUED: len(outcome.enqueued),
                                 attr.PIPELINES_SKIPPED_RUNNING: len(outcome.skipped_running),
                                 attr.PIPELINES_DUPLICATES: len(outcome.duplicates)})
        self._record(signal, outcome)
        return outcome

    def _dispatch(self, signal: Signal) -> SignalOutcome:
        outcome = SignalOutcome()
        for ref in self.index.match(signal.ticker):
            outcome.matched.append(ref.id)
            dedup = _dedup_key(signal.signal_id, ref.id)
            if self.redis.exists(dedup):
                outcome.duplicates.append(ref.id)
                continue
            token = acquire_running_lock(self.redis, ref.id, self.settings.running_lock_seconds,
                                         owner=signal.signal_id)
            if token is None:
                outcome.skipped_running.append(ref.id)
                continue
            # The Celery instrumentation's publish span (child of the match span) puts the
            # trace context into the task's headers: the worker continues this trace.
            self.execute_pipeline.apply_async(kwargs={
                "pipeline_id": ref.id, "trigger_mode": "signal",
                "signal": signal.model_dump(mode="json"), "lock_token": token})
            # Marked only once enqueued: a crash in between replays the signal, and the
            # worker's unique (pipeline, signal) row stops a second run.
            self.redis.set(dedup, 1, ex=self.settings.dedup_ttl_seconds)
            outcome.enqueued.append(ref.id)
        return outcome

    def send_to_dlq(self, message: Message, reason: str) -> None:
        log.warning("to %s (partition %s offset %s): %s", self.settings.dlq_topic,
                    message.partition(), message.offset(), reason)
        headers = list(message.headers() or []) + [
            ("dlq.reason", reason.encode()),
            ("dlq.source.topic", message.topic().encode()),
            ("dlq.source.partition", str(message.partition()).encode()),
            ("dlq.source.offset", str(message.offset()).encode()),
        ]
        self.dlq_producer.produce(self.settings.dlq_topic, key=message.key(),
                                  value=message.value(), headers=headers)

    def _commit(self, offsets: list[TopicPartition]) -> None:
        """Commit the batch's offsets, retrying while the coordinator is away. Giving up (the
        deadline passed, or the partitions moved to another consumer) loses nothing: the
        uncommitted messages are replayed later and their dedup keys stop double triggers."""
        deadline = time.monotonic() + self.settings.commit_retry_seconds
        while offsets:
            try:
                self.consumer.commit(offsets=offsets, asynchronous=False)
                return
            except KafkaException as exception:
                error = exception.args[0]
                if error.code() not in COORDINATOR_AWAY or time.monotonic() > deadline:
                    log.warning("offsets not committed (%s); the batch will be replayed and "
                                "deduplicated", error.name())
                    return
                log.info("commit waits for the group coordinator (%s)", error.name())
                time.sleep(self.settings.retry_backoff_seconds)

    def _rewind(self, messages: list[Message]) -> None:
        """Seek back to the batch's first messages so that the next consume() retries them."""
        for (topic, partition), (first, _) in _partition_ranges(messages).items():
            start = TopicPartition(topic, partition, first)
            try:
                self.consumer.seek(start)
            except KafkaException as exception:  # reassigned: its new owner replays it
                log.warning("cannot rewind %s[%d]: %s", start.topic, start.partition,
                            exception.args[0].name())

    def _flush_dlq(self) -> None:
        """The batch is committed only once its rejected messages are safely in the DLQ."""
        remaining = self.dlq_producer.flush(30)
        if remaining:
            raise RuntimeError(f"{remaining} DLQ message(s) not delivered; batch not committed")

    def _record(self, signal: Signal, outcome: SignalOutcome) -> None:
        pipe = self.redis.pipeline()
        # The first handling is what `signal emit` reports; a redelivery only adds to the stats.
        pipe.set(dispatch_key(signal.signal_id), json.dumps(outcome.__dict__),
                 ex=self.settings.dedup_ttl_seconds, nx=True)
        pipe.hincrby(STATS_KEY, "pipelines_matched", len(outcome.matched))
        pipe.hincrby(STATS_KEY, "pipelines_enqueued", len(outcome.enqueued))
        pipe.hincrby(STATS_KEY, "pipelines_skipped_running", len(outcome.skipped_running))
        pipe.hincrby(STATS_KEY, "duplicates", len(outcome.duplicates))
        pipe.execute()

    def _count(self, counts: dict[str, int]) -> None:
        pipe = self.redis.pipeline()
        for name, value in counts.items():
            pipe.hincrby(STATS_KEY, name, value)
        pipe.execute()


def _partition_ranges(messages: list[Message]) -> dict[tuple[str, int], tuple[int, int]]:
    """Per (topic, partition), the batch's first and last offsets (error events carry none)."""
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for message in messages:
        if message.error() is None:
            key, offset = (message.topic(), message.partition()), message.offset()
            first, last = ranges.get(key, (offset, offset))
            ranges[key] = (min(first, offset), max(last, offset))
    return ranges


def create_consumer(settings: Settings) -> Consumer:
    return Consumer({
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "group.id": settings.consumer_group,
        "enable.auto.commit": False,        # committed after the batch is enqueued
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "session.timeout.ms": settings.consumer_session_timeout_ms,
    })


def create_dlq_producer(settings: Settings) -> Producer:
    return Producer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                     "enable.idempotence": True})
