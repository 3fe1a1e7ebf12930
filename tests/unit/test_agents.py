"""Agents: deterministic cost, forced and transient failures."""

from __future__ import annotations

import pytest

from services.shared.agent_params import AGENT_NAMES, DEFAULTS, ONLY_FOR
from services.worker.agents import AGENTS, AgentError, TransientAgentError, run_agent


def _run(name: str, params: dict | None = None, attempt: int = 0, rate: float = 0.0):
    return run_agent(name, {"duration_ms": 0, **(params or {})}, {"ticker": "AAPL",
                     "strength": 0.9, "direction": "buy"}, attempt, rate, 1.0)


def test_cost_is_the_agents_own_and_output_is_deterministic() -> None:
    first, second = _run("market_data"), _run("market_data")
    assert first.cost_usd == AGENTS["market_data"].cost_usd
    assert first.output == second.output


def test_forced_failure() -> None:
    with pytest.raises(AgentError, match="configured to fail"):
        _run("indicators", {"fail": True})


def test_transient_failures_then_success() -> None:
    with pytest.raises(TransientAgentError):
        _run("risk_check", {"transient_failures": 2}, attempt=1)
    assert _run("risk_check", {"transient_failures": 2}, attempt=2).output == {"approved": True}


def test_failure_rate_one_always_fails() -> None:
    with pytest.raises(AgentError, match="simulated failure"):
        _run("order_decision", rate=1.0)


def test_unknown_agent() -> None:
    with pytest.raises(AgentError, match="unknown agent"):
        _run("oracle")


def test_risk_check_without_a_signal_strength_counts_it_as_weakest() -> None:
    """A manual or periodic run has no signal: its context has no strength."""
    result = run_agent("risk_check", {"duration_ms": 0, "min_strength": 0.5}, {"ticker": "AAPL"},
                       0, 0.0, 1.0)
    assert result.output == {"approved": False}


def test_the_worker_runs_exactly_the_agents_a_pipeline_may_name() -> None:
    assert tuple(AGENTS) == AGENT_NAMES


@pytest.mark.parametrize(("param", "agent"), sorted(ONLY_FOR.items()))
def test_a_parameter_only_one_agent_reads_changes_what_it_does(param: str, agent: str) -> None:
    """Each agent-only parameter is read by its agent: a value other than the default
    changes the output (the backend's catalogue and the worker's agents agree)."""
    default = _run(agent).output
    changed = _run(agent, {param: 1 - DEFAULTS[param] if DEFAULTS[param] <= 1 else 0}).output
    assert changed != default
