"""Prometheus' rules are valid, and their unit tests (promtool test rules) pass."""

from __future__ import annotations

import subprocess

import pytest

from tradetrace.stack.components.prometheus import cached_binary
from tradetrace.stack.paths import REPO_ROOT

PROMETHEUS = REPO_ROOT / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = cached_binary("promtool")
    assert path.exists(), "promtool is built with Prometheus: run `tradetrace stack install`"
    return str(path)


@pytest.mark.parametrize("args", [
    ["check", "config", "prometheus.yml"],
    ["check", "rules", "rules/recording.yml", "rules/alerts.yml"],
    ["test", "rules", "tests/alerts_test.yml"],
])
def test_promtool(promtool: str, args: list[str]) -> None:
    result = subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
