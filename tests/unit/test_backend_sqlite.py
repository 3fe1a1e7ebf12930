"""SQLite, the embedded default: the migrations and the pipeline API work on it too."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from services.backend.app import create_app
from services.backend.migrate import upgrade
from services.shared.api_keys import create_key
from services.shared.db import ApiRole, session_scope
from services.shared.settings import Settings


def test_migrations_and_pipeline_api_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tradetrace.db'}"
    upgrade(url)
    upgrade(url)  # idempotent
    with session_scope(url) as session:
        _, key = create_key(session, ApiRole.WRITE, "unit")
    app = create_app(Settings(database_url=url, redis_url="redis://127.0.0.1:1/0"))
    with TestClient(app, base_url="http://127.0.0.1",
                    headers={"Authorization": f"Bearer {key}"}) as api:
        created = api.post("/pipelines", json={"name": "p", "tickers": ["AAPL"],
                                               "agents": [{"name": "market_data"}]})
        assert created.status_code == 201, created.text
        pipeline_id = created.json()["id"]
        assert api.patch(f"/pipelines/{pipeline_id}",
                         json={"trigger_mode": "periodic", "interval_seconds": 60}).json()[
            "trigger_mode"] == "periodic"
        assert api.get("/executions", params={"pipeline_id": pipeline_id}).json() == []
        assert api.delete(f"/pipelines/{pipeline_id}").status_code == 204
        assert api.get("/pipelines").json() == []
        assert api.get("/ready").status_code == 503   # Redis unreachable: not ready, says why
        assert api.get("/ready").json()["database"] == "ok"
