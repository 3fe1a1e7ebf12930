"""The dispatcher's consumer lag as the broker sees it: committed offsets against the end of
each partition, and how old the oldest unhandled signal is.

The span-derived lag (the age of a message when the dispatcher handles it) goes silent exactly
when the dispatcher is dead and lag grows, so this one is read by another process (the
backend, when metrics are exported). Consumers only, no AdminClient: librdkafka 2.x aborts the
whole process (`rd_kafka_enq_once_del_source_return: Assertion eonce->refcnt > 0`) when an
admin request times out during a broker outage, which killed the backend in a fault test. The
group's committed offsets are fetched by a consumer that has the group's id but never
subscribes, assigns or commits, so it never joins the group. Every call is bounded by
`timeout`; a broker that does not answer gives no reading.

Clients that keep failing are replaced: in one CI run, after a broker restart, the backend's
reader answered `_TRANSPORT` ("Failed to get metadata") for the next 19 minutes while every
other client of the platform was back within seconds (not reproduced by hand: a restart
there recovered in 4 s). A reading that has failed for `rebuild_after` seconds closes both
clients and builds new ones.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from services.shared.settings import Settings


@dataclass(frozen=True)
class PartitionLag:
    partition: int
    messages: int          # published but not yet committed by the group
    age_seconds: float     # of the oldest of them; 0 when there are none


class LagReader:
    """Reads one group's lag on one topic; keeps its two clients between readings."""

    def __init__(self, settings: Settings, timeout: float = 2.0,
                 rebuild_after: float = 30.0) -> None:
        self.settings = settings
        self.group, self.topic, self.timeout = (settings.consumer_group,
                                                settings.signals_topic, timeout)
        self.rebuild_after = rebuild_after
        self._failing_since: float | None = None
        self._build()

    def _build(self) -> None:
        # The group's id, to fetch its committed offsets: never subscribes, assigns or commits.
        self.group_offsets = Consumer(self.settings.kafka_config({
            "group.id": self.group, "enable.auto.commit": False}))
        # A group of its own: reads watermarks and the oldest waiting message per partition.
        self.reader = Consumer(self.settings.kafka_config({
            "group.id": f"lag-reader-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}))

    def read(self) -> list[PartitionLag]:
        """The lag of every partition; raises when the broker gives no reading (and replaces
        the clients once readings have failed for `rebuild_after` seconds)."""
        try:
            lags = self._read()
        except KafkaException:
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if now - self._failing_since >= self.rebuild_after:
                self.close()
                self._build()
                self._failing_since = None
            raise
        self._failing_since = None
        return lags

    def _read(self) -> list[PartitionLag]:
        partitions = self._partitions()
        committed = self.committed(partitions)
        lags = []
        for partition in partitions:
            low, end = self.reader.get_watermark_offsets(TopicPartition(self.topic, partition),
                                                         timeout=self.timeout)
            start = committed.get(partition, -1)
            if start < 0:          # nothing committed yet: the group starts from the beginning
                start = low
            waiting = max(0, end - start)
            age = self._age(partition, start) if waiting else 0.0
            lags.append(PartitionLag(partition, waiting, age))
        return lags

    def _partitions(self) -> list[int]:
        metadata = self.reader.list_topics(self.topic, timeout=self.timeout).topics[self.topic]
        if metadata.error is not None:
            raise RuntimeError(f"topic {self.topic}: {metadata.error}")
        return sorted(metadata.partitions)

    def committed(self, partitions: list[int]) -> dict[int, int]:
        """The group's committed offset of each partition (-1: none committed yet)."""
        wanted = [TopicPartition(self.topic, p) for p in partitions]
        return {tp.partition: tp.offset
                for tp in self.group_offsets.committed(wanted, timeout=self.timeout)}

    def _age(self, partition: int, offset: int) -> float:
        """Seconds since the message at `offset` was written (the oldest one waiting)."""
        self.reader.assign([TopicPartition(self.topic, partition, offset)])
        message = self.reader.poll(self.timeout)
        if message is None or message.error() is not None:
            return 0.0
        _, written_ms = message.timestamp()
        return max(0.0, time.time() - written_ms / 1000) if written_ms > 0 else 0.0

    def close(self) -> None:
        self.group_offsets.close()
        self.reader.close()
