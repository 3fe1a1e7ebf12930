"""The platform's Kafka topics, created up front.

A consumer that subscribes before its topic exists only notices it at its next metadata
refresh (five minutes by default), so the services create the topics when they start.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from services.shared.settings import Settings


def ensure_topics(settings: Settings, timeout: float = 15.0) -> None:
    """Create the signal topic and its DLQ, and grow the signal topic to
    `signal_partitions` if it has fewer (Kafka can add partitions, never remove them)."""
    admin = AdminClient(settings.kafka_config())
    create_topics(admin, [NewTopic(settings.signals_topic, settings.signal_partitions, 1),
                          NewTopic(settings.dlq_topic, 1, 1)], timeout)
    _grow(admin, settings.signals_topic, settings.signal_partitions, timeout)


def create_topics(admin: AdminClient, wanted: list[NewTopic], timeout: float = 15.0) -> None:
    """Create these topics; one that exists already is left as it is."""
    for topic, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"cannot create Kafka topic {topic}: {error}") from None


def _grow(admin: AdminClient, topic: str, partitions: int, timeout: float) -> None:
    """A topic made under a smaller setting gets the partitions the dispatchers now expect.
    (Messages with a key then map to other partitions from here on; each signal is handled
    on its own, so the order that changes does not matter to the platform.)"""
    metadata = admin.list_topics(topic, timeout=timeout).topics[topic]
    if len(metadata.partitions) >= partitions:
        return
    future = admin.create_partitions([NewPartitions(topic, partitions)],
                                     request_timeout=timeout)[topic]
    try:
        future.result(timeout)
    except KafkaException as error:
        if error.args[0].code() != KafkaError.INVALID_PARTITIONS:  # another service grew it
            raise RuntimeError(f"cannot grow Kafka topic {topic} to {partitions} partitions: "
                               f"{error}") from None
