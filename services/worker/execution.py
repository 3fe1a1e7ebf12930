"""One pipeline execution: the execution row, the agents in order, the outcome recorded."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.shared.db import (
    Execution, ExecutionStatus, Pipeline, TriggerMode, session_scope, utcnow,
)
from services.shared.settings import Settings
from services.worker.agents import AgentError, AgentResult, TransientAgentError, run_agent
from tracing import attributes as attr
from tracing import current_trace_id, record_failure, tracer

log = logging.getLogger(__name__)


class DuplicateExecution(Exception):
    """This pipeline already has an execution for this signal (a redelivered signal)."""

    def __init__(self, message: str, original_finished: bool) -> None:
        super().__init__(message)
        self.original_finished = original_finished


class PipelineGone(Exception):
    """The pipeline was deleted between enqueueing and running."""


@dataclass(frozen=True)
class ExecutionRequest:
    pipeline_id: int
    trigger_mode: TriggerMode
    signal: dict[str, Any] | None = None
    execution_id: str | None = None
    attempt: int = 0
    final_attempt: bool = True


def start_execution(request: ExecutionRequest, settings: Settings) -> tuple[str, Pipeline]:
    """Create (or, for a manual run or a retry, reuse) the execution row, marked running."""
    signal = request.signal or {}
    with session_scope(settings.database_url) as session:
        pipeline = session.get(Pipeline, request.pipeline_id)
        if pipeline is None:
            raise PipelineGone(f"pipeline {request.pipeline_id} no longer exists")
        execution = _find_execution(session, request)
        if execution is None:
            execution = Execution(pipeline_id=pipeline.id, trigger_mode=request.trigger_mode,
                                  status=ExecutionStatus.RUNNING, attempts=0,
                                  signal_id=signal.get("signal_id"), ticker=signal.get("ticker"))
            session.add(execution)
        if execution.started_at is None:
            execution.started_at = utcnow()
        execution.status = ExecutionStatus.RUNNING
        execution.attempts += 1
        execution.trace_id = execution.trace_id or current_trace_id()
        try:
            session.flush()
        except IntegrityError:
            raise DuplicateExecution(
                f"pipeline {pipeline.id} already ran for signal {signal.get('signal_id')}",
                _original_finished(settings, pipeline.id, signal.get("signal_id"))) from None
        session.expunge(pipeline)
        return execution.id, pipeline


def _original_finished(settings: Settings, pipeline_id: int, signal_id: str) -> bool:
    with session_scope(settings.database_url) as session:
        status = session.scalar(select(Execution.status).where(
            Execution.pipeline_id == pipeline_id, Execution.signal_id == signal_id))
    return status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)


def _find_execution(session, request: ExecutionRequest) -> Execution | None:
    if request.execution_id:
        return session.get(Execution, request.execution_id)
    signal_id = (request.signal or {}).get("signal_id")
    if request.attempt > 0 and signal_id:  # a retry continues its own row
        return session.scalars(select(Execution).where(
            Execution.pipeline_id == request.pipeline_id,
            Execution.signal_id == signal_id)).first()
    return None


def run_pipeline(request: ExecutionRequest, settings: Settings) -> dict[str, Any]:
    """Run the agents in order and record the outcome, in a `pipeline.execute` span. A
    transient error that will be retried propagates with the row left running; any other
    failure is recorded (and on the span) and not raised."""
    with tracer().start_as_current_span("pipeline.execute", attributes={
            attr.PIPELINE_ID: request.pipeline_id,
            attr.TRIGGER_MODE: request.trigger_mode.value}) as span:
        outcome = _run_agents(request, settings, span)
        span.set_attributes({attr.EXECUTION_STATUS: outcome["status"],
                             attr.COST_USD: outcome["cost_usd"]})
        return outcome


def _run_agents(request: ExecutionRequest, settings: Settings, span) -> dict[str, Any]:
    execution_id, pipeline = start_execution(request, settings)
    span.set_attribute("execution.id", execution_id)
    signal = request.signal or {}
    context: dict[str, Any] = {k: signal[k] for k in ("ticker", "direction", "strength")
                               if signal.get(k) is not None}
    cost = 0.0
    try:
        for agent in pipeline.agents:
            result = _run_agent_span(agent, context, request, settings)
            context[result.name] = result.output
            cost += result.cost_usd
    except TransientAgentError as error:
        if not request.final_attempt:
            span.set_attribute("execution.retrying", True)
            _record(settings, execution_id, ExecutionStatus.RUNNING, cost, None, str(error),
                    finished=False)
            raise
        record_failure(span, error)
        return _record(settings, execution_id, ExecutionStatus.FAILED, cost, None, str(error))
    except AgentError as error:
        record_failure(span, error)
        return _record(settings, execution_id, ExecutionStatus.FAILED, cost, None, str(error))
    except Exception as error:  # a bug in an agent still ends the execution, as failed
        log.exception("execution %s crashed", execution_id)
        record_failure(span, error)
        return _record(settings, execution_id, ExecutionStatus.FAILED, cost, None,
                       f"{error.__class__.__name__}: {error}")
    outputs = {agent["name"]: context[agent["name"]] for agent in pipeline.agents}
    return _record(settings, execution_id, ExecutionStatus.SUCCEEDED, cost, outputs, None)


def _run_agent_span(agent: dict[str, Any], context: dict[str, Any], request: ExecutionRequest,
                    settings: Settings) -> AgentResult:
    with tracer().start_as_current_span("agent.run",
                                        attributes={attr.AGENT_NAME: agent["name"]}) as span:
        try:
            result = run_agent(agent["name"], agent.get("params", {}), context, request.attempt,
                               settings.agent_failure_rate, settings.agent_time_scale)
        except TransientAgentError as error:
            span.set_attribute(attr.AGENT_OUTCOME, "transient_failure")
            record_failure(span, error)
            raise
        except Exception as error:
            span.set_attribute(attr.AGENT_OUTCOME, "failed")
            record_failure(span, error)
            raise
        span.set_attributes({attr.AGENT_OUTCOME: "succeeded", attr.COST_USD: result.cost_usd})
        return result


def _record(settings: Settings, execution_id: str, status: ExecutionStatus, cost: float,
            result: dict[str, Any] | None, error: str | None, finished: bool = True) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        execution = session.get(Execution, execution_id)
        execution.status = status
        execution.cost_usd = round(cost, 6)
        execution.result = result
        execution.error = error
        if finished:
            execution.finished_at = utcnow()
            execution.duration_seconds = (execution.finished_at
                                          - _aware(execution.started_at)).total_seconds()
    log.info("execution %s of pipeline %s: %s", execution_id, execution.pipeline_id, status.value)
    return {"execution_id": execution_id, "status": status.value, "cost_usd": round(cost, 6),
            "error": error}


def _aware(moment):
    """SQLite returns naive datetimes even for timezone-aware columns."""
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
