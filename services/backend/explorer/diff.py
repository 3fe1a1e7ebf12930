"""Why was this signal slower than usual: a signal compared with another signal, or with the
typical run of each pipeline it ran, step by step (issue 31's signal diff).

Two levels, each aligned by name, each step with its time and when it began on either side:
- **Segments**, per pipeline the signal ran: blame.py's (waiting in Kafka, the dispatcher,
  waiting in the task queue, earlier attempts, the claim, each agent, the rest), from the
  executions table, so the waits no span covers are compared too. A pipeline's typical run
  is the median of each segment over the window's runs whose clocks agree (objective.py's
  arithmetic, in SQL: 10,000 runs are read where they are stored); its `rest` is its median
  run less the medians of the named segments, so its segments need not add up to its median
  end to end.
- **Spans by path** (service, span name, agent, pipeline): how many, their time, when the
  first began after the trace's first span, whether any failed; a path on one side only, and
  a status that changed. Between two signals only: a typical trace would mean reading the
  window's traces from Jaeger one by one, which a page's 300 ms do not allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, cast, column, func, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from services.backend.explorer.blame import AGENT_PREFIX, Segment, segments_of
from services.backend.explorer.diff_steps import Step, segment_steps, span_steps
from services.backend.explorer.objective import WINDOWS, finished, run_times, timed_runs, trusted
from services.backend.explorer.traces import read_trace
from services.shared.db import Execution, Pipeline, utcnow
from services.shared.latency import RunTimings

TYPICAL = "typical"
FIRST_HOPS = ("in_kafka", "dispatch", "in_queue")

_E = Execution.__table__.c
_SIGNAL_RUNS = (select(*run_times(_E.pipeline_id, _E.timings))
                .where(*finished(_E.signal_id == bindparam("signal_id"))))

# The timings as JSONB: parsed once a row, not once for each field read from them (~2x).
_TIMED = timed_runs(cast(_E.timings, JSONB).label("timings"))
_TRUSTED = trusted(_TIMED)


def _median(value: Any) -> Any:
    return func.percentile_cont(0.5).within_group(value)


_AGENT = (func.jsonb_array_elements(_TIMED.c.timings["agents"])
          .table_valued(column("value", JSONB)).lateral("agent"))
_AGENT_NAME = _AGENT.c.value[0].as_string()
_AGENT_MEDIANS = (select(_AGENT_NAME.label("agent"),
                         _median(_AGENT.c.value[1].as_float()).label("ms"))
                  .select_from(_TIMED.join(_AGENT, true()))
                  .where(_TRUSTED, func.jsonb_typeof(_TIMED.c.timings["agents"]) == "array")
                  .group_by(_AGENT_NAME).subquery("agent_medians"))
# One statement, so the window's runs are read and timed once (~100 ms at 10,000 runs): the
# medians of the hops, then each agent's as [[name, ms], ...].
_TYPICAL = select(
    func.count().label("runs"),
    *(_median(_TIMED.c[f"{hop}_ms"]).label(hop) for hop in (*FIRST_HOPS, "run")),
    _median(_TIMED.c.timings["retries_ms"].as_float()).label("retries"),
    _median(_TIMED.c.timings["claim_ms"].as_float()).label("claim"),
    select(func.json_agg(func.json_build_array(_AGENT_MEDIANS.c.agent, _AGENT_MEDIANS.c.ms)))
    .scalar_subquery().label("agents"),
).where(_TRUSTED)


@dataclass(frozen=True)
class Side:
    """A pipeline's run on one side: a signal's execution, or the window's typical run."""

    label: str                  # the execution's id, or "median of N runs"
    status: str                 # the execution's, or "typical"
    end_ms: float
    segments: list[Segment]

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "status": self.status, "end_ms": round(self.end_ms, 3),
                "segments": [{"name": s.name, "ms": round(s.ms, 3)} for s in self.segments]}


@dataclass(frozen=True)
class PipelineDiff:
    pipeline_id: int
    name: str
    a: Side | None
    b: Side | None
    steps: list[Step]

    @property
    def largest(self) -> Step | None:
        """The step whose time differs most (either way): where to look first."""
        return max(self.steps, key=lambda step: abs(step.difference_ms), default=None)

    def as_json(self) -> dict[str, Any]:
        largest = self.largest
        return {"pipeline_id": self.pipeline_id, "name": self.name,
                "a": self.a and self.a.as_json(), "b": self.b and self.b.as_json(),
                "largest": largest and largest.name,
                "steps": [step.as_json() for step in self.steps]}


@dataclass(frozen=True)
class DiffView:
    a: str                      # a signal id
    b: str                      # a signal id, or TYPICAL
    window: str                 # the typical run's
    pipelines: list[PipelineDiff]
    spans: list[Step]           # none against the typical run
    spans_problem: str | None   # why there are none

    def as_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "window": self.window,
                "pipelines": [pipeline.as_json() for pipeline in self.pipelines],
                "spans": [step.as_json() for step in self.spans],
                "spans_problem": self.spans_problem}


def build(session: Session, signal_id: str, other: str, window: str,
          jaeger_url: str) -> DiffView | None:
    """Signal `signal_id` against signal `other`, or against the typical runs of its
    pipelines over the window (`other` = TYPICAL); None when neither side ran anything."""
    a_runs = _signal_runs(session, signal_id)
    b_runs: dict[int, Side | None] = (
        {pipeline_id: _typical(session, pipeline_id, window) for pipeline_id in a_runs}
        if other == TYPICAL else dict(_signal_runs(session, other)))
    if not a_runs and not b_runs:
        return None
    names: dict[int, str] = dict(session.execute(
        select(Pipeline.id, Pipeline.name).where(Pipeline.id.in_([*a_runs, *b_runs])))
        .tuples().all())
    pipelines = [PipelineDiff(pipeline_id, names.get(pipeline_id, "?"),
                              a_runs.get(pipeline_id), b_runs.get(pipeline_id),
                              segment_steps(_segments(a_runs.get(pipeline_id)),
                                            _segments(b_runs.get(pipeline_id))))
                 for pipeline_id in [*a_runs, *(p for p in b_runs if p not in a_runs)]]
    spans: list[Step] = []
    problem: str | None = "a typical trace is not built (see the segments)"
    if other != TYPICAL:
        spans, problem = _span_steps(session, signal_id, other, jaeger_url)
    return DiffView(signal_id, other, window, pipelines, spans, problem)


def _segments(side: Side | None) -> list[Segment] | None:
    return side.segments if side else None


def _signal_runs(session: Session, signal_id: str) -> dict[int, Side]:
    """Each pipeline's finished run of the signal, split into its segments."""
    runs = {}
    for row in session.execute(_SIGNAL_RUNS, {"signal_id": signal_id}):
        hops = {hop: float(row._mapping[f"{hop}_ms"]) for hop in FIRST_HOPS}
        status = getattr(row.status, "value", str(row.status))
        end = sum(hops.values()) + float(row.run_ms)
        runs[row.pipeline_id] = Side(row.id, status, end, segments_of(
            hops, float(row.run_ms), RunTimings.from_json(row.timings)))
    return runs


def _typical(session: Session, pipeline_id: int, window: str) -> Side | None:
    """The pipeline's median run over the window: the median of each segment."""
    params = {"pipeline_id": pipeline_id, "since": utcnow() - WINDOWS[window]}
    medians = session.execute(_TYPICAL, params).one()
    if not medians.runs:
        return None
    first = [Segment(hop, float(medians._mapping[hop])) for hop in FIRST_HOPS]
    run_ms = float(medians.run)
    if medians.retries is None:             # no run of the window kept its timings
        segments = [*first, Segment("run", run_ms)]
    else:
        agents = {str(name): float(ms) for name, ms in medians.agents or []}
        ordered = [*_agent_order(session, pipeline_id), *agents]
        named = [Segment("retries", float(medians.retries)),
                 Segment("claim", float(medians.claim)),
                 *(Segment(f"{AGENT_PREFIX}{name}", float(agents[name]))
                   for name in dict.fromkeys(ordered) if name in agents)]
        rest = run_ms - sum(segment.ms for segment in named)
        segments = [*first, *named, Segment("rest", max(rest, 0.0))]
    end_ms = sum(segment.ms for segment in first) + run_ms
    return Side(f"median of {medians.runs} runs", TYPICAL, end_ms, segments)


def _agent_order(session: Session, pipeline_id: int) -> list[str]:
    agents = session.scalar(select(Pipeline.agents).where(Pipeline.id == pipeline_id)) or []
    return [str(agent.get("name")) for agent in agents]


def _span_steps(session: Session, a: str, b: str,
                jaeger_url: str) -> tuple[list[Step], str | None]:
    """The two signals' spans aligned by path, or why they cannot be."""
    traces = []
    for signal_id in (a, b):
        trace_id = session.scalar(select(Execution.trace_id).where(
            Execution.signal_id == signal_id, Execution.trace_id.is_not(None)).limit(1))
        trace, problem = read_trace(jaeger_url, trace_id)
        if trace is None:
            return [], f"signal {signal_id}: {problem}"
        traces.append(trace)
    return span_steps(*traces), None
