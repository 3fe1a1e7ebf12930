"""Reading a topic back, to assert on what Kafka holds (ground truth, not a service's log)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, Message, Producer, TopicPartition

from services.shared.settings import Settings
from tests.support.polling import eventually

# (key, value, headers) of a message written as a foreign producer would, no tracing of ours.
RawMessage = tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]


def produce(bootstrap: str, topic: str, messages: list[RawMessage]) -> list[tuple[int, int]]:
    """Write the messages, wait until Kafka has every one, and return where each landed
    (partition, offset), in the order given."""
    producer = Producer({"bootstrap.servers": bootstrap})
    landed: dict[int, tuple[int, int]] = {}
    for index, (key, value, headers) in enumerate(messages):
        def delivered(error, message, index: int = index) -> None:
            assert error is None, f"message {index} not written: {error}"
            landed[index] = (message.partition(), message.offset())
        producer.produce(topic, key=key, value=value, headers=headers, on_delivery=delivered)
    assert producer.flush(10) == 0, "not every message reached Kafka"
    return [landed[index] for index in range(len(messages))]


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Each partition's next offset: where a later read starts to see only new messages."""
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        metadata = probe.list_topics(topic, timeout=10).topics[topic]
        return {p: probe.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in metadata.partitions}
    finally:
        probe.close()


def read_topic(bootstrap: str, topic: str, start: dict[int, int] | None = None,
               timeout: float = 60.0) -> list[Message]:
    """Every message of `topic` from `start` (default: the beginning) to its end now.

    Reads by assignment, no consumer group state, and fails unless it read them all: a short
    read would make a "nothing lost" assertion meaningless.
    """
    start = start or {}
    end = end_offsets(bootstrap, topic)
    wanted = sum(end[p] - start.get(p, 0) for p in end)
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                       "enable.auto.commit": False})
    reader.assign([TopicPartition(topic, p, start.get(p, 0))
                   for p in end if end[p] > start.get(p, 0)])
    found: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < wanted and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None or message.error() or message.offset() >= end[message.partition()]:
                continue
            found.append(message)
    finally:
        reader.close()
    assert len(found) == wanted, f"read {len(found)} of {wanted} messages of {topic}"
    return found


def wait_until_dispatched(settings: Settings, timeout: float = 120.0) -> None:
    """Until the dispatchers' group has committed every signal published so far: each batch
    is committed only once its rows are written and its tasks published, so whatever those
    signals will ever trigger is in the database then (the positive event a "nothing more
    happened" assertion waits on)."""
    wait_until_committed(settings.kafka_bootstrap_servers, settings.consumer_group,
                         settings.signals_topic, "the dispatchers' group to commit every signal",
                         timeout)


def wait_until_committed(bootstrap: str, group: str, topic: str, what: str,
                         timeout: float = 120.0) -> None:
    """Until `group` has committed every message `topic` held when called (later ones are not
    waited for: a topic that never rests, such as the telemetry bus, has a lag that never
    reads zero). The group's offsets are read by a consumer with its id that never joins it."""
    target = {p: end for p, end in end_offsets(bootstrap, topic).items() if end > 0}
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                      "enable.auto.commit": False})

    def caught_up() -> bool:
        committed = probe.committed([TopicPartition(topic, p) for p in target], timeout=10)
        return all(tp.offset >= target[tp.partition] for tp in committed)

    try:
        eventually(caught_up, what, timeout=timeout, interval=0.2)
    finally:
        probe.close()
