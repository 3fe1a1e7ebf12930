"""The platform's Kafka topics, created up front.

A consumer that subscribes before its topic exists only notices it at its next metadata
refresh (five minutes by default), so the services create the topics when they start.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from services.shared.settings import Settings

SIGNAL_PARTITIONS = 3


def ensure_topics(settings: Settings, timeout: float = 15.0) -> None:
    admin = AdminClient(settings.kafka_config())
    wanted = [NewTopic(settings.signals_topic, SIGNAL_PARTITIONS, 1),
              NewTopic(settings.dlq_topic, 1, 1)]
    for topic, future in admin.create_topics(wanted, request_timeout=timeout).items():
        try:
            future.result(timeout)
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise RuntimeError(f"cannot create Kafka topic {topic}: {error}") from None
