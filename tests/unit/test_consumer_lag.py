"""The lag reader replaces clients that keep failing (a broker nobody answers on here)."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaException

from services.shared.consumer_lag import LagReader
from services.shared.settings import Settings
from tradetrace.stack.ports import free_port


def _reader(rebuild_after: float) -> LagReader:
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    return LagReader(settings, timeout=0.2, rebuild_after=rebuild_after)


def test_a_reading_that_keeps_failing_gets_new_clients() -> None:
    reader = _reader(rebuild_after=0.0)
    first = reader.reader
    with pytest.raises(KafkaException):
        reader.read()
    assert reader.reader is not first, "the failed clients were replaced"
    reader.close()


def test_one_failed_reading_keeps_the_clients() -> None:
    reader = _reader(rebuild_after=60.0)
    first = reader.reader
    with pytest.raises(KafkaException):
        reader.read()
    assert reader.reader is first
    reader.close()
