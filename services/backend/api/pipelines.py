"""Pipelines: create, list, get, update, enable/disable, delete, and run one by hand."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.backend.auth import require_read, require_write
from services.backend.deps import RedisDep, SessionDep, SettingsDep
from services.backend.executions_view import execution_out
from services.backend.schemas import ExecutionOut, PipelineIn, PipelineOut, PipelineUpdate
from services.shared.db import Pipeline, TriggerMode, may_name_a_pipeline
from services.shared.running import publish_queued, queue_single_run, running_locks
from services.shared.signals import TICKER_PATTERN
from tracing import current_trace_id

log = logging.getLogger(__name__)
router = APIRouter(prefix="/pipelines", tags=["pipelines"])


def _get(session, pipeline_id: int) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id) if may_name_a_pipeline(pipeline_id) else None
    if pipeline is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"pipeline {pipeline_id} not found")
    return pipeline


def _flush_unique(session, name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"a pipeline named {name!r} already exists") from None


@router.post("", dependencies=[require_write], status_code=status.HTTP_201_CREATED,
             response_model=PipelineOut)
def create_pipeline(body: PipelineIn, session: SessionDep) -> Pipeline:
    pipeline = Pipeline(**body.model_dump(mode="json"))
    session.add(pipeline)
    _flush_unique(session, body.name)
    return pipeline


@router.get("", dependencies=[require_read], response_model=list[PipelineOut])
def list_pipelines(session: SessionDep, ticker: str | None = None,
                   enabled: bool | None = None,
                   trigger_mode: TriggerMode | None = None) -> list[Pipeline]:
    query = select(Pipeline).order_by(Pipeline.id)
    if enabled is not None:
        query = query.where(Pipeline.enabled.is_(enabled))
    if trigger_mode is not None:
        query = query.where(Pipeline.trigger_mode == trigger_mode)
    pipelines = list(session.scalars(query))
    return [p for p in pipelines if ticker in p.tickers] if ticker else pipelines


@router.get("/{pipeline_id}", dependencies=[require_read], response_model=PipelineOut)
def get_pipeline(pipeline_id: int, session: SessionDep) -> Pipeline:
    return _get(session, pipeline_id)


@router.patch("/{pipeline_id}", dependencies=[require_write], response_model=PipelineOut)
def update_pipeline(pipeline_id: int, body: PipelineUpdate, session: SessionDep) -> Pipeline:
    pipeline = _get(session, pipeline_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    current = PipelineOut.model_validate(pipeline).model_dump(mode="json")
    try:  # the pipeline after the change must be valid as a whole, not just the change
        merged = PipelineIn.model_validate({**current, **changes})
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None
    for field in changes:
        setattr(pipeline, field, getattr(merged, field) if field != "agents"
                else [a.model_dump() for a in merged.agents])
    _flush_unique(session, pipeline.name)
    return pipeline


@router.post("/{pipeline_id}/enable", dependencies=[require_write],
             response_model=PipelineOut)
def enable_pipeline(pipeline_id: int, session: SessionDep) -> Pipeline:
    pipeline = _get(session, pipeline_id)
    pipeline.enabled = True
    return pipeline


@router.post("/{pipeline_id}/disable", dependencies=[require_write],
             response_model=PipelineOut)
def disable_pipeline(pipeline_id: int, session: SessionDep) -> Pipeline:
    pipeline = _get(session, pipeline_id)
    pipeline.enabled = False
    return pipeline


@router.delete("/{pipeline_id}", dependencies=[require_write],
               status_code=status.HTTP_204_NO_CONTENT)
def delete_pipeline(pipeline_id: int, session: SessionDep) -> Response:
    """Deletes the pipeline and its execution history."""
    session.delete(_get(session, pipeline_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{pipeline_id}/run", dependencies=[require_write],
             status_code=status.HTTP_202_ACCEPTED, response_model=ExecutionOut)
def run_pipeline(pipeline_id: int, session: SessionDep, redis_client: RedisDep,
                 settings: SettingsDep,
                 ticker: str | None = Query(None, pattern=TICKER_PATTERN,
                                            description="Defaults to the first ticker")):
    """Queue a manual run; 409 if the pipeline is already running. Once its row is committed
    it runs (services/shared/running.py: the reaper publishes a task whose publishing failed)."""
    pipeline = _get(session, pipeline_id)
    execution = queue_single_run(session, running_locks(redis_client, settings), pipeline.id,
                                 TriggerMode.MANUAL, settings,
                                 ticker=ticker or pipeline.tickers[0], trace_id=current_trace_id())
    if execution is None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"pipeline {pipeline_id} is already running")
    publish_queued(settings, execution)
    return execution_out(execution, settings)
