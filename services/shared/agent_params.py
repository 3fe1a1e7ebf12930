"""What a pipeline may ask of its agents: their names and parameters, with bounds.

The backend validates a pipeline against this; the worker runs what it describes (its agents
are these names, with these defaults: tests/unit/test_agents.py holds both sides together). A bound
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


# What an agent reads when a pipeline leaves a parameter out (None: the agent's or the
# settings' own default).
DEFAULTS: dict[str, Any] = AgentParams().model_dump()

# Parameters only one agent reads: given to another, they would be silently ignored.
ONLY_FOR = {"min_strength": "risk_check", "quantity": "order_decision"}


def check_params(agent: str, params: dict[str, Any]) -> dict[str, Any]:
    """The params as given, once they pass `AgentParams` and each suits this agent (raises
    ValidationError or ValueError)."""
    AgentParams.model_validate(params)
    misplaced = sorted(k for k in params if ONLY_FOR.get(k, agent) != agent)
    if misplaced:
        raise ValueError(f"{agent} takes no {', '.join(misplaced)} (only "
                         f"{', '.join(ONLY_FOR[k] for k in misplaced)} does)")
    return params
