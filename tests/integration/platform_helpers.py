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


def settings_from_env(env: dict[str, str]) -> Settings:
    """The settings a service started with these TRADETRACE_* variables reads."""
    return Settings(**{k.removeprefix("TRADETRACE_").lower(): v for k, v in env.items()
                       if k.startswith("TRADETRACE_")})


def run_generator(env: dict[str, str], state, tickers: list[str], seconds: float,
                  per_second: float, seed: int | None = None) -> None:
    """Run the real signal-generator service on these tickers for a while, then stop it."""
    import json
    import time

    from tradetrace.platform import Platform

    extra = {"TRADETRACE_TICKERS": json.dumps(tickers),
             "TRADETRACE_SIGNALS_PER_SECOND": str(per_second)}
    if seed is not None:
        extra["TRADETRACE_GENERATOR_SEED"] = str(seed)
    generator = Platform(env={**env, **extra}, state=state)
    generator.up(["signal-generator"])
    time.sleep(seconds)
    generator.down(["signal-generator"])
