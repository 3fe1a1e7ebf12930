"""The backend's API, served by the real process on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.support.platform import FAST, create_pipeline
from tests.support.polling import eventually

AGENTS = [{"name": "market_data", "params": FAST}, {"name": "risk_check", "params": FAST}]


def test_pipeline_lifecycle(api: httpx.Client, ticker: str) -> None:
    created = create_pipeline(api, f"life-{ticker}", [ticker, ticker], agents=AGENTS)
    assert created["tickers"] == [ticker]                     # duplicates folded
    assert created["trigger_mode"] == "signal" and created["enabled"] is True
    pid = created["id"]

    assert api.get(f"/pipelines/{pid}").json() == created
    assert pid in [p["id"] for p in api.get("/pipelines", params={"ticker": ticker}).json()]

    updated = api.patch(f"/pipelines/{pid}", json={"tickers": [ticker, "ZZZ"]}).json()
    assert updated["tickers"] == [ticker, "ZZZ"] and updated["name"] == created["name"]

    assert api.post(f"/pipelines/{pid}/disable").json()["enabled"] is False
    assert pid not in [p["id"] for p in api.get("/pipelines", params={"enabled": True}).json()]
    assert api.post(f"/pipelines/{pid}/enable").json()["enabled"] is True

    assert api.delete(f"/pipelines/{pid}").status_code == 204
    assert api.get(f"/pipelines/{pid}").status_code == 404


@pytest.mark.parametrize(("body", "message"), [
    ({"tickers": ["AAPL"], "agents": AGENTS}, "Field required"),
    ({"name": "x", "tickers": [], "agents": AGENTS}, "at least 1 item"),
    ({"name": "x", "tickers": ["aapl"], "agents": AGENTS}, "invalid ticker(s) ['aapl']"),
    ({"name": "x", "tickers": ["AAPL"], "agents": [{"name": "oracle"}]}, "unknown agent 'oracle'"),
    ({"name": "x", "tickers": ["AAPL"], "agents": AGENTS, "trigger_mode": "periodic"},
     "a periodic pipeline needs interval_seconds"),
    ({"name": "x", "tickers": ["AAPL"], "agents": AGENTS, "interval_seconds": 5},
     "interval_seconds applies only to periodic pipelines"),
    ({"name": "x", "tickers": ["AAPL"], "agents": AGENTS, "trigger_mode": "hourly"},
     "'signal', 'periodic'"),
    ({"name": "x", "tickers": ["AAPL"], "agents": [
        {"name": "market_data", "params": {"quantity": 5}}]},
     "market_data takes no quantity (only order_decision does)"),
    ({"name": "x", "tickers": ["AAPL"], "agents": [
        {"name": "market_data", "params": {"duration_ms": 3_600_000}}]},
     "less than or equal to 60000"),
    ({"name": "bad\u0000name", "tickers": ["AAPL"], "agents": AGENTS}, "string_pattern"),
    ({"name": "x", "tickers": ["AAPL"], "agents": AGENTS, "latency_objective_ms": 0},
     "greater than or equal to 1"),
    ({"name": "x", "tickers": ["AAPL"], "agents": AGENTS, "latency_objective_target": 1.0},
     "less than or equal to 0.9999"),
])
def test_invalid_pipeline_is_rejected_with_what_was_wrong(api: httpx.Client, body: dict,
                                                          message: str) -> None:
    response = api.post("/pipelines", json=body)
    assert response.status_code == 422
    assert message in response.text


def test_a_latency_objective_is_set_and_cleared(api: httpx.Client, ticker: str) -> None:
    """Left out: the platform's applies (null); set either value, or clear it with null."""
    pipeline = create_pipeline(api, f"slo-{ticker}", [ticker], agents=AGENTS,
                               latency_objective_ms=50)
    assert (pipeline["latency_objective_ms"], pipeline["latency_objective_target"]) == (50, None)
    changed = api.patch(f"/pipelines/{pipeline['id']}",
                        json={"latency_objective_target": 0.995}).json()
    assert (changed["latency_objective_ms"], changed["latency_objective_target"]) == (50, 0.995)
    cleared = api.patch(f"/pipelines/{pipeline['id']}", json={"latency_objective_ms": None}).json()
    assert (cleared["latency_objective_ms"], cleared["latency_objective_target"]) == (None, 0.995)


def test_invalid_update_and_conflicts(api: httpx.Client, ticker: str) -> None:
    first = create_pipeline(api, f"a-{ticker}", [ticker], agents=AGENTS)
    create_pipeline(api, f"b-{ticker}", [ticker], agents=AGENTS)
    assert api.post("/pipelines", json={"name": f"a-{ticker}", "tickers": [ticker],
                                        "agents": AGENTS}).status_code == 409
    assert api.patch(f"/pipelines/{first['id']}", json={"name": f"b-{ticker}"}).status_code == 409
    response = api.patch(f"/pipelines/{first['id']}", json={"trigger_mode": "periodic"})
    assert response.status_code == 422 and "interval_seconds" in response.text
    assert api.patch(f"/pipelines/{first['id']}", json={"colour": "red"}).status_code == 422
    assert api.get("/pipelines/999999").json() == {"detail": "pipeline 999999 not found"}
    assert api.get("/pipelines/not-a-number").status_code == 422


def test_manual_run_and_execution_queries(api: httpx.Client, ticker: str) -> None:
    pipeline = create_pipeline(api, f"manual-{ticker}", [ticker], agents=AGENTS)
    queued = api.post(f"/pipelines/{pipeline['id']}/run")
    assert queued.status_code == 202, queued.text
    execution_id = queued.json()["id"]
    assert queued.json()["trigger_mode"] == "manual"

    def finished():
        body = api.get(f"/executions/{execution_id}").json()
        return body if body["status"] in ("succeeded", "failed") else None

    execution = eventually(finished, f"manual execution {execution_id}")
    assert execution["status"] == "succeeded" and execution["ticker"] == ticker
    assert execution["cost_usd"] > 0 and execution["started_at"] and execution["finished_at"]
    listed = api.get("/executions", params={"pipeline_id": pipeline["id"],
                                            "status": "succeeded"}).json()
    assert [e["id"] for e in listed] == [execution_id]
    assert api.get("/executions", params={"status": "failed",
                                          "pipeline_id": pipeline["id"]}).json() == []
    assert api.get("/executions", params={"status": "bogus"}).status_code == 422
    assert api.get("/executions/nope").status_code == 404
    assert api.post("/pipelines/999999/run").status_code == 404


def test_manual_run_of_a_running_pipeline_is_refused(api: httpx.Client, ticker: str) -> None:
    pipeline = create_pipeline(api, f"busy-{ticker}", [ticker],
                               agents=[{"name": "market_data", "params": {"duration_ms": 2000}}])
    assert api.post(f"/pipelines/{pipeline['id']}/run").status_code == 202
    refused = api.post(f"/pipelines/{pipeline['id']}/run")
    assert refused.status_code == 409 and "already running" in refused.text


def test_health_readiness_and_openapi(api: httpx.Client) -> None:
    assert api.get("/health").json() == {"status": "ok"}
    assert api.get("/ready").json() == {"database": "ok", "redis": "ok"}
    spec = api.get("/openapi.json").json()
    assert {"/pipelines", "/pipelines/{pipeline_id}", "/pipelines/{pipeline_id}/run",
            "/executions", "/executions/{execution_id}", "/health", "/ready"} <= set(spec["paths"])
    assert api.get("/docs").status_code == 200
