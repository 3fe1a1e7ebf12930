"""Helpers for the platform tests: create pipelines, publish signals, follow executions."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest.mock import patch

import httpx
from confluent_kafka import Message

from services.backend.migrate import upgrade
from services.shared.api_keys import create_key
from services.shared.db import ApiRole, session_scope
from services.shared.settings import Settings
from services.shared.signals import Signal
from tests.support.kafka import end_offsets, read_topic
from tests.support.polling import eventually
from tracing.service_names import SIGNAL_GENERATOR
from tradetrace import emit
from tradetrace.platform import Platform

FAST = {"duration_ms": 0}


def new_key(database_url: str, role: ApiRole = ApiRole.WRITE, name: str = "tests") -> str:
    """A fresh API key in that database (migrated first: a backend may not have started)."""
    upgrade(database_url)
    with session_scope(database_url) as session:
        return create_key(session, role, name)[1]


def api_client(platform: Platform, role: ApiRole = ApiRole.WRITE) -> httpx.Client:
    """A client of the platform's API with a key of its own, of that role."""
    key = new_key(platform.env["TRADETRACE_DATABASE_URL"], role)
    return httpx.Client(base_url=platform.backend_url, timeout=10,
                        headers={"Authorization": f"Bearer {key}"})


def create_pipeline(api: httpx.Client, name: str, tickers: list[str], **fields) -> dict:
    body = {"name": name, "tickers": tickers,
            "agents": fields.pop("agents", [{"name": "market_data", "params": FAST},
                                            {"name": "order_decision", "params": FAST}]),
            **fields}
    response = api.post("/pipelines", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_to_the_end(api: httpx.Client, pipeline_id: int, timeout: float = 30.0) -> dict:
    """A manual run of the pipeline, followed to its end (its execution as the API shows it).
    A pipeline still running refuses a run (409) and is asked again; any other refusal fails
    at once with the API's answer."""
    def queued() -> dict | None:
        response = api.post(f"/pipelines/{pipeline_id}/run")
        if response.status_code == 409:
            return None
        response.raise_for_status()
        return response.json()

    url = f"/executions/{eventually(queued, 'a manual run taken', timeout=timeout)['id']}"
    return eventually(lambda: (body if (body := api.get(url).json())["finished_at"] else None),
                      "the manual run to finish", timeout=timeout)


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
    """The settings a service started with these variables reads (JSON lists and maps too)."""
    with patch.dict(os.environ, env, clear=True):
        return Settings()


def _signal_json(message: Message) -> dict | None:
    try:   # the session's topic also carries the poison-message tests' corpus
        body = json.loads(message.value() or b"")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def signal_messages(settings: Settings, tickers: list[str],
                    start: dict[int, int] | None = None) -> list[Message]:
    """The topic's signals for these tickers, from `start`, one message per signal id."""
    found: dict[str, Message] = {}
    for message in read_topic(settings.kafka_bootstrap_servers, settings.signals_topic, start):
        body = _signal_json(message)
        if body and body.get("ticker") in tickers:
            found.setdefault(body["signal_id"], message)
    return list(found.values())


def run_generator(env: dict[str, str], state: Path, tickers: list[str], count: int,
                  per_second: float = 10, seed: int | None = None) -> list[Message]:
    """Run the real signal-generator service on these tickers until Kafka holds `count` of its
    signals, stop it (it flushes what it generated), and return every signal it published."""
    settings = settings_from_env(env)
    start = end_offsets(settings.kafka_bootstrap_servers, settings.signals_topic)
    extra = {"TRADETRACE_TICKERS": json.dumps(tickers),
             "TRADETRACE_SIGNALS_PER_SECOND": str(per_second)}
    if seed is not None:
        extra["TRADETRACE_GENERATOR_SEED"] = str(seed)
    generator = Platform(env={**env, **extra}, state=state)
    generator.up([SIGNAL_GENERATOR])
    try:
        eventually(lambda: len(signal_messages(settings, tickers, start)) >= count,
                   f"{count} generated signals in Kafka", timeout=60)
    finally:
        generator.down([SIGNAL_GENERATOR])
    return signal_messages(settings, tickers, start)
