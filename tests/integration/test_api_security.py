"""Nobody changes the platform without a write key: on the session's backend (PostgreSQL).

Every write route without a key answers 401 and the database is unchanged; a read key reads
but cannot write (403); a revoked key stops at the next request; a cross-site form POST (what
a web page can send without CORS: no Authorization header) does nothing; a foreign Host header
is refused; the OpenAPI page documents the bearer scheme.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from services.shared.api_keys import revoke_key
from services.shared.db import ApiKey, ApiRole, Execution, Pipeline, session_scope
from tests.support.platform import api_client, create_pipeline, new_key
from tradetrace.platform import Platform


def _write_routes(pipeline_id: int) -> list[tuple[str, str, dict | None]]:
    return [("POST", "/pipelines", {"name": "intruder", "tickers": ["AAPL"],
                                    "agents": [{"name": "market_data"}]}),
            ("PATCH", f"/pipelines/{pipeline_id}", {"enabled": False}),
            ("POST", f"/pipelines/{pipeline_id}/enable", None),
            ("POST", f"/pipelines/{pipeline_id}/disable", None),
            ("POST", f"/pipelines/{pipeline_id}/run", None),
            ("DELETE", f"/pipelines/{pipeline_id}", None)]


def _snapshot(settings) -> tuple:
    """What a write could change: every pipeline row and the number of executions."""
    with session_scope(settings.database_url) as session:
        pipelines = [(p.id, p.name, p.enabled, p.updated_at)
                     for p in session.scalars(select(Pipeline).order_by(Pipeline.id))]
        return pipelines, session.scalar(select(func.count()).select_from(Execution))


@pytest.fixture
def target(api: httpx.Client, ticker: str) -> int:
    return create_pipeline(api, f"guarded-{ticker}", [ticker])["id"]


def test_without_a_key_every_write_is_refused_and_nothing_changes(
        platform: Platform, settings, target: int) -> None:
    before = _snapshot(settings)
    with httpx.Client(base_url=platform.backend_url, timeout=10) as anonymous:
        for method, path, body in _write_routes(target):
            response = anonymous.request(method, path, json=body)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "API key" in response.json()["detail"]
        assert anonymous.get("/pipelines").status_code == 401
        assert anonymous.get("/executions").status_code == 401
        assert anonymous.get("/health").status_code == 200
        wrong = anonymous.post("/pipelines", headers={"Authorization": "Bearer tt_guessed"})
        assert wrong.status_code == 401
    assert _snapshot(settings) == before


def test_a_read_key_reads_and_cannot_write(platform: Platform, settings, target: int) -> None:
    before = _snapshot(settings)
    with api_client(platform, ApiRole.READ) as reader:
        assert reader.get(f"/pipelines/{target}").status_code == 200
        assert reader.get("/executions", params={"pipeline_id": target}).status_code == 200
        for method, path, body in _write_routes(target):
            response = reader.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert "needs a write key" in response.json()["detail"]
    assert _snapshot(settings) == before


def test_a_revoked_key_stops_at_once(platform: Platform, settings, target: int) -> None:
    key = new_key(settings.database_url, ApiRole.WRITE, "to-revoke")
    with httpx.Client(base_url=platform.backend_url, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.post(f"/pipelines/{target}/disable").status_code == 200
        with session_scope(settings.database_url) as session:
            row = session.scalar(select(ApiKey).where(ApiKey.name == "to-revoke")
                                 .order_by(ApiKey.id.desc()))
            revoke_key(session, row.id)
        response = client.post(f"/pipelines/{target}/enable")
        assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_cross_site_form_post_does_nothing(platform: Platform, settings, target: int) -> None:
    """What an HTML form on another site can send: a urlencoded body, an Origin, a cookie at
    most; never an Authorization header. Nor does the backend grant that origin CORS."""
    before = _snapshot(settings)
    with httpx.Client(base_url=platform.backend_url, timeout=10) as browser:
        for path in (f"/pipelines/{target}/run", f"/pipelines/{target}/disable"):
            response = browser.post(path, data={"x": "1"}, headers={
                "Origin": "https://evil.example", "Cookie": "session=stolen"})
            assert response.status_code == 401
            assert "access-control-allow-origin" not in response.headers
        preflight = browser.options(f"/pipelines/{target}/run", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization"})
        assert "access-control-allow-origin" not in preflight.headers
    assert _snapshot(settings) == before


def test_a_foreign_host_header_is_refused(platform: Platform, api: httpx.Client) -> None:
    """DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends Host: evil.example."""
    response = api.get("/pipelines", headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert api.get("/pipelines").status_code == 200


def test_the_openapi_page_documents_the_bearer_scheme(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"HTTPBearer": []} in spec["paths"]["/pipelines"]["post"]["security"]
