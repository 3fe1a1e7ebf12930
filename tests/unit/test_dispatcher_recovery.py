"""The dispatcher outlives a broker restart and a failed batch, and skips no message.

The consumer here is a stand-in that records commits and seeks (the real one is exercised on
the real broker in tests/integration/faults); Redis is a real client to a closed port.
"""

from __future__ import annotations

import pytest
import redis
from confluent_kafka import KafkaError, KafkaException, Message, TopicPartition
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.shared.settings import Settings
from services.shared.signals import Signal
from services.trigger_dispatcher import offsets
from services.trigger_dispatcher.dispatcher import Dispatcher
from services.trigger_dispatcher.index import PipelineIndex
from tradetrace.stack.ports import free_port


class RecordingConsumer:
    """Hands out one batch, then nothing; commit fails with the given errors, in turn."""

    def __init__(self, batch: list[Message], commit_errors: list[int] = ()) -> None:
        self.batches = [batch]
        self.commit_errors = list(commit_errors)
        self.commits: list[list[tuple[str, int, int]]] = []
        self.seeks: list[tuple[str, int, int]] = []

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return self.batches.pop(0) if self.batches else []

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        if self.commit_errors:
            raise KafkaException(KafkaError(self.commit_errors.pop(0)))
        self.commits.append(sorted((o.topic, o.partition, o.offset) for o in offsets))

    def seek(self, partition: TopicPartition) -> None:
        self.seeks.append((partition.topic, partition.partition, partition.offset))


def _signal_message(partition: int, offset: int) -> Message:
    signal = Signal(signal_type="mock", source="tests", ticker="UNMATCHED", direction="buy",
                    strength=0.5)
    return Message(topic="signals", partition=partition, offset=offset,
                   value=signal.model_dump_json().encode(), headers=[])


def _closed_port() -> int:
    return free_port()     # nothing listens on it


class ConfirmingDlq:
    """A DLQ producer with nothing outstanding: these tests park no message."""

    def flush(self, timeout: float) -> int:
        return 0


@pytest.fixture
def settings() -> Settings:
    return Settings(retry_backoff_seconds=0, commit_retry_seconds=5, signals_topic="signals")


def _dispatcher(settings: Settings, consumer: RecordingConsumer,
                client: redis.Redis) -> Dispatcher:
    dispatcher = Dispatcher(settings, consumer, dlq_producer=ConfirmingDlq(), client=client)
    dispatcher.use_index(PipelineIndex())          # matches nothing
    return dispatcher


def test_a_failed_batch_is_rewound_to_its_first_offsets_and_the_dispatcher_carries_on(
        settings: Settings) -> None:
    batch = [_signal_message(0, 7), _signal_message(0, 8), _signal_message(1, 3)]
    consumer = RecordingConsumer(batch)
    unreachable = redis.Redis(port=_closed_port(), retry=Retry(NoBackoff(), 0))
    dispatcher = _dispatcher(settings, consumer, unreachable)

    assert dispatcher.run_once() == 3          # Redis refused: no exception out of the loop

    assert sorted(consumer.seeks) == [("signals", 0, 7), ("signals", 1, 3)]
    assert consumer.commits == []              # nothing committed past the failed batch


def test_a_commit_waits_out_the_coordinator_and_commits_the_batch(settings: Settings) -> None:
    batch = [_signal_message(0, 7), _signal_message(0, 8), _signal_message(1, 3)]
    consumer = RecordingConsumer(batch, commit_errors=[KafkaError._WAIT_COORD,
                                                      KafkaError.COORDINATOR_LOAD_IN_PROGRESS])

    offsets.commit(consumer, batch, settings)

    assert consumer.commits == [[("signals", 0, 9), ("signals", 1, 4)]]


def test_a_commit_after_a_rebalance_is_given_up_without_raising(settings: Settings) -> None:
    consumer = RecordingConsumer([], commit_errors=[KafkaError.REBALANCE_IN_PROGRESS])

    offsets.commit(consumer, [_signal_message(0, 8)], settings)

    assert consumer.commits == [] and consumer.commit_errors == []
