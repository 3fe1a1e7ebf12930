"""Arbitrary input never breaks the API or the signal parser: 4xx with a message, never a 500.

Hypothesis drives the backend (on SQLite, with a write key) with arbitrary JSON bodies, ids
and query strings, and the signal parser with arbitrary bytes and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.backend.app import create_app
from services.backend.migrate import upgrade
from services.shared.api_keys import create_key
from services.shared.db import ApiRole, session_scope
from services.shared.settings import Settings
from services.shared.signals import InvalidSignal, Signal, parse_signal

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=20)
# Bodies shaped like a pipeline, each field arbitrary: the validators get exercised, not
# only the "not an object" answer.
PIPELINE_LIKE = st.fixed_dictionaries({}, optional={
    "name": JSON | st.text(), "tickers": JSON | st.lists(st.text(max_size=12), max_size=5),
    "trigger_mode": JSON | st.sampled_from(["signal", "periodic", "manual"]),
    "interval_seconds": JSON, "enabled": JSON,
    "agents": JSON | st.lists(st.fixed_dictionaries(
        {"name": st.sampled_from(["market_data", "risk_check", "nope"]) | st.text()},
        optional={"params": st.dictionaries(
            st.sampled_from(["duration_ms", "fail", "failure_rate", "transient_failures",
                             "min_strength", "quantity"]) | st.text(), JSON)}),
        max_size=3)})
QUERY = st.dictionaries(st.sampled_from(["pipeline_id", "status", "signal_id", "trace_id",
                                         "limit", "ticker", "enabled", "trigger_mode"]),
                        st.text(max_size=20), max_size=4)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'tradetrace.db'}"
    upgrade(url)
    with session_scope(url) as session:
        _, key = create_key(session, ApiRole.WRITE, "fuzz")
    app = create_app(Settings(database_url=url, redis_url="redis://127.0.0.1:1/0"))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False,
                    headers={"Authorization": f"Bearer {key}"}) as client:
        yield client


def _answered_with_a_message(response) -> None:
    assert response.status_code < 500 or response.status_code == 503, response.text
    if response.status_code >= 400:
        assert response.json()["detail"], response.text


@FUZZ
@given(body=PIPELINE_LIKE | JSON)
def test_creating_and_updating_pipelines_with_anything(api: TestClient, body) -> None:
    created = api.post("/pipelines", json=body)
    _answered_with_a_message(created)
    _answered_with_a_message(api.patch("/pipelines/1", json=body))
    if created.status_code == 201:
        assert api.delete(f"/pipelines/{created.json()['id']}").status_code == 204


@FUZZ
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded"]))
def test_bodies_that_are_not_json(api: TestClient, raw: bytes, content_type: str) -> None:
    _answered_with_a_message(api.post("/pipelines", content=raw,
                                      headers={"Content-Type": content_type}))


@FUZZ
@given(segment=st.text(max_size=30), query=QUERY)
def test_ids_and_queries_of_any_kind(api: TestClient, segment: str, query: dict) -> None:
    segment = quote(segment, safe="")                 # any characters, as a client sends them
    for path in (f"/pipelines/{segment}", f"/executions/{segment}", "/executions",
                 "/pipelines"):
        _answered_with_a_message(api.get(path, params=query))


def test_a_body_over_the_limit_is_refused_unread(api: TestClient) -> None:
    response = api.post("/pipelines", content=b"{" + b" " * 70_000 + b"}",
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "over" in response.json()["detail"]


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=400) | JSON.map(lambda v: json.dumps(v).encode()))
def test_the_signal_parser_takes_anything(payload: bytes) -> None:
    try:
        assert isinstance(parse_signal(payload), Signal)
    except InvalidSignal as invalid:
        assert invalid.reason

