"""The claim on SQLite: one statement marks the row running and returns the pipeline's agents;
a second delivery while the first holds the row runs nothing; the slower path (a row the
statement does not take) still decides."""

from __future__ import annotations

from pathlib import Path

from services.backend.migrate import upgrade
from services.shared.db import Execution, ExecutionStatus, Pipeline, TriggerMode, session_scope
from services.shared.executions import Verdict, claim
from services.shared.queueing import queue_run
from services.shared.settings import Settings

AGENTS = [{"name": "market_data", "params": {"duration_ms": 0}}]


def _queued(url: str, settings: Settings) -> str:
    with session_scope(url) as session:
        pipeline = Pipeline(name="p", tickers=["AAPL"], agents=AGENTS,
                            trigger_mode=TriggerMode.MANUAL, enabled=True)
        session.add(pipeline)
        session.flush()
        return queue_run(session, pipeline.id, TriggerMode.MANUAL, "token", settings).id


def test_a_claim_returns_the_agents_and_holds_the_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'claim.db'}"
    upgrade(url)
    settings = Settings(database_url=url)
    execution_id = _queued(url, settings)

    with session_scope(url) as session:
        verdict, taken = claim(session, execution_id, "task-1", settings)
    assert verdict is Verdict.RUN and taken is not None
    assert taken.attempts == 1 and taken.agents == AGENTS

    with session_scope(url) as session:              # another message while it is held
        assert claim(session, execution_id, "task-2", settings) == (Verdict.HELD, None)
    with session_scope(url) as session:              # its own message again: a redelivery
        verdict, again = claim(session, execution_id, "task-1", settings)
    assert verdict is Verdict.RUN and again is not None and again.attempts == 2

    with session_scope(url) as session:
        session.get(Execution, execution_id).status = ExecutionStatus.SUCCEEDED
    with session_scope(url) as session:
        assert claim(session, execution_id, "task-3", settings) == (Verdict.FINISHED, None)
