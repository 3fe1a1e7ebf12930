"""Reading a topic's messages by offset range, without a consumer group's state: what the DLQ
tools and the explorer's funnel read (services/shared/redrive.py, explorer/funnel.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from services.shared.settings import Settings

Ranges = dict[int, tuple[int, int]]      # partition -> [start, end) offsets


@contextmanager
def topic_reader(settings: Settings) -> Iterator[Consumer]:
    """A consumer that only reads by assignment: it never joins, reads or commits a group."""
    consumer = Consumer(settings.kafka_config({"group.id": "tradetrace-topic-reader",
                                               "enable.auto.commit": False,
                                               "enable.partition.eof": True}))
    try:
        yield consumer
    finally:
        consumer.close()


def watermarks(consumer: Consumer, topic: str, timeout: float = 10.0) -> Ranges:
    """Each partition's first and next offset."""
    partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            for p in partitions}


def offsets_since(consumer: Consumer, topic: str, since: datetime,
                  timeout: float = 10.0) -> Ranges:
    """Each partition's range of the messages written at or after `since`, to its end now."""
    marks = watermarks(consumer, topic, timeout)
    asked = [TopicPartition(topic, p, int(since.timestamp() * 1000)) for p in marks]
    found = {tp.partition: tp.offset
             for tp in consumer.offsets_for_times(asked, timeout=timeout)}
    # -1: no message that recent in the partition; the range is empty.
    return {p: (found[p] if found.get(p, -1) >= 0 else high, high)
            for p, (_, high) in marks.items()}


def read_range(consumer: Consumer, topic: str, ranges: Ranges,
               timeout: float = 30.0) -> list[Message]:
    """Every message of `topic` in [start, end) of each partition, by assignment (no group
    state is read or written)."""
    wanted = {p: r for p, r in ranges.items() if r[1] > r[0]}
    if not wanted:
        return []
    consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in wanted.items()])
    found: list[Message] = []
    done: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(done) < len(wanted):
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {topic} took over {timeout:.0f}s")
        for message in consumer.consume(1000, 0.5):
            partition = message.partition() or 0
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise KafkaException(error)
                done.add(partition)
                continue
            if (message.offset() or 0) < wanted[partition][1]:
                found.append(message)
            if (message.offset() or 0) >= wanted[partition][1] - 1:
                done.add(partition)
    return found
