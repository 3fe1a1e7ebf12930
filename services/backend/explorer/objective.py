"""A pipeline's latency objective over a window, read from the executions table: how many of
its runs started in time, the error budget left, the burn rate, where the time from origin
went, and the runs that missed it, slowest first (the page an objective's alert links to).

The executions table is the record of what ran, so the page agrees with the database rather
than with Prometheus' rates; its runs are judged against the pipeline's objective of now (the
spans and the alerts judged each run against the objective of its time). The origin and hops
are services/shared/latency.py's, as on the runs' spans, from the row's own times (which do
not say when an attempt claimed the row: the page's `run` is the spans' last three hops).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    DateTime,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    not_,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from services.shared.db import FINISHED, Execution, Pipeline, utcnow
from services.shared.latency import ABSURD_AGE
from services.shared.objectives import LatencyObjective, objective_for

WINDOWS = {"1h": timedelta(hours=1), "6h": timedelta(hours=6), "24h": timedelta(days=1),
           "7d": timedelta(days=7), "30d": timedelta(days=30)}
LATE_SHOWN = 50

# Each finished run of the window with its time in each hop from its origin, in ms: the
# arithmetic of services/shared/latency.py (origin, hops, what counts as clocks apart) in SQL,
# so that 10,000 runs are counted where they are stored (fetching and timing them in Python
# took ~200 ms); `tests/integration/explorer` holds the page to the rows it inserted.
_E = Execution.__table__.c
_ORIGIN = func.coalesce(cast(_E.signal["generated_at"].as_string(), DateTime(timezone=True)),
                        _E.queued_at)
_RECEIVED = func.coalesce(_E.received_at, _E.queued_at)


def _ms(later: Any, earlier: Any) -> Any:
    return func.extract("epoch", later - earlier) * 1000


HOPS = ("in_kafka", "dispatch", "in_queue", "run")     # latency.py's, the last three as one


def run_times(*extra: Any) -> list[Any]:
    """A run's row with its hops from its origin in ms, and `extra` columns of it (its end is
    their sum, `end_ms`: the origin is read from the signal's JSON once a row, not twice)."""
    return [_E.id, _E.signal_id, _E.ticker, _E.trace_id, _E.status, _E.trigger_mode,
            _ms(_RECEIVED, _ORIGIN).label("in_kafka_ms"),
            _ms(_E.queued_at, _RECEIVED).label("dispatch_ms"),
            _ms(_E.started_at, _E.queued_at).label("in_queue_ms"),
            _ms(_E.finished_at, _E.started_at).label("run_ms"), *extra]


def finished(*where: Any) -> list[ColumnElement[bool]]:
    """A finished run that started (a run abandoned before its start has no hops)."""
    return [_E.status.in_(FINISHED), _E.started_at.is_not(None), *where]


def timed_runs(*extra: Any) -> CTE:
    """The pipeline's (`pipeline_id`) runs finished since `since`, with their hops and end in
    ms and `extra` columns of the row; the blame and diff pages read it too."""
    return (select(*run_times(*extra))
            .where(*finished(_E.pipeline_id == bindparam("pipeline_id"),
                             _E.finished_at >= bindparam("since")))
            .cte("timed").prefix_with("MATERIALIZED"))   # once, not per reference: ~3x


def end_ms(timed: CTE) -> Any:
    """A timed run's end from its origin: the sum of its hops, exactly finished - origin."""
    return sum((timed.c[f"{hop}_ms"] for hop in HOPS[1:]), timed.c[f"{HOPS[0]}_ms"])


def trusted(timed: CTE) -> ColumnElement[bool]:
    """A run whose clocks agree (latency.py's `Skew` otherwise): its hops are figures."""
    return and_(*(timed.c[f"{hop}_ms"] >= 0 for hop in HOPS),
                end_ms(timed) <= ABSURD_AGE / timedelta(milliseconds=1))


_TIMED = timed_runs()
_TRUSTED = trusted(_TIMED)
_START = _TIMED.c.in_kafka_ms + _TIMED.c.dispatch_ms + _TIMED.c.in_queue_ms
_LATE = and_(_TRUSTED, _START > bindparam("objective_ms"))
_SLOWEST_LATE = (select(_TIMED, _START.label("start_ms")).where(_LATE)
                 .order_by(_START.desc()).limit(bindparam("limit")).subquery("late"))
# One statement, so the window's runs are read and timed once (a second took ~100 ms more at
# 10,000 runs): the summary, and the slowest late runs as a JSON array, slowest first.
_SUMMARY = select(
    func.count().filter(_TRUSTED).label("runs"),
    func.count().filter(not_(_TRUSTED)).label("skewed"),
    func.count().filter(_LATE).label("misses"),
    func.percentile_cont(0.5).within_group(_START).filter(_TRUSTED).label("p50"),
    func.percentile_cont(0.99).within_group(_START).filter(_TRUSTED).label("p99"),
    *(func.avg(_TIMED.c[f"{hop}_ms"]).filter(_TRUSTED).label(hop) for hop in HOPS),
    select(func.json_agg(aggregate_order_by(
        func.json_build_object(*(part for column in _SLOWEST_LATE.c
                                 for part in (literal_column(f"'{column.name}'"), column))),
        _SLOWEST_LATE.c.start_ms.desc())))
    .scalar_subquery().label("late"))


@dataclass(frozen=True)
class TimedRun:
    """A finished run's times from its origin, in ms."""

    execution_id: str
    signal_id: str | None
    ticker: str | None
    trace_id: str | None
    status: str
    trigger_mode: str
    start_ms: float
    in_kafka_ms: float
    dispatch_ms: float
    in_queue_ms: float
    run_ms: float

    @property
    def hops_ms(self) -> dict[str, float]:
        return {hop: getattr(self, f"{hop}_ms") for hop in HOPS}

    @property
    def end_ms(self) -> float:
        return sum(self.hops_ms.values())


@dataclass(frozen=True)
class ObjectiveView:
    pipeline_id: int
    name: str
    objective: LatencyObjective
    own: bool                           # the pipeline's own objective, not the platform's
    window: str
    runs: int
    misses: int
    late: list[TimedRun]                # the slowest of the runs that missed it, first
    p50_start_ms: float | None
    p99_start_ms: float | None
    mean_hops_ms: dict[str, float]
    skewed: int                         # runs whose clocks disagree: not judged

    @property
    def allowed(self) -> float:
        return self.runs * (1 - self.objective.target)

    @property
    def burn_rate(self) -> float | None:
        """Misses over the misses allowed: 1 spends the budget exactly over the window."""
        return self.misses / self.allowed if self.allowed else None

    @property
    def budget_left(self) -> float | None:
        """The share of the window's error budget not spent (negative: overspent)."""
        return 1 - self.burn_rate if self.burn_rate is not None else None



def build(session: Session, pipeline_id: int, default: LatencyObjective,
          window: str) -> ObjectiveView | None:
    """The pipeline's objective over the window ending now; None when it has no pipeline."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        return None
    objective = objective_for(pipeline.latency_objective_ms, pipeline.latency_objective_target,
                              default)
    values = {"pipeline_id": pipeline_id, "since": utcnow() - WINDOWS[window],
              "objective_ms": objective.start_within_ms, "limit": LATE_SHOWN}
    summary = session.execute(_SUMMARY, values).one()
    late = [TimedRun(row["id"], row["signal_id"], row["ticker"], row["trace_id"],
                     row["status"], row["trigger_mode"], float(row["start_ms"]),
                     *(float(row[f"{hop}_ms"]) for hop in HOPS))
            for row in summary.late or []]
    hops = {hop: float(getattr(summary, hop)) for hop in HOPS
            if getattr(summary, hop) is not None}
    return ObjectiveView(
        pipeline_id, pipeline.name, objective,
        own=pipeline.latency_objective_ms is not None
        or pipeline.latency_objective_target is not None,
        window=window, runs=summary.runs, misses=summary.misses, late=late,
        p50_start_ms=_float(summary.p50), p99_start_ms=_float(summary.p99),
        mean_hops_ms=hops, skewed=summary.skewed)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
