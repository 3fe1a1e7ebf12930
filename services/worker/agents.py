"""The agents a pipeline runs, in order. The work is simulated; the cost is deterministic.

The agents and their parameters are the ones `services/shared/agent_params.py` lets a pipeline
ask for (the backend validates against it); a parameter left out takes its default there.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.shared.agent_params import DEFAULTS

Context = dict[str, Any]


class AgentError(Exception):
    """The agent failed; the execution fails with this message."""


class TransientAgentError(AgentError):
    """A failure worth retrying (a timeout upstream, say): the task retries with backoff."""


@dataclass(frozen=True)
class AgentSpec:
    cost_usd: float
    default_duration_ms: int
    run: Callable[[dict[str, Any], Context], dict[str, Any]]


def _reference_price(ticker: str) -> float:
    """A stable price per ticker, so results are reproducible run to run."""
    digest = int(hashlib.sha256(ticker.encode()).hexdigest()[:8], 16)
    return round(20 + digest % 48000 / 100, 2)


def _market_data(params: dict[str, Any], context: Context) -> dict[str, Any]:
    return {"price": _reference_price(context.get("ticker") or "INDEX")}


def _indicators(params: dict[str, Any], context: Context) -> dict[str, Any]:
    price = context.get("market_data", {}).get("price", 100.0)
    return {"sma_fast": round(price * 1.01, 2), "sma_slow": round(price * 0.99, 2)}


def _risk_check(params: dict[str, Any], context: Context) -> dict[str, Any]:
    strength = context.get("strength", 0.0)   # no signal (manual, periodic): the weakest
    weakest = float(params.get("min_strength", DEFAULTS["min_strength"]))
    return {"approved": strength >= weakest}


def _order_decision(params: dict[str, Any], context: Context) -> dict[str, Any]:
    approved = context.get("risk_check", {}).get("approved", True)
    action = context.get("direction", "hold") if approved else "hold"
    quantity = int(params.get("quantity", DEFAULTS["quantity"]))
    return {"action": action, "quantity": quantity if approved else 0}


AGENTS: dict[str, AgentSpec] = {
    "market_data": AgentSpec(0.0020, 40, _market_data),
    "indicators": AgentSpec(0.0010, 25, _indicators),
    "risk_check": AgentSpec(0.0015, 15, _risk_check),
    "order_decision": AgentSpec(0.0030, 30, _order_decision),
}


@dataclass(frozen=True)
class AgentResult:
    name: str
    output: dict[str, Any]
    cost_usd: float


def run_agent(name: str, params: dict[str, Any], context: Context, attempt: int,
              default_failure_rate: float, time_scale: float) -> AgentResult:
    """Run one agent; its cost is charged only when it completes."""
    spec = AGENTS.get(name)
    if spec is None:
        raise AgentError(f"{name}: unknown agent")
    time.sleep(float(params.get("duration_ms", spec.default_duration_ms)) / 1000 * time_scale)
    if params.get("fail"):
        raise AgentError(f"{name}: configured to fail")
    if attempt < int(params.get("transient_failures", DEFAULTS["transient_failures"])):
        raise TransientAgentError(f"{name}: transient failure on attempt {attempt + 1}")
    if random.random() < float(params.get("failure_rate", default_failure_rate)):
        raise AgentError(f"{name}: simulated failure")
    return AgentResult(name, spec.run(params, context), spec.cost_usd)
