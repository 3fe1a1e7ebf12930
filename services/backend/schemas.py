"""The API's request and response bodies; validation errors say what was wrong (422)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.shared.agent_params import AGENT_NAMES, AgentParams, check_params
from services.shared.db import ExecutionStatus, TriggerMode
from services.shared.objectives import MAX_MS, MAX_TARGET, MIN_MS, MIN_TARGET
from services.shared.signals import TICKER_PATTERN


class AgentConfig(BaseModel):
    name: str = Field(description=f"One of: {', '.join(AGENT_NAMES)}")
    params: dict[str, Any] = Field(default_factory=dict,
                                   json_schema_extra=AgentParams.model_json_schema())

    @field_validator("name")
    @classmethod
    def known_agent(cls, name: str) -> str:
        if name not in AGENT_NAMES:
            raise ValueError(f"unknown agent {name!r}; known agents: {', '.join(AGENT_NAMES)}")
        return name

    @model_validator(mode="after")
    def params_for_this_agent(self) -> AgentConfig:
        check_params(self.name, self.params)
        return self


Tickers = list[str]
# A pipeline's name is shown in tables, logs and pages: printable, no control characters.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]+$"


def _check_tickers(tickers: Tickers) -> Tickers:
    import re

    bad = [t for t in tickers if not re.fullmatch(TICKER_PATTERN, t)]
    if bad:
        raise ValueError(f"invalid ticker(s) {bad}: use upper-case symbols such as AAPL")
    return list(dict.fromkeys(tickers))


class PipelineIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN)
    tickers: Tickers = Field(min_length=1, max_length=500)
    trigger_mode: TriggerMode = TriggerMode.SIGNAL
    interval_seconds: int | None = Field(None, ge=1, le=86400)
    agents: list[AgentConfig] = Field(min_length=1, max_length=20)
    enabled: bool = True
    # Its latency objective: runs start within this many ms of their origin, for this share
    # of them; either left empty takes the platform's (services/shared/objectives.py).
    latency_objective_ms: int | None = Field(None, ge=MIN_MS, le=MAX_MS)
    latency_objective_target: float | None = Field(None, ge=MIN_TARGET, le=MAX_TARGET)

    _tickers = field_validator("tickers")(lambda cls, v: _check_tickers(v))

    @model_validator(mode="after")
    def periodic_needs_interval(self) -> PipelineIn:
        if self.trigger_mode == TriggerMode.MANUAL:
            raise ValueError("trigger_mode must be 'signal' or 'periodic'")
        if self.trigger_mode == TriggerMode.PERIODIC and self.interval_seconds is None:
            raise ValueError("a periodic pipeline needs interval_seconds")
        if self.trigger_mode == TriggerMode.SIGNAL and self.interval_seconds is not None:
            raise ValueError("interval_seconds applies only to periodic pipelines")
        return self


class PipelineUpdate(BaseModel):
    """Fields to change; those left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100, pattern=NAME_PATTERN)
    tickers: Tickers | None = Field(None, min_length=1, max_length=500)
    trigger_mode: TriggerMode | None = None
    interval_seconds: int | None = Field(None, ge=1, le=86400)
    agents: list[AgentConfig] | None = Field(None, min_length=1, max_length=20)
    enabled: bool | None = None
    latency_objective_ms: int | None = Field(None, ge=MIN_MS, le=MAX_MS)       # null: default
    latency_objective_target: float | None = Field(None, ge=MIN_TARGET, le=MAX_TARGET)

    _tickers = field_validator("tickers")(lambda cls, v: v if v is None else _check_tickers(v))


class PipelineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    tickers: list[str]
    trigger_mode: TriggerMode
    interval_seconds: int | None
    agents: list[AgentConfig]
    enabled: bool
    latency_objective_ms: int | None
    latency_objective_target: float | None
    created_at: datetime
    updated_at: datetime


class ExecutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    pipeline_id: int
    status: ExecutionStatus
    trigger_mode: TriggerMode
    signal_id: str | None
    ticker: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    cost_usd: float | None
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    trace_id: str | None
    trace_url: str | None = None
