"""The dispatcher's loop: refresh the pipeline index, consume a batch, handle it, commit.

Each message of a batch gets its own trace (its process span carries which pipelines the
signal matched and what became of them); the batch's I/O is done
together (`dispatch.py`), what became of each signal is recorded (`records.py`), a message
that cannot be handled is parked (`dlq.py`), and the offsets are committed only then
(`offsets.py`). A batch that fails because the database, Redis or the broker is away is
rewound and retried with backoff rather than ending the process.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from datetime import datetime

import redis
from confluent_kafka import Consumer, KafkaError, Message, Producer
from opentelemetry.context import Context
from opentelemetry.trace import Span
from sqlalchemy.exc import SQLAlchemyError

from services.shared.clients import INFRASTRUCTURE_ERRORS, backoff_seconds
from services.shared.db import utcnow
from services.shared.dispatch_record import SignalOutcome
from services.shared.running import running_locks
from services.shared.settings import Settings
from services.shared.signals import InvalidSignal, parse_signal
from services.trigger_dispatcher import offsets, records
from services.trigger_dispatcher.dispatch import StaleIndex, dispatch
from services.trigger_dispatcher.dlq import DeadLetterQueue
from services.trigger_dispatcher.in_flight import InFlight, context_of, entered
from services.trigger_dispatcher.index import PipelineIndex, load_index
from tracing import attributes as attr
from tracing import record_failure, span_names, tracer
from tracing.kafka import Headers, read_headers, receive_span, start_process_span
from tracing.signal_context import signal_context

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, settings: Settings, consumer: Consumer, dlq_producer: Producer,
                 client: redis.Redis) -> None:
        self.settings = settings
        self.consumer = consumer
        self.dlq = DeadLetterQueue(dlq_producer, settings)
        self.redis = client
        self.locks = running_locks(client, settings)
        self.index = PipelineIndex()
        self._index_loaded_at = float("-inf")
        self._failed_batches = 0            # in a row: the backoff grows with them

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
                span.set_attributes({attr.INDEX_TICKERS: len(self.index),
                                     attr.INDEX_PIPELINES: self.index.pipeline_count})
        except SQLAlchemyError as error:
            loaded = self._index_loaded_at > float("-inf")
            log.error("cannot load the pipeline index (%s); %s", error.__class__.__name__,
                      "keeping the previous one" if loaded else "not consuming until it loads")
            if loaded:
                self._index_loaded_at = now - self.settings.index_refresh_seconds + 1.0
            return loaded
        self._index_loaded_at = now
        log.debug("index: %d tickers, %d pipelines", len(self.index), self.index.pipeline_count)
        self._announce_index()
        return True

    def _announce_index(self) -> None:
        """Make known which index is served; Redis away only delays it to the next refresh
        (the batch that needs Redis retries on its own)."""
        if self.index.as_of is None:
            return
        try:
            records.announce_index(self.redis, self.index.as_of, self.settings)
        except INFRASTRUCTURE_ERRORS as error:
            log.debug("index not announced (%s)", error.__class__.__name__)

    def withdraw_index(self) -> None:
        """On the way out: this dispatcher serves no index any more (else its key expires)."""
        try:
            records.withdraw_index(self.redis)
        except INFRASTRUCTURE_ERRORS as error:
            log.debug("index not withdrawn (%s)", error.__class__.__name__)

    def run_once(self) -> int:
        """Consume and handle one batch; returns the number of messages in it."""
        if not self.refresh_index_if_due():
            time.sleep(1.0)  # consuming with no index would match nothing and lose signals
            return 0
        messages = offsets.next_batch(self.consumer, self.settings)
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
            offsets.rewind(self.consumer, messages)
            time.sleep(pause)
            return len(messages)
        self._failed_batches = 0
        return len(messages)

    def handle_batch(self, messages: list[Message]) -> None:
        """Handle every message of a batch, each in its own trace, then commit the batch.

        The spans are per message, the I/O per batch: every message gets its process span,
        then the batch's execution rows are written in one transaction, its locks taken in one
        Redis round trip, its tasks published in one (each publish span under its own
        message's process span) and its records written in one round trip."""
        received_at = utcnow()      # consumed just now: the end of its wait in Kafka
        received = []
        for message in messages:
            error = message.error()
            if error is None:
                received.append(message)
            elif error.code() != KafkaError._PARTITION_EOF:
                log.error("consume error: %s", error)
        self.dlq.start_batch()
        headers = [read_headers(message) for message in received]   # once each: see there
        trust = self.settings.trust_incoming_baggage
        contexts = [context_of(h, trust) for h in headers]
        group, topic = self.settings.consumer_group, self.settings.signals_topic
        with receive_span(tracer(), topic, group, [c for c, _ in contexts],
                          self.settings.kafka_bootstrap_servers) as batch, \
                ExitStack() as open_spans:
            flights = []
            for message, message_headers, (parent, problem) in zip(received, headers, contexts,
                                                                   strict=True):
                span = start_process_span(tracer(), message, parent, problem, batch, group)
                open_spans.callback(span.end)
                flight = self._start(message, message_headers, span, parent, received_at)
                if flight is not None:
                    flights.append(flight)
            parked = len(received) - len(flights)
            parked += self._dispatch_isolating_poison(flights)
            records.record_outcomes(self.redis, flights, self.settings)
            self.dlq.confirm()
            offsets.commit(self.consumer, messages, self.settings)
        records.count(self.redis, {"signals_consumed": len(received) - parked, "dlq": parked})

    def _start(self, message: Message, headers: Headers | None, span: Span,
               parent: Context, received_at: datetime) -> InFlight | None:
        """Parse the message and match it against the index; None when it was parked in the DLQ.

        What the match decides goes on the process span (records.py), not on a span of its
        own: a `pipelines.match` span per signal cost the dispatcher ~30-40 us of tracing per
        signal (starting, ending and encoding a span) for facts the process span can carry."""
        try:
            signal = parse_signal(message.value())
        except InvalidSignal as invalid:
            self._park(message, headers, span, invalid, "invalid_signal", invalid.reason)
            return None
        span.set_attributes({attr.SIGNAL_ID: signal.signal_id, attr.TICKER: signal.ticker,
                             attr.MESSAGING_MESSAGE_ID: signal.signal_id})
        matched = [ref.id for ref in self.index.match(signal.ticker)]
        # The signal id in baggage also for messages from clients that set none.
        return InFlight(message, headers, span, signal,
                        signal_context(signal.signal_id, span, parent),
                        SignalOutcome(matched=matched), received_at=received_at)

    def _dispatch(self, flights: list[InFlight]) -> None:
        try:
            dispatch(flights, self.settings, self.locks, self.redis)
        except StaleIndex:
            self._index_loaded_at = float("-inf")     # reloaded before the batch is replayed
            raise

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
                with entered(flight.context):
                    log.exception("signal %s cannot be dispatched", flight.signal.signal_id)
                self._park(flight.message, flight.headers, flight.process, error,
                           "dispatch_error",
                           f"dispatch failed: {error.__class__.__name__}: {error}"[:500])
                flight.parked = True
                return 1
            log.warning("a batch of %d signals failed (%s); dispatching them one by one",
                        len(flights), error.__class__.__name__)
        for flight in flights:
            flight.start_over()
        return sum(self._dispatch_isolating_poison([flight]) for flight in flights)

    def _park(self, message: Message, headers: Headers | None, span: Span, error: Exception,
              error_type: str, reason: str) -> None:
        span.set_attribute(attr.DLQ_REASON, reason)
        span.set_attribute(attr.ERROR_TYPE, error_type)
        record_failure(span, error, reason if error_type != "invalid_signal"
                       else f"not a valid signal: {reason}")
        self.dlq.park(message, reason, error_type, headers, span)
