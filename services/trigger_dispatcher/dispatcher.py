"""The dispatcher's batch loop: consume, validate, match, queue, lock, publish, then commit.

Offsets are committed only after every task of the batch is published and every rejected
message is confirmed in the DLQ: a crash replays the batch (at-least-once), and the execution
rows (unique per pipeline and signal, see `services.shared.executions`) make the replay
trigger nothing twice. A batch that fails because the database, Redis or the broker is away
is rewound and retried with backoff rather than ending the process, and a commit waits out a
broker restart. A message that cannot be handled (not a signal, unreadable headers, a
failure that is not an outage) is parked in the DLQ with the reason, never retried for ever.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace

import redis
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import Span
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from services.shared import redis_keys
from services.shared.clients import INFRASTRUCTURE_ERRORS, backoff_seconds
from services.shared.db import Execution, ExecutionStatus, session_scope
from services.shared.dispatch_record import SignalOutcome
from services.shared.executions import SignalMatch, queue_batch_runs
from services.shared.running import running_locks
from services.shared.settings import Settings
from services.shared.signals import InvalidSignal, Signal, parse_signal
from services.shared.tasks import PipelineRun, pipeline_run_sender
from services.trigger_dispatcher.index import PipelineIndex, load_index
from tracing import attributes as attr
from tracing import record_failure, span_names, tracer
from tracing.kafka import Headers, extract_context, read_headers, receive_span, start_process_span

log = logging.getLogger(__name__)

# Commit errors while the group coordinator is away (a broker restart): retried until it is back.
COORDINATOR_AWAY = frozenset({
    KafkaError._WAIT_COORD, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
})


class StaleIndex(Exception):
    """The index names a pipeline the database no longer has: reload it, replay the batch."""


@dataclass
class InFlight:
    """One signal of the batch while the batch's I/O is done together: its process and match
    spans stay open across the steps, and each step for it runs under `context` (its match
    span current, its signal id in baggage)."""

    message: Message
    headers: Headers | None
    process: Span
    signal: Signal
    match: Span
    context: Context
    outcome: SignalOutcome
    to_publish: list[PipelineRun] = field(default_factory=list)
    parked: bool = False


class Dispatcher:
    def __init__(self, settings: Settings, consumer: Consumer, dlq_producer: Producer,
                 client: redis.Redis) -> None:
        self.settings = settings
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.redis = client
        self.locks = running_locks(client, settings)
        self.index = PipelineIndex()
        self._index_loaded_at = float("-inf")
        self._failed_batches = 0            # in a row: the backoff grows with them
        self._dlq_failures: list[str] = []  # delivery reports of this batch's DLQ messages

    def use_index(self, index: PipelineIndex) -> None:
        """Serve `index` as if just loaded from the database (until the next refresh is due)."""
        self.index = index
        self._index_loaded_at = time.monotonic()

    def refresh_index_if_due(self) -> bool:
        """Reload the index when due; True once an index is loaded. A database error keeps the
        previous index (and is retried within a second) rather than stopping the dispatcher."""
        now = time.monotonic()
        if now - self._index_loaded_at < self.settings.index_refresh_seconds:
            return True
        try:
            with tracer().start_as_current_span(span_names.PIPELINES_INDEX_REFRESH) as span:
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

    def _next_batch(self) -> list[Message]:
        """Up to batch_size messages, without waiting for more than there are.

        librdkafka's consume(n, timeout) returns when it has n messages or the timeout has
        passed, so at low traffic every signal would wait the whole batch timeout in the
        client. Instead: wait (up to the timeout) for the first message only, then take what
        is already fetched, without waiting. At high traffic a batch still fills up.
        """
        first = self.consumer.consume(num_messages=1,
                                      timeout=self.settings.batch_timeout_seconds)
        if not first or self.settings.batch_size == 1:
            return first
        return first + self.consumer.consume(num_messages=self.settings.batch_size - 1,
                                             timeout=0)

    def run_once(self) -> int:
        """Consume and handle one batch; returns the number of messages in it."""
        if not self.refresh_index_if_due():
            time.sleep(1.0)  # consuming with no index would match nothing and lose signals
            return 0
        messages = self._next_batch()
        if not messages:
            return 0
        try:
            self.handle_batch(messages)
        except Exception as error:  # noqa: BLE001 - whatever failed, the batch must not be skipped
            pause = min(self.settings.max_retry_backoff_seconds,
                        self.settings.retry_backoff_seconds * backoff_seconds(self._failed_batches))
            self._failed_batches += 1
            if isinstance(error, INFRASTRUCTURE_ERRORS):
                log.error("batch of %d message(s) failed (%s: %s); rewinding, retry in %.1fs",
                          len(messages), error.__class__.__name__, error, pause)
            else:
                log.exception("batch of %d message(s) failed; rewinding, retry in %.1fs",
                              len(messages), pause)
            self._rewind(messages)
            time.sleep(pause)
            return len(messages)
        self._failed_batches = 0
        return len(messages)

    def handle_batch(self, messages: list[Message]) -> None:
        """Handle every message of a batch, each in its own trace, then commit the batch.

        The spans are per message, the I/O per batch: every message gets its process span and
        its match span, then the batch's execution rows are written in one transaction, its
        locks taken in one Redis round trip, its tasks published in one (each publish span
        under its own message's match span) and its records written in one round trip."""
        received = []
        for message in messages:
            error = message.error()
            if error is None:
                received.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.error("consume error: %s", error)
        self._dlq_failures = []
        headers = [read_headers(message) for message in received]   # once each: see there
        trust = self.settings.trust_incoming_baggage
        contexts = [_context_of(h, trust) for h in headers]
        group, topic = self.settings.consumer_group, self.settings.signals_topic
        with receive_span(tracer(), topic, group, [c for c, _ in contexts],
                          self.settings.kafka_bootstrap_servers) as batch, \
                ExitStack() as open_spans:
            flights = []
            for message, message_headers, (parent, problem) in zip(received, headers, contexts,
                                                                   strict=True):
                span = start_process_span(tracer(), message, parent, problem, batch, group)
                open_spans.callback(span.end)
                flight = self._start(message, message_headers, span, parent)
                if flight is not None:
                    flights.append(flight)
                    open_spans.callback(flight.match.end)
            parked = len(received) - len(flights)
            parked += self._dispatch_isolating_poison(flights)
            self._finish(flights)
            self._flush_dlq()
            self._commit([TopicPartition(topic, partition, last + 1)  # the next to read
                          for (topic, partition), (_, last) in _partition_ranges(messages).items()])
        self._count({"signals_consumed": len(received) - parked, "dlq": parked})

    def _start(self, message: Message, headers: Headers | None, span: Span,
               parent: Context) -> InFlight | None:
        """Parse the message and open its match span; None when it was parked in the DLQ."""
        try:
            signal = parse_signal(message.value())
        except InvalidSignal as invalid:
            self._park(message, headers, span, invalid, "invalid_signal", invalid.reason)
            return None
        span.set_attributes({attr.SIGNAL_ID: signal.signal_id, attr.TICKER: signal.ticker,
                             attr.MESSAGING_MESSAGE_ID: signal.signal_id})
        # The signal id in baggage also for messages from clients that set none.
        inside = baggage.set_baggage(attr.SIGNAL_ID, signal.signal_id,
                                     trace.set_span_in_context(span, parent))
        match = tracer().start_span(span_names.PIPELINES_MATCH, context=inside,
                                    attributes={attr.TICKER: signal.ticker})
        matched = [ref.id for ref in self.index.match(signal.ticker)]
        return InFlight(message, headers, span, signal, match,
                        trace.set_span_in_context(match, inside), SignalOutcome(matched=matched))

    def _dispatch_isolating_poison(self, flights: list[InFlight]) -> int:
        """Dispatch the batch's signals together. An outage (database, Redis, broker)
        propagates, so the batch is rewound and retried; any other failure is some message's
        doing: the signals are then dispatched one by one, and the one that still fails is
        parked, so it cannot stall its partition. Returns how many were parked."""
        try:
            self._dispatch(flights)
            return 0
        except (*INFRASTRUCTURE_ERRORS, StaleIndex):  # type: ignore[misc]  # mypy: a starred tuple
            raise
        except Exception as error:  # noqa: BLE001 - a poison message, not an outage
            if len(flights) == 1:
                [flight] = flights
                with _entered(flight.context):
                    log.exception("signal %s cannot be dispatched", flight.signal.signal_id)
                self._park(flight.message, flight.headers, flight.process, error,
                           "dispatch_error",
                           f"dispatch failed: {error.__class__.__name__}: {error}"[:500])
                flight.parked = True
                record_failure(flight.match, error)
                return 1
            log.warning("a batch of %d signals failed (%s); dispatching them one by one",
                        len(flights), error.__class__.__name__)
        for flight in flights:
            flight.outcome = SignalOutcome(matched=flight.outcome.matched)
            flight.to_publish = []
        return sum(self._dispatch_isolating_poison([flight]) for flight in flights)

    def _dispatch(self, flights: list[InFlight]) -> None:
        """Queue a row per matched pipeline (the dedup), lock the new ones, publish their tasks.

        A pipeline whose lock another trigger holds is skipped (its new row dropped). A replay
        finds the rows already there: it publishes again those still queued (the dispatcher may
        have died before publishing them; a task delivered twice still runs once)."""
        matching = [flight for flight in flights if flight.outcome.matched]
        if not matching:
            return
        with session_scope(self.settings.database_url) as session:
            try:
                batch_runs = queue_batch_runs(session, [SignalMatch(
                    flight.signal.model_dump(mode="json"), flight.outcome.matched,
                    format(flight.process.get_span_context().trace_id, "032x"))
                    for flight in matching], self.settings)
            except IntegrityError as error:   # a matched pipeline was deleted meanwhile
                self._index_loaded_at = float("-inf")
                raise StaleIndex(str(error.orig)) from error
            wanted = [(flight, run) for flight, runs in zip(matching, batch_runs, strict=True)
                      for run in runs.new]
            taken = self.locks.take_all(
                [(run.pipeline_id, flight.signal.signal_id) for flight, run in wanted])
            skipped = []
            for (flight, run), locked in zip(wanted, taken, strict=True):
                if locked:
                    flight.outcome.enqueued.append(run.pipeline_id)
                    flight.to_publish.append(run)
                else:
                    flight.outcome.skipped_running.append(run.pipeline_id)
                    skipped.append(run.execution_id)
            if skipped:
                session.execute(delete(Execution).where(Execution.id.in_(skipped)))
            for flight, runs in zip(matching, batch_runs, strict=True):
                for pipeline_id, (status, run) in runs.existing.items():
                    flight.outcome.duplicates.append(pipeline_id)
                    if status == ExecutionStatus.QUEUED:
                        flight.to_publish.append(run)
        # Published after the commit: the worker must find the row. Under each signal's match
        # span, so each publish span is its child and the worker continues that trace.
        with pipeline_run_sender(self.settings) as send:
            for flight in matching:
                with _entered(flight.context):
                    for run in flight.to_publish:
                        send(run)

    def _finish(self, flights: list[InFlight]) -> None:
        """Close each dispatched signal's match span with what became of it, log it under
        that span, and record every outcome in one round trip: a record per signal, the
        recent signals in one command, the batch's stats summed into one per field."""
        pipe = self.redis.pipeline(transaction=False)
        recent: dict[str, float] = {}
        stats: Counter[str] = Counter()
        for flight in flights:
            if flight.parked:
                continue
            outcome, signal = flight.outcome, flight.signal
            flight.match.set_attributes({
                attr.PIPELINES_MATCHED: len(outcome.matched),
                attr.PIPELINES_ENQUEUED: len(outcome.enqueued),
                attr.PIPELINES_SKIPPED_RUNNING: len(outcome.skipped_running),
                attr.PIPELINES_DUPLICATES: len(outcome.duplicates)})
            with _entered(flight.context):
                log.info("signal %s (%s): matched %s, enqueued %s, skipped (running) %s",
                         signal.signal_id, signal.ticker, outcome.matched, outcome.enqueued,
                         outcome.skipped_running)
            # The first handling is what `signal emit` reports; a redelivery only adds stats.
            record = replace(outcome, ticker=signal.ticker, signal_type=signal.signal_type,
                             generated_at=signal.generated_at.isoformat())
            pipe.set(redis_keys.signal_dispatch(signal.signal_id), record.to_json(),
                     ex=self.settings.dispatch_record_seconds, nx=True)
            recent[signal.signal_id] = signal.generated_at.timestamp()
            stats.update({"pipelines_matched": len(outcome.matched),
                          "pipelines_enqueued": len(outcome.enqueued),
                          "pipelines_skipped_running": len(outcome.skipped_running),
                          "duplicates": len(outcome.duplicates)})
        if recent:
            pipe.zadd(redis_keys.RECENT_SIGNALS, recent)
        for field_name, count in stats.items():
            if count:
                pipe.hincrby(redis_keys.DISPATCHER_STATS, field_name, count)
        pipe.zremrangebyscore(redis_keys.RECENT_SIGNALS, "-inf",
                              time.time() - self.settings.dispatch_record_seconds)
        pipe.execute()

    def _park(self, message: Message, headers: Headers | None, span: Span, error: Exception,
              error_type: str, reason: str) -> None:
        span.set_attribute(attr.DLQ_REASON, reason)
        span.set_attribute("error.type", error_type)
        record_failure(span, error, reason if error_type != "invalid_signal"
                       else f"not a valid signal: {reason}")
        self.send_to_dlq(message, reason, headers)

    def send_to_dlq(self, message: Message, reason: str, headers: Headers | None) -> None:
        """Park the message with its reason and where it came from. Its original headers and
        value go along unless they are unreadable or too large; then the copy says so and the
        source topic, partition and offset point to the original."""
        log.warning("to %s (partition %s offset %s): %s", self.settings.dlq_topic,
                    message.partition(), message.offset(), reason)
        value, headers, note = _dlq_body(message.value(), headers,
                                         self.settings.dlq_max_value_bytes)
        headers = headers + [
            ("dlq.reason", reason.encode("utf-8", "replace")),
            ("dlq.source.topic", (message.topic() or "").encode()),
            ("dlq.source.partition", str(message.partition()).encode()),
            ("dlq.source.offset", str(message.offset()).encode()),
        ] + ([("dlq.note", note.encode())] if note else [])
        deadline = time.monotonic() + 30
        while True:
            try:
                self.dlq_producer.produce(self.settings.dlq_topic, key=message.key(),
                                          value=value, headers=headers,
                                          on_delivery=self._on_dlq_delivery)
                return
            except BufferError:    # the local queue is full: serve reports, then try again
                if time.monotonic() > deadline:
                    raise
                self.dlq_producer.poll(0.5)

    def _on_dlq_delivery(self, error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            self._dlq_failures.append(error.name())

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
        """The batch is committed only once its rejected messages are confirmed in the DLQ."""
        remaining = self.dlq_producer.flush(30)
        if remaining or self._dlq_failures:
            raise RuntimeError(f"DLQ: {remaining} message(s) unconfirmed, failed deliveries "
                               f"{self._dlq_failures}; batch not committed")

    def _count(self, counts: dict[str, int]) -> None:
        pipe = self.redis.pipeline()
        for name, value in counts.items():
            pipe.hincrby(redis_keys.DISPATCHER_STATS, name, value)
        pipe.execute()


@contextmanager
def _entered(context: Context) -> Iterator[None]:
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


def _context_of(headers: Headers | None, trust_baggage: bool) -> tuple[Context, str | None]:
    """The message's trace context; unreadable headers give a new root, marked as such."""
    if headers is None:
        context, _ = extract_context(None)
        return context, "unreadable"
    return extract_context(headers, trust_baggage)


def _dlq_body(value: bytes | None, headers: Headers | None,
              max_bytes: int) -> tuple[bytes | None, Headers, str | None]:
    """The value and headers to park, bounded by `max_bytes`, and a note on what was left out."""
    notes = []
    if headers is None:
        headers, notes = [], ["original headers unreadable, dropped"]
    size = len(value or b"") + sum(len(k) + len(v or b"") for k, v in headers)
    if size > max_bytes:
        notes.append(f"{size} bytes over {max_bytes}: original headers dropped, value cut")
        headers = []
        value = value[:max_bytes] if value else value
    return value, headers, "; ".join(notes) or None


def _partition_ranges(messages: list[Message]) -> dict[tuple[str, int], tuple[int, int]]:
    """Per (topic, partition), the batch's first and last offsets (error events carry none)."""
    ranges: dict[tuple[str, int], tuple[int, int]] = {}
    for message in messages:
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        if message.error() is None and topic is not None and partition is not None \
                and offset is not None:
            first, last = ranges.get((topic, partition), (offset, offset))
            ranges[(topic, partition)] = (min(first, offset), max(last, offset))
    return ranges


def create_consumer(settings: Settings) -> Consumer:
    return Consumer(settings.kafka_config({
        "group.id": settings.consumer_group,
        "enable.auto.commit": False,        # committed after the batch is enqueued
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "session.timeout.ms": settings.consumer_session_timeout_ms,
    }))


def create_dlq_producer(settings: Settings) -> Producer:
    return Producer(settings.kafka_config({"enable.idempotence": True}))
