"""Kept reading consumers: one client reused by the reads that follow each other, a client
whose read raised never reused (no broker is needed: nothing here asks one anything)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.shared import topic_reads
from services.shared.topic_reads import kept_consumer

CONFIG = {"bootstrap.servers": "127.0.0.1:9", "group.id": "unit-topic-reads",
          "enable.auto.commit": False, "log_level": 0}


@pytest.fixture(autouse=True)
def _closed_after() -> Iterator[None]:
    """The consumers a test left kept are closed when it ends."""
    yield
    topic_reads._close_kept()


def test_a_read_that_ended_well_leaves_its_consumer_to_the_next() -> None:
    with kept_consumer(CONFIG) as first:
        pass
    with kept_consumer(CONFIG) as second:
        assert second is first
        with kept_consumer(CONFIG) as meanwhile:      # a read at the same time gets its own
            assert meanwhile is not first
    with kept_consumer({**CONFIG, "group.id": "another"}) as other:
        assert other is not first


def test_a_read_that_raised_closes_its_consumer() -> None:
    with pytest.raises(RuntimeError), kept_consumer(CONFIG) as failed:
        raise RuntimeError("the broker went away")
    with kept_consumer(CONFIG) as next_one:
        assert next_one is not failed
    with pytest.raises(RuntimeError, match="closed"):
        failed.assignment()
