"""Where a pipeline's time from origin goes: the blame of its median run and of its slow tail.

A trace's critical path stops at a queue (open-telemetry/opentelemetry-specification#4079);
here a run's end-to-end time, from its signal's generation to its recorded finish, is split
into the segments it crossed, waits included: waiting in Kafka, the dispatcher, waiting in the
task queue, earlier attempts, the claim, each agent in order, and the rest (recording the
outcome, the worker's own work between agents). The row's times give the first three hops
(objective.py's arithmetic), the worker's measured timings (`executions.timings`,
services/shared/latency.py's `RunTimings`) the rest; a run finished before timings were kept
is one `run` segment after the first three.

The runs blamed are the window's nearest-rank p50 and p99 by end-to-end time, each a real
signal the page links to, segment by segment, rather than an average no signal had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.backend.explorer.objective import WINDOWS, end_ms, timed_runs, trusted
from services.shared.db import Execution, Pipeline, utcnow
from services.shared.latency import RunTimings

PERCENTILES = {"p50": 500, "p99": 990}       # per mille: whole numbers in SQL and here
AGENT_PREFIX = "agent:"

_TIMED = timed_runs(Execution.__table__.c.timings)
_RANKED = (select(_TIMED, end_ms(_TIMED).label("end_ms"),
                  func.row_number().over(order_by=(end_ms(_TIMED), _TIMED.c.id))
                  .label("rank"), func.count().over().label("runs"))
           .where(trusted(_TIMED)).subquery())


def nearest_rank(permille: int, runs: Any, greatest: Any = max) -> Any:
    """The run a percentile of `runs` reports: the ceil(q * n)-th by end-to-end time, in
    whole numbers; the query builds it from the same expression (`greatest=func.greatest`
    over its window count), so both pick the same run."""
    return greatest(1, (permille * runs + 999) // 1000)


_AT_PERCENTILES = select(_RANKED).where(_RANKED.c.rank.in_(
    [nearest_rank(permille, _RANKED.c.runs, func.greatest)
     for permille in PERCENTILES.values()]))


@dataclass(frozen=True)
class Segment:
    name: str               # a hop of latency.py, "agent:<name>", "rest" or "run"
    ms: float


@dataclass(frozen=True)
class BlamedRun:
    """One run at a percentile of the window, its end-to-end time split into segments."""

    percentile: str
    execution_id: str
    signal_id: str | None
    trace_id: str | None
    end_ms: float
    segments: list[Segment]

    @property
    def largest(self) -> Segment:
        return max(self.segments, key=lambda segment: segment.ms)

    def share(self, segment: Segment) -> float:
        return segment.ms / self.end_ms if self.end_ms > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"percentile": self.percentile, "execution_id": self.execution_id,
                "signal_id": self.signal_id, "trace_id": self.trace_id,
                "end_ms": round(self.end_ms, 3), "largest": self.largest.name,
                "segments": [{"name": s.name, "ms": round(s.ms, 3),
                              "share": round(self.share(s), 4)} for s in self.segments]}


@dataclass(frozen=True)
class BlameView:
    pipeline_id: int
    name: str
    window: str
    runs: int                   # the window's finished runs whose clocks agree
    blamed: list[BlamedRun]     # p50 first

    def as_json(self) -> dict[str, Any]:
        return {"pipeline_id": self.pipeline_id, "name": self.name, "window": self.window,
                "runs": self.runs, "blamed": [run.as_json() for run in self.blamed]}


def segments_of(hops_ms: dict[str, float], run_ms: float,
                timings: RunTimings | None) -> list[Segment]:
    """A run's segments from its first three hops, its `run` time and the worker's timings;
    they add up to its end-to-end time (the rest is what the timings do not name)."""
    first = [Segment(hop, hops_ms[hop]) for hop in ("in_kafka", "dispatch", "in_queue")]
    if timings is None:
        return [*first, Segment("run", run_ms)]
    named = [Segment("retries", timings.retries_ms), Segment("claim", timings.claim_ms),
             *(Segment(f"{AGENT_PREFIX}{name}", took) for name, took in timings.agents_ms)]
    rest = run_ms - sum(segment.ms for segment in named)
    return [*first, *named, Segment("rest", max(rest, 0.0))]


def build(session: Session, pipeline_id: int, window: str) -> BlameView | None:
    """The pipeline's blame over the window ending now; None when it has no pipeline."""
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        return None
    rows = session.execute(_AT_PERCENTILES, {"pipeline_id": pipeline_id,
                                             "since": utcnow() - WINDOWS[window]}).all()
    by_rank = {row.rank: row for row in rows}
    runs = rows[0].runs if rows else 0
    blamed = []
    for name, permille in PERCENTILES.items():
        row = by_rank.get(nearest_rank(permille, runs))
        if row is None:
            continue
        hops = {hop: float(row._mapping[f"{hop}_ms"])
                for hop in ("in_kafka", "dispatch", "in_queue")}
        blamed.append(BlamedRun(name, row.id, row.signal_id, row.trace_id, float(row.end_ms),
                                segments_of(hops, float(row.run_ms),
                                            RunTimings.from_json(row.timings))))
    return BlameView(pipeline_id, pipeline.name, window, runs, blamed)
