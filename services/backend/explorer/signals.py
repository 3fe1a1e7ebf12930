"""What the explorer knows of signals: the executions table, grouped by signal, and the
dispatcher's record of each signal's match (Redis, kept `dispatch_record_seconds`).

A signal that matched no pipeline, or whose every match was skipped, has no execution row; it
is listed from the dispatcher's records while they last (an hour by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.shared import redis_keys
from services.shared.db import Execution, ExecutionStatus, Pipeline, utcnow
from services.shared.dispatch_record import SignalOutcome


@dataclass
class SignalRow:
    signal_id: str
    ticker: str | None
    signal_type: str | None
    generated_at: datetime | None
    first_queued_at: datetime
    last_finished_at: datetime | None
    executions: int
    by_status: dict[str, int]
    cost_usd: float
    trace_id: str | None
    dispatch: SignalOutcome | None = None   # None: the record has expired

    @property
    def end_to_end_seconds(self) -> float | None:
        """Signal generated → its last execution finished (None while any is unfinished)."""
        unfinished = sum(n for s, n in self.by_status.items()
                         if s in (ExecutionStatus.QUEUED.value, ExecutionStatus.RUNNING.value))
        if unfinished or self.last_finished_at is None:
            return None
        start = self.generated_at or self.first_queued_at
        return (self.last_finished_at - start).total_seconds()


DEFAULT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class SignalFilter:
    ticker: str | None = None
    status: ExecutionStatus | None = None
    since: datetime | None = None   # unset: the last DEFAULT_WINDOW (a search: all time)
    until: datetime | None = None
    search: str | None = None       # a signal id, an execution id or a trace id
    limit: int = 50


def latest_signals(session: Session, wanted: SignalFilter) -> list[SignalRow]:
    """The latest signals that triggered executions, newest first, one row each."""
    e = Execution
    statuses = {s.value: func.count().filter(e.status == s) for s in ExecutionStatus}
    query = (select(e.signal_id, func.min(e.ticker), func.min(e.queued_at),
                    func.max(e.finished_at), func.count(), func.coalesce(func.sum(e.cost_usd), 0),
                    func.min(e.trace_id), *statuses.values())
             .where(e.signal_id.is_not(None))
             .group_by(e.signal_id)
             .order_by(func.min(e.queued_at).desc())
             .limit(wanted.limit))
    if wanted.ticker:
        query = query.where(e.ticker == wanted.ticker.upper())
    if wanted.since or not wanted.search:      # the index on queued_at bounds the scan
        query = query.where(e.queued_at >= (wanted.since or utcnow() - DEFAULT_WINDOW))
    if wanted.until:
        query = query.where(e.queued_at <= wanted.until)
    if wanted.status:
        query = query.having(statuses[wanted.status.value] > 0)
    if wanted.search:
        term = wanted.search.strip()
        ids = select(e.signal_id).where(or_(e.signal_id == term, e.id == term,
                                            e.trace_id == term.lower()))
        query = query.where(e.signal_id.in_(ids.scalar_subquery()))
    rows = session.execute(query).all()
    signals = _signal_payloads(session, [row[0] for row in rows])
    return [SignalRow(
        signal_id=row[0], ticker=row[1],
        signal_type=signals.get(row[0], {}).get("signal_type"),
        generated_at=_parsed(signals.get(row[0], {}).get("generated_at")),
        first_queued_at=row[2], last_finished_at=row[3], executions=row[4],
        cost_usd=float(row[5]), trace_id=row[6],
        by_status={s: n for s, n in zip(statuses, row[7:], strict=True) if n})
        for row in rows]


def _signal_payloads(session: Session, signal_ids: list[str]) -> dict[str, dict]:
    """One stored copy of each signal (every execution of a signal holds the same one)."""
    if not signal_ids:
        return {}
    query = (select(Execution.signal_id, Execution.signal)
             .where(Execution.signal_id.in_(signal_ids), Execution.signal.is_not(None))
             .distinct(Execution.signal_id))
    return {signal_id: payload for signal_id, payload in session.execute(query)}


def _parsed(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def without_executions(client: redis.Redis, wanted: SignalFilter,
                       listed: list[SignalRow]) -> list[SignalRow]:
    """The latest signals the dispatcher handled that ran nothing (no pipeline matched, or
    every match was still running), from its records: they have no execution row."""
    since = (wanted.since or utcnow() - DEFAULT_WINDOW).timestamp()
    until = wanted.until.timestamp() if wanted.until else "+inf"
    # The newest `limit` handled signals hold every one that can make the page; for one
    # ticker among many, look further back.
    scan = wanted.limit * (20 if wanted.ticker else 1)
    ids = [i.decode() if isinstance(i, bytes) else str(i) for i in client.zrevrangebyscore(
        redis_keys.RECENT_SIGNALS, until, since, start=0, num=scan)]
    seen = {row.signal_id for row in listed}
    rows = []
    for signal_id, record in zip(ids, client.mget([redis_keys.signal_dispatch(i) for i in ids])
                                 if ids else [], strict=True):
        outcome = _dispatch(record)
        if outcome is None or outcome.enqueued or outcome.duplicates or signal_id in seen:
            continue
        if wanted.ticker and outcome.ticker != wanted.ticker.upper():
            continue
        generated = _parsed(outcome.generated_at) or utcnow()
        rows.append(SignalRow(signal_id, outcome.ticker, outcome.signal_type, generated,
                              generated, None, 0, {}, 0.0, None, outcome))
    return rows


def newest_first(rows: list[SignalRow], limit: int) -> list[SignalRow]:
    return sorted(rows, key=lambda r: r.generated_at or r.first_queued_at, reverse=True)[:limit]


def with_dispatch(client: redis.Redis, rows: list[SignalRow]) -> list[SignalRow]:
    """Each row with the dispatcher's record of the signal's match (one round trip)."""
    if rows:
        records = client.mget([redis_keys.signal_dispatch(r.signal_id) for r in rows])
        for row, record in zip(rows, records, strict=True):
            row.dispatch = _dispatch(record)
    return rows


def dispatch_of(client: redis.Redis, signal_id: str) -> SignalOutcome | None:
    return _dispatch(client.get(redis_keys.signal_dispatch(signal_id)))


def _dispatch(record: bytes | str | None) -> SignalOutcome | None:
    if record is None:
        return None
    try:
        return SignalOutcome.from_json(record)
    except (ValueError, TypeError):
        return None


@dataclass
class ExecutionRow:
    execution: Execution
    pipeline_name: str
    agents: list[str]              # the pipeline's, in order (a failed run has no result)


def signal_executions(session: Session, signal_id: str) -> list[ExecutionRow]:
    query = (select(Execution, Pipeline.name, Pipeline.agents).join(Pipeline)
             .where(Execution.signal_id == signal_id).order_by(Execution.queued_at))
    return [ExecutionRow(execution, name, [str(a.get("name")) for a in agents or []])
            for execution, name, agents in session.execute(query)]


def trace_signal_id(session: Session, trace_id: str) -> str | None:
    """The signal whose executions ran in this trace, if any."""
    return session.scalar(select(Execution.signal_id)
                          .where(Execution.trace_id == trace_id).limit(1))
