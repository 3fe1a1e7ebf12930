"""The dispatcher's consumer: batches read without waiting for more than there are, offsets
committed only once a batch is handled (waiting out a broker restart), a failed batch rewound.

Offsets are committed after every task of the batch is published and every rejected message
is confirmed in the DLQ: a crash replays the batch (at-least-once), and the execution rows
(unique per pipeline and signal, see `services.shared.executions`) make the replay trigger
nothing twice.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from services.shared.settings import Settings

log = logging.getLogger(__name__)

# Commit errors while the group coordinator is away (a broker restart): retried until it is back.
COORDINATOR_AWAY = frozenset({
    KafkaError._WAIT_COORD, KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN,
    KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT, KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
})


def create_consumer(settings: Settings) -> Consumer:
    return Consumer(settings.kafka_config({
        "group.id": settings.consumer_group,
        "enable.auto.commit": False,        # committed after the batch is enqueued
        "auto.offset.reset": "earliest",
        "enable.partition.eof": False,
        "session.timeout.ms": settings.consumer_session_timeout_ms,
    }))


def next_batch(consumer: Consumer, settings: Settings) -> list[Message]:
    """Up to batch_size messages, without waiting for more than there are.

    librdkafka's consume(n, timeout) returns when it has n messages or the timeout has
    passed, so at low traffic every signal would wait the whole batch timeout in the
    client. Instead: wait (up to the timeout) for the first message only, then take what
    is already fetched, without waiting. At high traffic a batch still fills up.
    """
    first = consumer.consume(num_messages=1, timeout=settings.batch_timeout_seconds)
    if not first or settings.batch_size == 1:
        return first
    return first + consumer.consume(num_messages=settings.batch_size - 1, timeout=0)


def commit(consumer: Consumer, messages: list[Message], settings: Settings) -> None:
    """Commit past the batch's last offsets, retrying while the coordinator is away. Giving
    up (the deadline passed, or the partitions moved to another consumer) loses nothing: the
    uncommitted messages are replayed later and their dedup keys stop double triggers."""
    offsets = [TopicPartition(topic, partition, last + 1)    # the next to read
               for (topic, partition), (_, last) in _partition_ranges(messages).items()]
    deadline = time.monotonic() + settings.commit_retry_seconds
    while offsets:
        try:
            consumer.commit(offsets=offsets, asynchronous=False)
            return
        except KafkaException as exception:
            error = exception.args[0]
            if error.code() not in COORDINATOR_AWAY or time.monotonic() > deadline:
                log.warning("offsets not committed (%s); the batch will be replayed and "
                            "deduplicated", error.name())
                return
            log.info("commit waits for the group coordinator (%s)", error.name())
            time.sleep(settings.retry_backoff_seconds)


def rewind(consumer: Consumer, messages: list[Message]) -> None:
    """Seek back to the batch's first messages so that the next consume() retries them."""
    for (topic, partition), (first, _) in _partition_ranges(messages).items():
        start = TopicPartition(topic, partition, first)
        try:
            consumer.seek(start)
        except KafkaException as exception:  # reassigned: its new owner replays it
            log.warning("cannot rewind %s[%d]: %s", start.topic, start.partition,
                        exception.args[0].name())


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
