"""Executions: list with filters, get one."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import select

from services.backend.auth import require_read
from services.backend.deps import SessionDep, SettingsDep
from services.backend.executions_view import execution_out
from services.backend.schemas import ExecutionOut
from services.shared.db import MAX_PIPELINE_ID, Execution, ExecutionStatus

router = APIRouter(prefix="/executions", tags=["executions"],
                   dependencies=[require_read])


@router.get("", response_model=list[ExecutionOut])
def list_executions(session: SessionDep, settings: SettingsDep,
                    pipeline_id: int | None = Query(None, ge=1, le=MAX_PIPELINE_ID),
                    status_: ExecutionStatus | None = Query(None, alias="status"),
                    signal_id: str | None = None,
                    limit: int = Query(100, ge=1, le=1000)) -> list[ExecutionOut]:
    query = select(Execution).order_by(Execution.queued_at.desc()).limit(limit)
    if pipeline_id is not None:
        query = query.where(Execution.pipeline_id == pipeline_id)
    if status_ is not None:
        query = query.where(Execution.status == status_)
    if signal_id is not None:
        query = query.where(Execution.signal_id == signal_id)
    return [execution_out(e, settings) for e in session.scalars(query)]


@router.get("/{execution_id}", response_model=ExecutionOut)
def get_execution(execution_id: str, session: SessionDep, settings: SettingsDep) -> ExecutionOut:
    execution = session.get(Execution, execution_id)
    if execution is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"execution {execution_id} not found")
    return execution_out(execution, settings)
