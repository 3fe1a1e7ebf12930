"""One pipeline execution: claim the row, run the agents in order, record the outcome.

Who runs a row, and when a delivery is a duplicate, is decided in
`services.shared.executions.claim`; this module runs what it is given, its lease and the
pipeline's running lock renewed while it works (leases.py), and releases the lock when done.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import Span
from sqlalchemy import bindparam, select

from services.shared.clients import INFRASTRUCTURE_ERRORS, backoff_seconds
from services.shared.db import ExecutionStatus, Pipeline, session_scope, utcnow
from services.shared.executions import Verdict, claim, finish
from services.shared.objectives import LatencyObjective, objective_for
from services.shared.running import RunningLocks
from services.shared.settings import Settings
from services.shared.tasks import PipelineRun
from services.worker.agents import AgentError, AgentResult, TransientAgentError, run_agent
from services.worker.origin import ClaimTimes, from_origin, moments_of, run_timings
from tracing import attributes as attr
from tracing import current_trace_id, record_failure, span_names, tracer

if TYPE_CHECKING:
    from services.worker.leases import LeaseKeeper

log = logging.getLogger(__name__)

# Every task of the worker retries (or runs again later) when a database call fails, so a
# connection the database dropped costs one retry, never a run: no ping round trip each time
# a connection leaves the pool (two per execution).
PRE_PING = False


class LockHeldElsewhere(Exception):
    """Another run of the pipeline holds its running lock; this one starts after it."""


class RetryLater(Exception):
    """A transient agent failure: the same execution runs again after `seconds`."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


# The pipeline's agents and objective, read when the claim did not return them (a row taken
# by the claim's slower path; a Core statement built once: an ORM load of the whole row cost
# a fifth of a run's time in the database client).
_AGENTS = select(Pipeline.agents, Pipeline.latency_objective_ms,
                 Pipeline.latency_objective_target).where(Pipeline.id == bindparam("pipeline_id"))


@dataclass(frozen=True)
class Claimed:
    agents: list[dict[str, Any]]
    attempt: int          # 1 for the first start
    final_attempt: bool
    objective: LatencyObjective
    times: ClaimTimes     # the way so far, for the latency from origin

    @property
    def started_at(self) -> datetime:
        return self.times.started_at


@dataclass(frozen=True)
class Outcome:
    """What became of one run of an execution, as recorded in its row: the retry decision
    is made once, where the failure is seen (`retry_after`), and read here alone."""

    execution_id: str
    status: ExecutionStatus
    cost_usd: float
    error: str | None
    recorded: bool                      # False: another worker took the row over
    retry_after: float | None = None    # seconds: a transient failure runs again then
    finished_at: datetime | None = None  # as recorded (None: a retry follows)

    def as_result(self) -> dict[str, Any]:
        """The task's result (JSON), as Celery stores it."""
        return {"execution_id": self.execution_id, "status": self.status.value,
                "cost_usd": round(self.cost_usd, 6), "error": self.error,
                "recorded": self.recorded}


def execute(run: PipelineRun, task_id: str, settings: Settings, locks: RunningLocks,
            leases: LeaseKeeper) -> dict[str, Any] | None:
    """Run the execution if this delivery should; None when it should not (a duplicate, a
    deleted pipeline). The lock is released whenever the execution is over."""
    claimed = _claim(run, task_id, settings, locks)
    if isinstance(claimed, Verdict):
        log.info("execution %s not run: %s", run.execution_id, claimed.value)
        if claimed is not Verdict.HELD:   # a live worker holds the lock for this same run
            locks.release(run.pipeline_id, run.lock_token)
        return None
    with leases.keeping(run, task_id):
        outcome = _run(run, claimed, task_id, settings)
    if outcome.recorded and outcome.retry_after is not None:
        raise RetryLater(outcome.error or "transient failure", outcome.retry_after)
    if outcome.recorded:          # not: taken over, the lock (same token) is the new run's now
        locks.release(run.pipeline_id, run.lock_token)
    return outcome.as_result()


def _claim(run: PipelineRun, task_id: str, settings: Settings,
           locks: RunningLocks) -> Claimed | Verdict:
    """What this delivery runs, or why it runs nothing."""
    with session_scope(settings.database_url, PRE_PING) as session:
        verdict, taken = claim(session, run.execution_id, task_id, settings, current_trace_id())
        if verdict is not Verdict.RUN or taken is None:
            return verdict
        pipeline = (taken.agents, taken.objective_ms, taken.objective_target) \
            if taken.agents is not None else session.connection().execute(
                _AGENTS, {"pipeline_id": run.pipeline_id}).one_or_none()
        if pipeline is None:
            return Verdict.GONE
        agents, objective_ms, objective_target = pipeline
        if not locks.renew(run.pipeline_id, run.lock_token):
            raise LockHeldElsewhere(f"pipeline {run.pipeline_id} is running for another trigger")
        return Claimed(agents, taken.attempts,
                       final_attempt=taken.attempts > settings.task_max_retries,
                       objective=objective_for(objective_ms, objective_target,
                                               settings.default_objective()),
                       times=ClaimTimes(taken.queued_at, taken.received_at, taken.started_at,
                                        taken.attempt_started_at, claimed_at=utcnow()))


def _run(run: PipelineRun, claimed: Claimed, task_id: str, settings: Settings) -> Outcome:
    """Run the agents in order and record the outcome, in a `pipeline.execute` span. A
    transient error with attempts left records the row as still running (a retry follows);
    any other failure is recorded (and on the span) and not raised. The final attempt's span
    carries the outcome and the latency from origin (origin.py)."""
    with tracer().start_as_current_span(span_names.PIPELINE_EXECUTE, attributes={
            attr.PIPELINE_ID: run.pipeline_id,
            attr.TRIGGER_MODE: run.trigger_mode.value,
            attr.EXECUTION_ID: run.execution_id}) as span:
        outcome = _run_agents(run, claimed, task_id, settings, span)
        if outcome.finished_at is not None and span.is_recording():  # off: nothing to say
            span.set_attributes({attr.EXECUTION_STATUS: outcome.status.value,
                                 attr.COST_USD: round(outcome.cost_usd, 6),
                                 **from_origin(run, moments_of(run, claimed.times,
                                                               outcome.finished_at),
                                               claimed.objective)})
        return outcome


def _run_agents(run: PipelineRun, claimed: Claimed, task_id: str, settings: Settings,
                span: Span) -> Outcome:
    signal = run.signal or {}
    context: dict[str, Any] = {k: signal[k] for k in ("ticker", "direction", "strength")
                               if signal.get(k) is not None}
    record = _Recorder(run, task_id, settings, claimed.started_at, claimed.times, [])
    cost = 0.0
    try:
        for agent in claimed.agents:
            result = _run_agent_span(agent, context, claimed.attempt - 1, settings,
                                     record.agents_ms)
            context[result.name] = result.output
            cost += result.cost_usd
    except TransientAgentError as error:
        if not claimed.final_attempt:
            span.set_attribute(attr.EXECUTION_RETRYING, True)
            return record(ExecutionStatus.RUNNING, cost, None, str(error),
                          retry_after=backoff_seconds(claimed.attempt - 1))
        record_failure(span, error)
        return record(ExecutionStatus.FAILED, cost, None, str(error))
    except AgentError as error:
        record_failure(span, error)
        return record(ExecutionStatus.FAILED, cost, None, str(error))
    except INFRASTRUCTURE_ERRORS:
        raise                      # retried by the task; the row stays leased to this task
    except Exception as error:     # a bug in an agent, a time limit: failed, not lost
        log.exception("execution %s crashed", run.execution_id)
        record_failure(span, error)
        return record(ExecutionStatus.FAILED, cost, None, f"{error.__class__.__name__}: {error}")
    outputs = {agent["name"]: context[agent["name"]] for agent in claimed.agents}
    return record(ExecutionStatus.SUCCEEDED, cost, outputs, None)


def _run_agent_span(agent: dict[str, Any], context: dict[str, Any], attempt: int,
                    settings: Settings, took: list[tuple[str, float]]) -> AgentResult:
    """Run one agent in its `agent.run` span; its time (ms) goes to `took`, failed or not."""
    began = time.perf_counter()
    with tracer().start_as_current_span(span_names.AGENT_RUN,
                                        attributes={attr.AGENT_NAME: agent["name"]}) as span:
        try:
            result = run_agent(agent["name"], agent.get("params", {}), context, attempt,
                               settings.agent_failure_rate, settings.agent_time_scale)
        except TransientAgentError as error:
            span.set_attribute(attr.AGENT_OUTCOME, "transient_failure")
            record_failure(span, error)
            raise
        except Exception as error:
            span.set_attribute(attr.AGENT_OUTCOME, "failed")
            record_failure(span, error)
            raise
        finally:
            took.append((agent["name"], (time.perf_counter() - began) * 1000))
        span.set_attributes({attr.AGENT_OUTCOME: "succeeded", attr.COST_USD: result.cost_usd})
        return result


@dataclass(frozen=True)
class _Recorder:
    run: PipelineRun
    task_id: str
    settings: Settings
    started_at: datetime
    times: ClaimTimes
    agents_ms: list[tuple[str, float]]      # each agent's time, filled as the agents run

    def __call__(self, status: ExecutionStatus, cost: float, result: dict[str, Any] | None,
                 error: str | None, retry_after: float | None = None) -> Outcome:
        now = utcnow()
        with session_scope(self.settings.database_url, PRE_PING) as session:
            lease = None if retry_after is None \
                else retry_after + self.settings.execution_lease_seconds
            recorded = finish(session, self.run.execution_id, self.task_id, status, cost,
                              result, error, self.started_at, lease_seconds=lease, now=now,
                              timings=None if retry_after is not None
                              else run_timings(self.times, self.agents_ms))
        log.info("execution %s of pipeline %s: %s%s", self.run.execution_id,
                 self.run.pipeline_id, status.value, "" if recorded else " (not recorded: "
                 "another worker took it over)")
        return Outcome(self.run.execution_id, status, cost, error, recorded, retry_after,
                       finished_at=now if retry_after is None else None)
