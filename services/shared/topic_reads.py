"""Reading a topic's messages by offset range, without a consumer group's state: what the DLQ
tools and the explorer's funnel read (services/shared/redrive.py, explorer/funnel.py).

The consumers are kept between reads, one per configuration and reader at a time, as the
database's engines are kept per URL (db.engine_for): a new consumer's first request costs
~50 ms here (connecting, metadata), more than the rest of a 10,000-message funnel's Kafka
reads, and a page made three of them per load. A read that raised closes its consumer, so the
next one meets the broker with a new client (consumer_lag.py says why a failing client is not
trusted to recover)."""

from __future__ import annotations

import atexit
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from confluent_kafka import (
    OFFSET_END,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from services.shared.settings import KafkaConfig, Settings

Ranges = dict[int, tuple[int, int]]      # partition -> [start, end) offsets

_kept: defaultdict[str, list[Consumer]] = defaultdict(list)
_kept_lock = threading.Lock()


@contextmanager
def kept_consumer(config: KafkaConfig) -> Iterator[Consumer]:
    """A consumer of this configuration for one reader, kept for the next once it is done
    (unassigned), closed if the read raised."""
    key = json.dumps(config, sort_keys=True, default=str)
    with _kept_lock:
        consumer = _kept[key].pop() if _kept[key] else None
    consumer = consumer or Consumer(config)
    try:
        yield consumer
        consumer.unassign()
    except BaseException:
        consumer.close()
        raise
    with _kept_lock:
        _kept[key].append(consumer)


@atexit.register
def _close_kept() -> None:
    with _kept_lock:
        for consumers in _kept.values():
            for consumer in consumers:
                consumer.close()
        _kept.clear()


def topic_reader(settings: Settings) -> AbstractContextManager[Consumer]:
    """A consumer that only reads by assignment: it never joins, reads or commits a group.

    Its fetches wait at most 20 ms for data, not the default 500: a fetch left waiting at a
    partition's end holds the connection, and the kept consumer's next request (the next
    read's offsets) queued behind it for up to 0.4 s."""
    return kept_consumer(settings.kafka_config({"group.id": "tradetrace-topic-reader",
                                                "enable.auto.commit": False,
                                                "enable.partition.eof": True,
                                                "fetch.wait.max.ms": 20}))


def watermarks(consumer: Consumer, topic: str, timeout: float = 10.0) -> Ranges:
    """Each partition's first and next offset."""
    partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            for p in partitions}


def offsets_since(consumer: Consumer, topic: str, since: datetime,
                  timeout: float = 10.0) -> Ranges:
    """Each partition's range of the messages written at or after `since`, to its end now
    (each bound asked of every partition in one request)."""
    partitions = consumer.list_topics(topic, timeout=timeout).topics[topic].partitions
    ends = _offsets_for(consumer, topic, partitions, OFFSET_END, timeout)
    starts = _offsets_for(consumer, topic, partitions, int(since.timestamp() * 1000), timeout)
    # -1: no message that recent in the partition; the range is empty.
    return {p: (starts[p] if starts.get(p, -1) >= 0 else ends[p], ends[p]) for p in partitions}


def _offsets_for(consumer: Consumer, topic: str, partitions: Iterable[int], at: int,
                 timeout: float) -> dict[int, int]:
    """Each partition's first offset written at or after the time `at` (ms), or its end
    (`OFFSET_END`)."""
    asked = [TopicPartition(topic, p, at) for p in partitions]
    return {tp.partition: tp.offset for tp in consumer.offsets_for_times(asked, timeout=timeout)}


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
        # A short wait: consume() waits its whole timeout for a batch it cannot fill, so a
        # read's last batch (under 1,000 messages) cost it 0.5 s.
        for message in consumer.consume(1000, 0.05):
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
