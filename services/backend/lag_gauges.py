"""The dispatcher's consumer lag, reported by the backend (services/shared/consumer_lag.py):
a process that lives when the dispatcher does not, so the lag alert sees a dead dispatcher."""

from __future__ import annotations

import threading
import time

from services.shared.consumer_lag import LagReader, PartitionLag
from services.shared.settings import Settings
from tracing.metrics import observe_gauge


class _OneReadingPerExport:
    """Both gauges are read in the same export: the broker is asked once."""

    def __init__(self, reader: LagReader, max_age: float = 1.0) -> None:
        self.reader, self.max_age = reader, max_age
        self.lock = threading.Lock()
        self.at = float("-inf")
        self.value: list[PartitionLag] = []

    def __call__(self) -> list[PartitionLag]:
        with self.lock:
            if time.monotonic() - self.at > self.max_age:
                self.value, self.at = self.reader.read(), time.monotonic()
            return self.value


def observe_consumer_lag(settings: Settings) -> None:
    reading = _OneReadingPerExport(LagReader(settings))
    labels = {"group": settings.consumer_group, "topic": settings.signals_topic}

    def per_partition(field: str) -> list[tuple[float, dict[str, str]]]:
        return [(float(getattr(lag, field)), {**labels, "partition": str(lag.partition)})
                for lag in reading()]

    observe_gauge("kafka.consumer_group.lag", lambda: per_partition("messages"), "{message}",
                  "Signals published but not yet committed by the dispatcher, per partition")
    observe_gauge("kafka.consumer_group.lag_age", lambda: per_partition("age_seconds"), "s",
                  "Age of the oldest signal the dispatcher has not committed, per partition")
