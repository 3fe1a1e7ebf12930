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
