"""A batch's execution rows in one go: new rows, a replay's rows, a signal twice in one batch.

SQLite here (the same statement runs on PostgreSQL in the integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.backend.migrate import upgrade
from services.shared.db import ExecutionStatus, Pipeline, TriggerMode, session_scope
from services.shared.queueing import SignalMatch, queue_batch_runs
from services.shared.settings import Settings


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/batch.db"
    upgrade(url)
    with session_scope(url) as session:
        session.add_all(Pipeline(id=i, name=f"p{i}", tickers=["AAPL"], enabled=True,
                                 trigger_mode=TriggerMode.SIGNAL, agents=[{"name": "market_data"}])
                        for i in (1, 2))
    return url


def _queue(url: str, *matches: SignalMatch):
    with session_scope(url) as session:
        return queue_batch_runs(session, list(matches), Settings(database_url=url))


def _signal(signal_id: str) -> dict:
    return {"signal_id": signal_id, "ticker": "AAPL"}


def test_each_signal_gets_a_row_per_matched_pipeline_in_order(database: str) -> None:
    first, second = _queue(database, SignalMatch(_signal("s1"), [1, 2], "t1"),
                           SignalMatch(_signal("s2"), [2], None))
    assert [run.pipeline_id for run in first.new] == [1, 2] and not first.existing
    assert [run.pipeline_id for run in second.new] == [2] and not second.existing
    assert {run.signal["signal_id"] for run in first.new} == {"s1"}


def test_a_replayed_batch_finds_its_rows_instead_of_making_new_ones(database: str) -> None:
    _queue(database, SignalMatch(_signal("s1"), [1, 2]))
    [replay] = _queue(database, SignalMatch(_signal("s1"), [1, 2]))
    assert replay.new == []
    assert {p: status for p, (status, _) in replay.existing.items()} == {
        1: ExecutionStatus.QUEUED, 2: ExecutionStatus.QUEUED}


def test_a_signal_twice_in_one_batch_runs_once(database: str) -> None:
    first, again = _queue(database, SignalMatch(_signal("s1"), [1]),
                          SignalMatch(_signal("s1"), [1]))
    assert len(first.new) == 1 and again.new == []
    [(status, run)] = again.existing.values()
    assert run.execution_id == first.new[0].execution_id and status == ExecutionStatus.QUEUED
