"""`python -m services.signal_generator`: emit signals at the configured rate until stopped."""

from __future__ import annotations

import logging
import time

from services.shared.heartbeat import Heartbeat
from services.shared.lifecycle import StopRequested, settle_heap
from services.shared.settings import get_settings
from services.shared.topics import ensure_topics
from services.signal_generator.emitting import generate_and_publish
from services.signal_generator.generators import signals
from services.signal_generator.publisher import SignalPublisher
from tracing import setup_tracing, shutdown_tracing
from tracing.logs import configure_logging
from tracing.metrics import setup_metrics, shutdown_metrics
from tracing.service_names import SIGNAL_GENERATOR

log = logging.getLogger(SIGNAL_GENERATOR)


def main() -> None:
    configure_logging(SIGNAL_GENERATOR)
    settings = get_settings()
    provider = setup_tracing(SIGNAL_GENERATOR)
    meters = setup_metrics(SIGNAL_GENERATOR)
    ensure_topics(settings)
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic,
                                {**settings.kafka_client, **settings.generator_producer})
    stream = signals(settings.generator, settings.tickers, settings.generator_seed)
    stopping = StopRequested()
    settle_heap()
    interval = 1.0 / settings.signals_per_second
    log.info("%s signals at %.2f/s to %s", settings.generator, settings.signals_per_second,
             settings.signals_topic)
    heartbeat = Heartbeat(settings.heartbeat_file)
    next_at = time.monotonic()
    try:
        while not stopping:
            heartbeat.beat()
            publisher.retry_pending()
            if publisher.backlog() < settings.generator_max_pending:
                generate_and_publish(stream, publisher)
            else:   # Kafka is away for long: hold generation rather than drop signals
                log.warning("paused: %d signal(s) wait for Kafka", publisher.backlog())
            next_at = max(next_at + interval, time.monotonic() - 1.0)
            publisher.wait(next_at - time.monotonic())
    finally:
        publisher.retry_pending()
        undelivered = publisher.flush()
        counts = publisher.counts
        log.info("stopped: %d delivered, %d failed, %d undelivered (%d refused by a full queue, "
                 "%d retried)", counts.delivered, counts.failed,
                 undelivered + len(publisher.pending), counts.queue_full, counts.retried)
        shutdown_tracing(provider)  # after the flush: the signals' spans end on delivery reports
        shutdown_metrics(meters)


if __name__ == "__main__":
    main()
