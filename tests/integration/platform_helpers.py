"""Helpers for the platform tests: create pipelines, publish signals, follow executions."""

from __future__ import annotations

import httpx

from services.shared.settings import Settings
from services.shared.signals import Signal
from tradetrace import emit

FAST = {"duration_ms": 0}


def create_pipeline(api: httpx.Client, name: str, tickers: list[str], **fields) -> dict:
    body = {"name": name, "tickers": tickers,
            "agents": fields.pop("agents", [{"name": "market_data", "params": FAST},
                                            {"name": "order_decision", "params": FAST}]),
            **fields}
    response = api.post("/pipelines", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def signal_for(ticker: str, **fields) -> Signal:
    return Signal(signal_type="mock", source="tests", ticker=ticker, direction="buy",
                  strength=0.8, **fields)


def publish_and_follow(settings: Settings, signal: Signal, timeout: float = 60.0):
    """Publish a signal, wait for the dispatcher's outcome and the executions it enqueued."""
    emit.publish(settings, signal)
    outcome = emit.wait_for_dispatch(settings, signal.signal_id, timeout=timeout)
    executions = emit.wait_for_executions(settings, signal.signal_id, len(outcome["enqueued"]),
                                          timeout=timeout)
    return outcome, executions
