"""A batch's execution rows on PostgreSQL: its own statement (one JSON document of rows, see
`services.shared.executions`), so what the unit tests show on SQLite is shown here again."""

from __future__ import annotations

import uuid

from services.shared.db import Execution, ExecutionStatus, Pipeline, TriggerMode, session_scope
from services.shared.queueing import SignalMatch, queue_batch_runs


def test_a_batch_is_stored_whole_once_per_pipeline_and_signal(settings) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        pipelines = [Pipeline(name=f"batch-{uuid.uuid4().hex[:8]}", tickers=["BATCH"],
                              enabled=True, trigger_mode=TriggerMode.SIGNAL,
                              agents=[{"name": "market_data"}]) for _ in range(2)]
        session.add_all(pipelines)
        session.flush()
        ids = [pipeline.id for pipeline in pipelines]
    first, second = (uuid.uuid4().hex for _ in range(2))
    signal = {"signal_id": first, "ticker": "BATCH", "price": 1.5, "note": "a \"quoted\" {x}"}

    def queue(*matches: SignalMatch):
        with session_scope(url) as session:
            return queue_batch_runs(session, list(matches), settings)

    new, again, other = queue(SignalMatch(signal, ids, "ab" * 16), SignalMatch(signal, ids[:1]),
                              SignalMatch({"signal_id": second}, ids[1:]))
    assert [run.pipeline_id for run in new.new] == ids and not new.existing
    assert again.new == [] and list(again.existing) == ids[:1]     # twice in one batch: once
    assert [run.pipeline_id for run in other.new] == ids[1:]
    [replay] = queue(SignalMatch(signal, ids))
    assert replay.new == [] and {p: status for p, (status, _) in replay.existing.items()} == {
        ids[0]: ExecutionStatus.QUEUED, ids[1]: ExecutionStatus.QUEUED}

    with session_scope(url) as session:
        rows = {row.id: row for row in session.query(Execution).filter(
            Execution.signal_id.in_([first, second]))}
    assert set(rows) == {run.execution_id for run in new.new + other.new}
    stored = rows[new.new[0].execution_id]
    assert (stored.status, stored.trigger_mode, stored.signal, stored.lock_token,
            stored.trace_id, stored.ticker, stored.attempts) == (
        ExecutionStatus.QUEUED, TriggerMode.SIGNAL, signal, first, "ab" * 16, "BATCH", 0)
    assert stored.queued_at < stored.lease_expires_at
    assert stored.queued_at.tzinfo is not None
    assert rows[other.new[0].execution_id].ticker is None
