"""The CLI's contract with its users: a version, JSON for scripts, one line for a mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tracing.settings import package_version
from tradetrace.cli import app
from tradetrace.stack.components import Redis
from tradetrace.stack.stack import components

runner = CliRunner()


def test_version_is_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"tradetrace {package_version()}"
    assert package_version() != "0.0.0"      # installed, so the metadata is there


@pytest.mark.parametrize("argv", [["signal", "emit", "--ticker", "not a ticker!"],
                                  ["signal", "emit", "--ticker", "AAPL", "--type", "hunch"],
                                  ["services", "up", "no-such-service"]])
def test_a_users_mistake_is_one_line_and_exit_2(argv: list[str]) -> None:
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_stack_status_as_json_lists_every_component(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRADETRACE_STATE_DIR", str(tmp_path))   # nothing runs there
    result = runner.invoke(app, ["stack", "status", "--json"])
    rows = json.loads(result.stdout)
    assert result.exit_code == 1                                # not healthy: a script can tell
    assert [r["component"] for r in rows] == [c.name for c in components()]
    redis = next(r for r in rows if r["component"] == "redis")
    assert (redis["pid"], redis["state"], redis["healthy"]) == (None, "stopped", False)
    assert redis["port"] == Redis().port
    assert redis["log"].startswith(str(tmp_path))


def test_keys_are_created_once_listed_without_the_key_and_revoked(tmp_path: Path,
                                                                  monkeypatch) -> None:
    from services.shared.api_keys import find_key
    from services.shared.db import session_scope
    from tradetrace.cli.context import settings as _settings

    url = f"sqlite:///{tmp_path / 'keys.db'}"
    monkeypatch.setenv("TRADETRACE_DATABASE_URL", url)
    _settings.cache_clear()
    try:
        created = runner.invoke(app, ["keys", "create", "--role", "write", "--name", "bot"])
        assert created.exit_code == 0, created.output
        key = next(line for line in created.stdout.splitlines() if line.startswith("tt_"))
        listed = json.loads(runner.invoke(app, ["keys", "list", "--json"]).stdout)
        assert [(k["name"], k["role"], k["revoked_at"]) for k in listed] == [("bot", "write", None)]
        assert key not in json.dumps(listed) and key.startswith(listed[0]["prefix"])
        assert runner.invoke(app, ["keys", "revoke", str(listed[0]["id"])]).exit_code == 0
        with session_scope(url) as session:
            assert find_key(session, key) is None
        assert runner.invoke(app, ["keys", "create", "--role", "admin"]).exit_code == 2
    finally:
        _settings.cache_clear()


def test_a_pipelines_objective_is_shown_set_checked_and_cleared(tmp_path: Path,
                                                                 monkeypatch) -> None:
    from services.backend.migrate import upgrade
    from services.shared.db import Pipeline, TriggerMode, session_scope
    from tradetrace.cli.context import settings as _settings

    url = f"sqlite:///{tmp_path / 'objectives.db'}"
    monkeypatch.setenv("TRADETRACE_DATABASE_URL", url)
    monkeypatch.setenv("TRADETRACE_LATENCY_OBJECTIVE_MS", "500")
    _settings.cache_clear()
    upgrade(url)
    with session_scope(url) as session:
        session.add(Pipeline(name="p", tickers=["AAPL"], trigger_mode=TriggerMode.SIGNAL,
                             agents=[{"name": "market_data"}]))
    try:
        def shown(*argv: str) -> dict:
            result = runner.invoke(app, ["pipelines", "objective", "1", *argv, "--json"])
            assert result.exit_code == 0, result.output
            return json.loads(result.stdout)

        assert shown()["start_within_ms"] == 500 and shown()["own"]["target"] is None
        assert shown("--start-within-ms", "50")["own"] == {"start_within_ms": 50, "target": None}
        assert shown("--target", "0.999") | {"name": "p"} == {
            "pipeline_id": 1, "name": "p", "start_within_ms": 50, "target": 0.999,
            "own": {"start_within_ms": 50, "target": 0.999}}
        for wrong in (["--target", "1.5"], ["--start-within-ms", "0"], ["--default", "--target",
                                                                       "0.9"]):
            result = runner.invoke(app, ["pipelines", "objective", "1", *wrong])
            assert result.exit_code == 2 and result.stderr.startswith("error: "), wrong
        assert shown()["target"] == 0.999                      # a refused change changed nothing
        assert shown("--default")["own"] == {"start_within_ms": None, "target": None}
        assert runner.invoke(app, ["pipelines", "objective", "2"]).exit_code == 2
    finally:
        _settings.cache_clear()
