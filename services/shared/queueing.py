"""Queuing executions: the `queued` row of each run, written before its task is published.

For a signal the insert is the dedup: the row is unique per (pipeline, signal), so a replayed
signal finds its rows already there (`existing`) instead of running twice. The row's life
after that (claimed, renewed, finished, reaped) is `services.shared.executions`'.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from services.shared.db import Execution, ExecutionStatus, TriggerMode, utcnow
from services.shared.executions import lease, run_of
from services.shared.settings import Settings
from services.shared.tasks import PipelineRun


@dataclass
class SignalRuns:
    """What inserting a signal's rows found: rows to publish, and the pipelines that already
    had a row for this signal (a replay), with that row's status."""

    new: list[PipelineRun]
    existing: dict[int, tuple[ExecutionStatus, PipelineRun]]


def queue_signal_runs(session: Session, signal: dict[str, Any], pipeline_ids: list[int],
                      settings: Settings, trace_id: str | None = None) -> SignalRuns:
    """Insert a queued row per pipeline for this signal; see `queue_batch_runs`."""
    [runs] = queue_batch_runs(session, [SignalMatch(signal, pipeline_ids, trace_id)], settings)
    return runs


@dataclass
class SignalMatch:
    """A signal and the pipelines it matched, with the trace its rows belong to."""

    signal: dict[str, Any]
    pipeline_ids: list[int]
    trace_id: str | None = None


def queue_batch_runs(session: Session, matches: list[SignalMatch], settings: Settings,
                     received_at: datetime | None = None) -> list[SignalRuns]:
    """Insert a queued row per (signal, matched pipeline) for a whole batch of signals
    (received together, at `received_at`), in as few statements as the batch needs; the
    unique (pipeline, signal) key turns a replay into `existing` instead of a second run. One
    `SignalRuns` per match, in order."""
    now = utcnow()
    expires = lease(settings.queue_lease_seconds, now)
    rows = [[{"id": str(uuid.uuid4()), "pipeline_id": pipeline_id,
              "status": ExecutionStatus.QUEUED, "trigger_mode": TriggerMode.SIGNAL,
              "signal_id": match.signal["signal_id"], "ticker": match.signal.get("ticker"),
              "signal": match.signal, "lock_token": match.signal["signal_id"],
              "queued_at": now, "received_at": received_at, "attempts": 0,
              "trace_id": match.trace_id,
              "lease_expires_at": expires}
             for pipeline_id in match.pipeline_ids] for match in matches]
    every_row = [row for signal_rows in rows for row in signal_rows]
    created: set[str] = set()
    if every_row:
        insert = _insert_postgresql if session.get_bind().dialect.name == "postgresql" \
            else _insert_rows
        created.update(insert(session, every_row))
    replayed = {row["signal_id"] for row in every_row if row["id"] not in created}
    found: dict[tuple[str, int], Execution] = {}
    if replayed:
        for execution in session.scalars(select(Execution).where(
                Execution.signal_id.in_(replayed))):
            found[(execution.signal_id or "", execution.pipeline_id)] = execution
    return [SignalRuns(
        new=[_signal_run(row) for row in signal_rows if row["id"] in created],
        existing={row["pipeline_id"]: (found[key].status, run_of(found[key]))
                  for row in signal_rows if row["id"] not in created
                  and (key := (row["signal_id"], row["pipeline_id"])) in found})
        for signal_rows in rows]


_EXECUTIONS = cast(Table, Execution.__table__)
_ROWS = _EXECUTIONS.c

# A batch's rows as one JSON document: one short statement with one parameter whatever the
# batch's size, which psycopg parses once and keeps. The rows as parameters (SQLAlchemy's
# "insertmanyvalues") made a statement with a placeholder per column and row, which psycopg
# parsed again for every batch (it caches no statement over 50 parameters): ~16 ms of CPU
# per 100 signals, measured. What every row of a batch shares is sent once.
_PER_ROW = ("id", "pipeline_id", "signal_id", "ticker", "trace_id", "signal", "lock_token")
_SHARED = ("status", "trigger_mode", "queued_at", "received_at", "attempts",
           "lease_expires_at")
_INSERT_BATCH = text("""
    INSERT INTO executions (id, pipeline_id, signal_id, ticker, trace_id, signal, lock_token,
                            status, trigger_mode, queued_at, received_at, attempts,
                            lease_expires_at)
    SELECT id, pipeline_id, signal_id, ticker, trace_id, signal, lock_token,
           :status, :trigger_mode, :queued_at, :received_at, :attempts, :lease_expires_at
    FROM json_to_recordset(CAST(:rows AS JSON))
        AS batch(id VARCHAR, pipeline_id INTEGER, signal_id VARCHAR, ticker VARCHAR,
                 trace_id VARCHAR, signal JSON, lock_token VARCHAR)
    ON CONFLICT (pipeline_id, signal_id) DO NOTHING
    RETURNING id
""").bindparams(*(bindparam(name, type_=_ROWS[name].type) for name in _SHARED))


def _insert_postgresql(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Insert a batch's rows; returns the ids of those that were new."""
    document = json.dumps([{column: row[column] for column in _PER_ROW} for row in rows])
    shared = {column: rows[0][column] for column in _SHARED}
    return list(session.execute(_INSERT_BATCH, {"rows": document, **shared}).scalars())


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> list[str]:
    """Elsewhere (SQLite, the unit tests): the rows as the parameters of one statement."""
    return list(session.connection().execute(
        sqlite.insert(_EXECUTIONS).on_conflict_do_nothing(
            index_elements=["pipeline_id", "signal_id"]).returning(_ROWS.id), rows).scalars())


def _signal_run(row: dict[str, Any]) -> PipelineRun:
    return PipelineRun(execution_id=row["id"], pipeline_id=row["pipeline_id"],
                       trigger_mode=TriggerMode.SIGNAL, signal=row["signal"],
                       lock_token=row["lock_token"])


def queue_run(session: Session, pipeline_id: int, trigger_mode: TriggerMode, lock_token: str,
              settings: Settings, ticker: str | None = None,
              trace_id: str | None = None) -> Execution:
    """A queued row for a periodic or manual run (flushed, not committed)."""
    signal = {"ticker": ticker} if ticker else None
    execution = Execution(pipeline_id=pipeline_id, status=ExecutionStatus.QUEUED,
                          trigger_mode=trigger_mode, ticker=ticker, signal=signal,
                          lock_token=lock_token, attempts=0, trace_id=trace_id,
                          lease_expires_at=lease(settings.queue_lease_seconds))
    session.add(execution)
    session.flush()
    return execution
