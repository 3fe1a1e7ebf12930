"""The messages of the signals topic a funnel counts, and which the dispatcher has not handled.

Each message is kept, parsed, by the process between counts (`MessageIndex`): a message never
changes once written, so a count reads from Kafka only what was written since the one before.
Read whole, a window of 10,000 signals cost every page load ~110 ms (the read and the JSON),
and the page's window holds every other signal of the hour too. What changes (the group's
committed offsets, the DLQ, the records, the runs) is read on every count.
"""

from __future__ import annotations

import bisect
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from services.shared.settings import Settings
from services.shared.topic_reads import (
    Ranges,
    kept_consumer,
    offsets_since,
    read_range,
    topic_reader,
)

# The most messages a funnel reads (a window larger says so rather than read for ever), and
# the most the index keeps of a partition.
MAX_MESSAGES = 100_000


@dataclass(frozen=True)
class Message:
    partition: int
    offset: int
    signal_id: str | None           # None: not a signal
    ticker: str | None


@dataclass
class _Kept:
    """A partition's messages from `offsets[0]` to `end` (offsets may skip: control records)."""

    end: int
    offsets: list[int] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.offsets[0] if self.offsets else self.end


class MessageIndex:
    """The messages already read, by topic and partition."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, int], _Kept] = {}

    def read(self, consumer: Consumer, topic: str, ranges: Ranges) -> list[Message]:
        """The messages of `ranges`, reading from Kafka only what is not kept."""
        with self._lock:
            missing: Ranges = {}
            for partition, (start, end) in ranges.items():
                kept = self._kept.get((topic, partition))
                # Outside what is kept (before it, or past its end), or the topic was remade.
                if kept is None or not kept.first <= start <= kept.end or end < kept.end:
                    kept = self._kept[(topic, partition)] = _Kept(start)
                missing[partition] = (kept.end, end)
            for message in read_range(consumer, topic, missing):
                self._keep(topic, _parsed(message.partition() or 0, message.offset() or 0,
                                          message.value()))
            for partition, (_, end) in missing.items():
                self._kept[(topic, partition)].end = max(self._kept[(topic, partition)].end, end)
            return [m for partition, (start, end) in ranges.items()
                    for m in self._between(topic, partition, start, end)]

    def _keep(self, topic: str, message: Message) -> None:
        kept = self._kept[(topic, message.partition)]
        kept.offsets.append(message.offset)
        kept.messages.append(message)
        kept.end = message.offset + 1
        if len(kept.offsets) > MAX_MESSAGES:
            del kept.offsets[:-MAX_MESSAGES], kept.messages[:-MAX_MESSAGES]

    def _between(self, topic: str, partition: int, start: int, end: int) -> list[Message]:
        kept = self._kept[(topic, partition)]
        return kept.messages[bisect.bisect_left(kept.offsets, start):
                             bisect.bisect_left(kept.offsets, end)]


_INDEX = MessageIndex()


def window_messages(settings: Settings,
                    since: datetime) -> tuple[list[Message], set[tuple[int, int]]]:
    """The messages written since `since`, and those the dispatcher's group has not
    committed yet."""
    topic = settings.signals_topic
    with topic_reader(settings) as consumer:
        ranges = offsets_since(consumer, topic, since)
        total = sum(end - start for start, end in ranges.values())
        if total > MAX_MESSAGES:
            raise ValueError(f"{total} messages in the window, over the {MAX_MESSAGES} a "
                             f"funnel reads: choose a shorter window")
        messages = _INDEX.read(consumer, topic, ranges)
    committed = _committed(settings, ranges)
    waiting = {(m.partition, m.offset) for m in messages
               if m.offset >= committed.get(m.partition, 0)}
    return messages, waiting


def _parsed(partition: int, offset: int, value: bytes | None) -> Message:
    body = _body(value)
    return Message(partition, offset, body.get("signal_id") if body else None,
                   body.get("ticker") if body else None)


def _body(value: bytes | None) -> dict[str, Any] | None:
    try:
        body = json.loads(value or b"")
    except ValueError:
        return None
    return body if isinstance(body, dict) and isinstance(body.get("signal_id"), str) else None


def _committed(settings: Settings, ranges: Ranges) -> dict[int, int]:
    """The dispatcher group's committed offset of each partition (0 when none), asked by a
    consumer with the group's id that never subscribes, assigns or commits (as LagReader's)."""
    wanted = [TopicPartition(settings.signals_topic, p) for p in ranges]
    with kept_consumer(settings.kafka_config({"group.id": settings.consumer_group,
                                              "enable.auto.commit": False})) as consumer:
        return {tp.partition: max(tp.offset, 0)
                for tp in consumer.committed(wanted, timeout=10)}
