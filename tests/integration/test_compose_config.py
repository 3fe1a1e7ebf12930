"""`docker compose config` on docker-compose.yml, by Docker Compose itself (the plugin where
installed, else our build of it: tradetrace/stack/compose_cli.py). No container is started."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tradetrace.stack.compose_cli import compose_command
from tradetrace.stack.paths import REPO_ROOT


@pytest.fixture(scope="session")
def compose() -> list[str]:
    return compose_command()


def _config(compose: list[str], env_file: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([*compose, "--env-file", str(env_file), "-f",
                           str(REPO_ROOT / "docker-compose.yml"), *options, "config",
                           "--format", "json"], capture_output=True, text=True, timeout=60)


def test_compose_accepts_the_file_with_and_without_the_tempo_profile(compose: list[str],
                                                                       tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("POSTGRES_PASSWORD=pg-secret\nGRAFANA_ADMIN_PASSWORD=gf-secret\n"
                        "REDIS_PASSWORD=rd-secret\n")
    default = _config(compose, env_file)
    assert default.returncode == 0, default.stderr
    services = json.loads(default.stdout)["services"]
    assert "tempo" not in services and {"kafka", "otel-collector", "grafana"} <= set(services)
    assert "pg-secret@postgres:5432" in services["worker"]["environment"][
        "TRADETRACE_DATABASE_URL"]
    assert services["worker"]["environment"]["TRADETRACE_REDIS_URL"] == \
        "redis://:rd-secret@redis:6379/0"
    assert "rd-secret" not in json.dumps(services["redis"]["command"])   # not on its argv

    with_tempo = _config(compose, env_file, "--profile", "tempo")
    assert with_tempo.returncode == 0, with_tempo.stderr
    assert "tempo" in json.loads(with_tempo.stdout)["services"]


def test_compose_refuses_to_start_without_the_passwords(compose: list[str],
                                                        tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    result = _config(compose, env_file)
    assert result.returncode != 0
    assert any(f"set {name} in .env" in result.stderr
               for name in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "REDIS_PASSWORD"))
