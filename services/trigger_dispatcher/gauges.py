"""The dispatcher's state, as gauges: its index's size, its consumer's offsets, the queue."""

from __future__ import annotations

from services.shared.tasks import PIPELINE_QUEUE
from services.trigger_dispatcher.dispatcher import Dispatcher
from tracing.metrics import observe_gauge


def consumer_offsets(dispatcher: Dispatcher) -> list[tuple[float, dict[str, str]]]:
    positions = dispatcher.consumer.position(dispatcher.consumer.assignment())
    return [(p.offset, {"partition": str(p.partition)}) for p in positions if p.offset >= 0]


def observe_dispatcher(dispatcher: Dispatcher) -> None:
    observe_gauge("cache.size", lambda: [(dispatcher.index.size_bytes(), {})], "By",
                  "Memory held by the pipeline index")
    observe_gauge("kafka.consumer.offset", lambda: consumer_offsets(dispatcher), "{offset}",
                  "The next offset the dispatcher reads, per partition")
    observe_gauge("celery.queue.depth",
                  lambda: [(dispatcher.redis.llen(PIPELINE_QUEUE), {"queue": PIPELINE_QUEUE})],
                  "{task}", "Pipeline tasks waiting in the Celery queue")
