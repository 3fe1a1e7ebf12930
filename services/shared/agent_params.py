"""What a pipeline may ask of its agents: their names and parameters, with bounds.

The backend validates a pipeline against this; the worker runs what it describes. A bound
keeps one pipeline from pinning a worker slot (`duration_ms` of a day) or looping on retries.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

AGENT_NAMES = ("market_data", "indicators", "risk_check", "order_decision")


class AgentParams(BaseModel):
    """Parameters every agent takes; unknown ones are refused (a typo is not silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    duration_ms: int | None = Field(None, ge=0, le=60_000, description="Simulated work")
    fail: bool = Field(False, description="Always fail")
    failure_rate: float | None = Field(None, ge=0, le=1, description="Chance of failing")
    transient_failures: int = Field(0, ge=0, le=10,
                                    description="Fail with a retryable error on the first N "
                                                "attempts")
    min_strength: float = Field(0.0, ge=0, le=1, description="risk_check: weakest signal approved")
    quantity: int = Field(10, ge=0, le=1_000_000, description="order_decision: order size")


def check_params(params: dict[str, Any]) -> dict[str, Any]:
    """The params as given, once they pass `AgentParams` (raises ValidationError)."""
    AgentParams.model_validate(params)
    return params
