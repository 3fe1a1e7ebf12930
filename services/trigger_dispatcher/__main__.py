"""`python -m services.trigger_dispatcher`: consume signals until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import time

from services.shared.clients import redis_client
from services.shared.heartbeat import Heartbeat
from services.shared.lifecycle import StopRequested, settle_heap
from services.shared.settings import get_settings
from services.shared.topics import ensure_topics
from services.trigger_dispatcher.dispatcher import Dispatcher
from services.trigger_dispatcher.dlq import create_dlq_producer
from services.trigger_dispatcher.gauges import observe_dispatcher
from services.trigger_dispatcher.offsets import create_consumer
from services.trigger_dispatcher.telemetry import DispatcherTelemetry
from tracing.service_names import TRIGGER_DISPATCHER

log = logging.getLogger(TRIGGER_DISPATCHER)


def main() -> None:
    telemetry = DispatcherTelemetry()
    settings = get_settings()
    ensure_topics(settings)
    consumer = create_consumer(settings)
    consumer.subscribe([settings.signals_topic])
    dlq = create_dlq_producer(settings)
    dispatcher = Dispatcher(settings, consumer, dlq, redis_client(settings))
    observe_dispatcher(dispatcher)
    stopping = StopRequested()
    heartbeat = Heartbeat(settings.heartbeat_file)
    while not dispatcher.refresh_index_if_due() and not stopping:
        time.sleep(1.0)
    settle_heap()
    log.info("consuming %s as group %s", settings.signals_topic, settings.consumer_group)
    try:
        while not stopping:
            heartbeat.beat()
            dispatcher.run_once()
    finally:
        dispatcher.withdraw_index()
        consumer.close()  # leaves the group at once, so a restart rebalances quickly
        dlq.flush(10)
        telemetry.shutdown()
        log.info("stopped")


if __name__ == "__main__":
    main()
