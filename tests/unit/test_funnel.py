"""The funnel's counting from the dispatcher's records and the executions table (SQLite and a
dict for Redis): every run is counted once, under the step it stopped after."""

from __future__ import annotations

from pathlib import Path

from services.backend.explorer.funnel import _dispatched
from services.backend.migrate import upgrade
from services.shared import redis_keys
from services.shared.db import (
    Execution,
    ExecutionStatus,
    Pipeline,
    TriggerMode,
    session_scope,
    utcnow,
)
from services.shared.dispatch_record import SignalOutcome


class _Records:
    """What `_dispatched` asks of Redis: MGET of the dispatch records."""

    def __init__(self, records: dict[str, SignalOutcome]) -> None:
        self.values = {redis_keys.signal_dispatch(k): v.to_json() for k, v in records.items()}

    def mget(self, keys: list[str]) -> list[str | None]:
        return [self.values.get(key) for key in keys]


def test_each_run_is_counted_once_under_where_it_stopped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'funnel.db'}"
    upgrade(url)
    records = _Records({
        "lonely": SignalOutcome(),
        "busy": SignalOutcome(matched=[1, 2], enqueued=[2], skipped_running=[1]),
        "replayed": SignalOutcome(matched=[2], duplicates=[2]),
        "ran": SignalOutcome(matched=[1, 2], enqueued=[1, 2])})
    with session_scope(url) as session:
        for pipeline_id in (1, 2):
            session.add(Pipeline(id=pipeline_id, name=f"p{pipeline_id}", tickers=["T"],
                                 trigger_mode=TriggerMode.SIGNAL, agents=[], enabled=True))
        session.flush()
        for signal_id, pipeline_id, status in [("busy", 2, ExecutionStatus.FAILED),
                                               ("ran", 1, ExecutionStatus.SUCCEEDED),
                                               ("ran", 2, ExecutionStatus.QUEUED)]:
            session.add(Execution(pipeline_id=pipeline_id, signal_id=signal_id, status=status,
                                  trigger_mode=TriggerMode.SIGNAL,
                                  started_at=None if status is ExecutionStatus.QUEUED
                                  else utcnow()))
        session.flush()
        steps = {s.key: sorted(s.members) for s in _dispatched(
            records, session, ["lonely", "busy", "replayed", "ran", "expired"], None)}
        only_two = {s.key: sorted(s.members) for s in _dispatched(
            records, session, ["busy", "ran"], 2)}
    assert steps["no_record"] == ["expired"] and steps["no_pipeline"] == ["lonely"]
    assert steps["matched"] == ["busy", "ran", "replayed"]
    assert steps["runs_matched"] == ["busy", "busy", "ran", "ran", "replayed"]
    assert steps["skipped_running"] == ["busy"] and steps["duplicate"] == ["replayed"]
    assert steps["enqueued"] == ["busy", "ran", "ran"]
    assert steps["started"] == ["busy", "ran"] and steps["queued"] == ["ran"]
    assert steps["failed"] == ["busy"] and steps["succeeded"] == ["ran"]
    assert only_two["runs_matched"] == ["busy", "ran"] and only_two["succeeded"] == []
