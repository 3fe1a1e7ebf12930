"""Run once per (pipeline, signal): the execution row's life, whoever touches it.

The row is written before its task is published, so the database, not Redis, is the record of
what must run: a task lost with Redis, a worker killed mid-run, a signal replayed from Kafka
all end in exactly one finished execution.

- A publisher (dispatcher, beat's tick, the backend) inserts the row `queued`, leased to the
  queue for `queue_lease_seconds`; for a signal the insert is the dedup (unique pipeline+signal):
  `services.shared.queueing`.
- A worker claims it (`claim`): it runs a `queued` or `abandoned` row, takes over a `running`
  row that its own message left (a redelivery after the worker was lost, or a retry) or whose
  lease ran out, and leaves alone a finished row or one another live worker holds.
- While running, the worker renews the lease every third of `execution_lease_seconds`.
- The reaper (`reap`) republishes rows whose lease ran out: `running` ones are `abandoned`
  first, and failed instead once they used every attempt.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from services.shared.db import (
    FINISHED,
    Execution,
    ExecutionStatus,
    Pipeline,
    aware,
    aware_if_any,
    utcnow,
)
from services.shared.latency import RunTimings
from services.shared.settings import Settings
from services.shared.tasks import PipelineRun

_EXECUTIONS = cast(Table, Execution.__table__)
_ROWS = _EXECUTIONS.c
_PIPELINES = cast(Table, Pipeline.__table__).c


def lease(seconds: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=seconds)


def run_of(execution: Execution) -> PipelineRun:
    """The task that runs this row (published again by the reaper from the row alone)."""
    return PipelineRun(execution_id=execution.id, pipeline_id=execution.pipeline_id,
                       trigger_mode=execution.trigger_mode, signal=execution.signal,
                       lock_token=execution.lock_token or execution.id)


class Verdict(str, enum.Enum):
    RUN = "run"                # this delivery runs it now
    FINISHED = "finished"      # it already ran: a duplicate delivery
    HELD = "held"              # another live worker is running it
    GONE = "gone"              # the row (or its pipeline) was deleted
    EXHAUSTED = "exhausted"    # every attempt was used: failed now


@dataclass(frozen=True)
class Claim:
    """A row this delivery runs: its attempt (1 for the first start), when it first started
    and when this attempt did, its pipeline's agents and latency objective as the claim read
    them (agents None: not read, the caller reads them), and when its signal was received and
    the row queued."""

    attempts: int
    started_at: datetime
    attempt_started_at: datetime
    agents: list[dict[str, Any]] | None = None
    queued_at: datetime | None = None
    received_at: datetime | None = None
    objective_ms: int | None = None
    objective_target: float | None = None


def _of_pipeline(column: Any) -> Any:
    """A column of the row's pipeline, for the claim's RETURNING (a scalar subquery: SQLite's
    RETURNING may not name a joined table)."""
    return select(column).where(_PIPELINES.id == _ROWS.pipeline_id).scalar_subquery()


# The statements on every execution's path, built once with their parameters bound by name
# (Core, not the ORM's bulk UPDATE: building and caching an ORM update per call cost more
# than the round trip it saves).
_CLAIM = (
    update(_EXECUTIONS)
    .where(_ROWS.id == bindparam("execution_id"), _ROWS.status.not_in(FINISHED),
           _ROWS.attempts <= bindparam("max_retries"),
           or_(_ROWS.status != ExecutionStatus.RUNNING, _ROWS.task_id == bindparam("task"),
               _ROWS.lease_expires_at.is_(None), _ROWS.lease_expires_at <= bindparam("now")))
    .values(status=ExecutionStatus.RUNNING, attempts=_ROWS.attempts + 1,
            task_id=bindparam("task"), started_at=func.coalesce(_ROWS.started_at,
                                                                bindparam("now")),
            lease_expires_at=bindparam("lease"),
            trace_id=func.coalesce(_ROWS.trace_id, bindparam("trace")))
    .returning(_ROWS.attempts, _ROWS.started_at, _ROWS.queued_at, _ROWS.received_at,
               _of_pipeline(_PIPELINES.agents).label("agents"),
               _of_pipeline(_PIPELINES.latency_objective_ms).label("objective_ms"),
               _of_pipeline(_PIPELINES.latency_objective_target).label("objective_target")))
_OWNED = (_ROWS.id == bindparam("execution_id"), _ROWS.task_id == bindparam("task"),
          _ROWS.status.not_in(FINISHED))
_OUTCOME = {"status": bindparam("outcome"), "cost_usd": bindparam("cost"),
            "result": bindparam("outcome_result", type_=_ROWS.result.type),
            "error": bindparam("outcome_error")}
_FINISH = update(_EXECUTIONS).where(*_OWNED).values(
    **_OUTCOME, finished_at=bindparam("now"), lease_expires_at=None,
    duration_seconds=bindparam("duration"),
    timings=bindparam("timings", type_=_ROWS.timings.type))
_FINISH_TO_RETRY = update(_EXECUTIONS).where(*_OWNED).values(
    **_OUTCOME, lease_expires_at=bindparam("lease"))


def claim(session: Session, execution_id: str, task_id: str, settings: Settings,
          trace_id: str | None = None) -> tuple[Verdict, Claim | None]:
    """Decide whether this delivery (Celery task `task_id`) runs the execution, and if so mark
    it running with a fresh lease (and the trace id, if the row has none). The row is locked
    until the caller's transaction ends.

    The common case (a queued or abandoned row, or this task's own, with attempts left) is
    decided and marked by one `UPDATE ... RETURNING`, which also returns the pipeline's
    agents (a scalar subquery: SQLite's RETURNING may not name a joined table). A claim is
    on every execution's path, and reading the row first, or the agents after, cost a round
    trip each time. A row the update does not take is read, locked, to say why (or taken, if
    it changed meanwhile)."""
    now = utcnow()
    taken = session.connection().execute(_CLAIM, {
        "execution_id": execution_id, "task": task_id, "now": now, "trace": trace_id,
        "max_retries": settings.task_max_retries,
        "lease": lease(settings.execution_lease_seconds, now)}).one_or_none()
    if taken is not None:
        return Verdict.RUN, Claim(taken.attempts, aware(taken.started_at), now, taken.agents,
                                  aware(taken.queued_at), aware_if_any(taken.received_at),
                                  taken.objective_ms, taken.objective_target)
    return _claim_read(session, execution_id, task_id, settings, trace_id, now)


def _claim_read(session: Session, execution_id: str, task_id: str, settings: Settings,
                trace_id: str | None, now: datetime) -> tuple[Verdict, Claim | None]:
    execution = session.get(Execution, execution_id, with_for_update=True)
    if execution is None:
        return Verdict.GONE, None
    if execution.status in FINISHED:
        return Verdict.FINISHED, None
    if (execution.status == ExecutionStatus.RUNNING and execution.task_id != task_id
            and execution.lease_expires_at is not None
            and aware(execution.lease_expires_at) > now):
        return Verdict.HELD, None
    if _out_of_attempts(execution, settings):
        _give_up(execution, now)
        return Verdict.EXHAUSTED, None
    execution.status = ExecutionStatus.RUNNING
    execution.attempts += 1
    execution.task_id = task_id
    execution.started_at = execution.started_at or now
    execution.lease_expires_at = lease(settings.execution_lease_seconds, now)
    execution.trace_id = execution.trace_id or trace_id
    return Verdict.RUN, Claim(execution.attempts, aware(execution.started_at), now,
                              queued_at=aware(execution.queued_at),
                              received_at=aware_if_any(execution.received_at))


def _out_of_attempts(execution: Execution, settings: Settings) -> bool:
    """Every start was used: the first and `task_max_retries` more (retries and take-overs)."""
    return execution.attempts > settings.task_max_retries


def _give_up(execution: Execution, now: datetime) -> None:
    execution.status = ExecutionStatus.FAILED
    execution.error = (f"abandoned after {execution.attempts} attempt(s): the worker running it "
                       f"died or was killed each time")
    _finish_times(execution, now)


def _finish_times(execution: Execution, now: datetime) -> None:
    execution.finished_at = now
    execution.lease_expires_at = None
    started = execution.started_at or execution.queued_at
    execution.duration_seconds = (now - aware(started)).total_seconds() if started else None


def renew_lease(session: Session, execution_id: str, task_id: str, seconds: float) -> bool:
    """Extend a running row's lease; False when this task no longer owns it."""
    result = session.execute(update(Execution).where(
        Execution.id == execution_id, Execution.task_id == task_id,
        Execution.status == ExecutionStatus.RUNNING).values(lease_expires_at=lease(seconds)))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]  # an UPDATE's CursorResult


def finish(session: Session, execution_id: str, task_id: str, status: ExecutionStatus,
           cost: float, result: dict[str, Any] | None, error: str | None,
           started_at: datetime, lease_seconds: float | None = None,
           now: datetime | None = None, timings: RunTimings | None = None) -> bool:
    """Record the outcome, if this task still owns the row (else another took it over after
    its lease ran out, and that one records), in one UPDATE. `lease_seconds`: a retry
    follows, so the row stays running, leased that long. `now`: the time it finished (the
    caller's, when it reports it too). `timings`: what a finished run's time went to."""
    now = now or utcnow()
    values = {"execution_id": execution_id, "task": task_id, "outcome": status,
              "cost": round(cost, 6), "outcome_result": result, "outcome_error": error}
    if lease_seconds is not None:
        recorded = session.connection().execute(
            _FINISH_TO_RETRY, {**values, "lease": lease(lease_seconds, now)})
    else:
        recorded = session.connection().execute(
            _FINISH, {**values, "now": now, "duration": (now - started_at).total_seconds(),
                      "timings": timings.as_json() if timings else None})
    return recorded.rowcount == 1


@dataclass
class Reaped:
    republish: list[PipelineRun]
    failed_locks: list[tuple[int, str]]   # (pipeline id, lock token) to release


def reap(session: Session, settings: Settings, limit: int = 500) -> Reaped:
    """Rows whose lease ran out: a running one lost its worker (abandoned, or failed when it
    used every attempt); a queued or abandoned one may have lost its task. Both are published
    again; a task delivered twice still runs once (`claim`)."""
    now = utcnow()
    expired = session.scalars(select(Execution).where(
        Execution.status.in_([ExecutionStatus.RUNNING, ExecutionStatus.QUEUED,
                              ExecutionStatus.ABANDONED]),
        Execution.lease_expires_at < now).order_by(Execution.lease_expires_at)
        .limit(limit).with_for_update(skip_locked=True)).all()
    reaped = Reaped([], [])
    for execution in expired:
        if execution.status == ExecutionStatus.RUNNING:
            if _out_of_attempts(execution, settings):
                _give_up(execution, now)
                reaped.failed_locks.append((execution.pipeline_id, execution.lock_token or ""))
                continue
            execution.status = ExecutionStatus.ABANDONED
        execution.lease_expires_at = lease(settings.queue_lease_seconds, now)
        reaped.republish.append(run_of(execution))
    return reaped
