"""The funnel's index of the signals topic: a count reads from Kafka only what the counts
before it did not, and what it returns is exactly the window's messages."""

from __future__ import annotations

import json

import pytest

from services.backend.explorer import funnel_messages
from services.backend.explorer.funnel_messages import MessageIndex


class _Written:
    """A message as confluent_kafka hands it over."""

    def __init__(self, partition: int, offset: int) -> None:
        self._partition, self._offset = partition, offset

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def value(self) -> bytes:
        if self._offset % 5 == 4:
            return b"not a signal"
        return json.dumps({"signal_id": f"{self._partition}-{self._offset}",
                           "ticker": "T"}).encode()


@pytest.fixture
def asked(monkeypatch) -> list[dict[int, tuple[int, int]]]:
    """The ranges the index asked Kafka for, each read answered from a topic of dense offsets."""
    reads: list[dict[int, tuple[int, int]]] = []

    def read_range(consumer, topic, ranges):
        reads.append({p: r for p, r in ranges.items() if r[1] > r[0]})
        return [_Written(p, o) for p, (start, end) in ranges.items() for o in range(start, end)]

    monkeypatch.setattr(funnel_messages, "read_range", read_range)
    return reads


def _offsets(messages) -> list[tuple[int, int]]:
    return [(m.partition, m.offset) for m in messages]


def test_a_count_reads_only_what_was_written_since_the_last(asked) -> None:
    index = MessageIndex()
    first = index.read(None, "signals", {0: (10, 20), 1: (0, 3)})
    again = index.read(None, "signals", {0: (12, 25), 1: (0, 3)})
    assert asked == [{0: (10, 20), 1: (0, 3)}, {0: (20, 25)}]
    assert _offsets(first) == [(0, o) for o in range(10, 20)] + [(1, 0), (1, 1), (1, 2)]
    assert _offsets(again) == [(0, o) for o in range(12, 25)] + [(1, 0), (1, 1), (1, 2)]
    assert [m.signal_id for m in again][:3] == ["0-12", "0-13", None]


def test_a_window_outside_what_is_kept_is_read_whole(asked) -> None:
    index = MessageIndex()
    index.read(None, "signals", {0: (10, 20)})
    earlier = index.read(None, "signals", {0: (5, 20)})       # begins before what is kept
    remade = index.read(None, "signals", {0: (0, 3)})         # the topic's end went back
    assert asked == [{0: (10, 20)}, {0: (5, 20)}, {0: (0, 3)}]
    assert _offsets(earlier) == [(0, o) for o in range(5, 20)]
    assert _offsets(remade) == [(0, 0), (0, 1), (0, 2)]


def test_a_partition_keeps_at_most_max_messages(asked, monkeypatch) -> None:
    """The newest: a window is never larger (window_messages refuses it)."""
    monkeypatch.setattr(funnel_messages, "MAX_MESSAGES", 4)
    index = MessageIndex()
    index.read(None, "signals", {0: (0, 4)})
    assert _offsets(index.read(None, "signals", {0: (2, 6)})) == [(0, o) for o in range(2, 6)]
    assert _offsets(index.read(None, "signals", {0: (1, 5)})) == [(0, o) for o in range(1, 5)]
    assert asked == [{0: (0, 4)}, {0: (4, 6)}, {0: (1, 5)}]   # ending earlier: read whole
