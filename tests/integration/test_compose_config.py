"""`docker compose config` on docker-compose.yml, by Docker Compose itself (the plugin where
installed, else our build of it: tradetrace/stack/compose_cli.py). No container is started."""

from __future__ import annotations

import json
import re
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
    assert "--no-web.enable-remote-write-receiver" in services["prometheus"]["command"]
    assert "pg-secret@postgres:5432" in services["worker"]["environment"][
        "TRADETRACE_DATABASE_URL"]
    assert services["worker"]["environment"]["TRADETRACE_REDIS_URL"] == \
        "redis://:rd-secret@redis:6379/0"
    assert "rd-secret" not in json.dumps(services["redis"]["command"])   # not on its argv

    with_tempo = _config(compose, env_file, "--profile", "tempo")
    assert with_tempo.returncode == 0, with_tempo.stderr
    assert "tempo" in json.loads(with_tempo.stdout)["services"]
    assert not {"cassandra", "gateway-1", "worker-2"} & set(services)


def _example_block(marker: str) -> list[str]:
    """The commented `NAME=value` lines of the .env.example paragraph holding `marker`,
    uncommented, as a user following it would."""
    example = (REPO_ROOT / ".env.example").read_text()
    [block] = [b for b in example.split("\n\n") if marker in b]
    return [line.removeprefix("# ") for line in block.splitlines()
            if re.match(r"# [A-Z_]+=", line)]


def _config_with(compose: list[str], tmp_path: Path, lines: list[str]) -> dict:
    env_file = tmp_path / ".env"
    env_file.write_text("POSTGRES_PASSWORD=pg\nGRAFANA_ADMIN_PASSWORD=gf\nREDIS_PASSWORD=rd\n"
                        + "\n".join(lines) + "\n")
    result = _config(compose, env_file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def test_compose_accepts_the_scale_profile_as_env_example_describes_it(
        compose: list[str], tmp_path: Path) -> None:
    """The four commented lines of .env.example, uncommented: the agent, the gateways,
    Jaeger on Cassandra, the second dispatcher and worker, Prometheus taking pushes."""
    scale_lines = _example_block("COMPOSE_PROFILES=scale")
    assert len(scale_lines) == 4
    services = _config_with(compose, tmp_path, scale_lines)
    assert {"cassandra", "bus-topics", "gateway-1", "gateway-2", "worker-2",
            "trigger-dispatcher-2"} <= set(services)
    assert "--config=/etc/otelcol/agent.yaml" in services["otel-collector"]["command"]
    assert "--config=/etc/jaeger/cassandra.yaml" in services["jaeger"]["command"]
    assert "--web.enable-remote-write-receiver" in services["prometheus"]["command"]


@pytest.mark.parametrize(("cloud", "variable"), [("azure", "AZURE_MONITOR_TRACES_ENDPOINT"),
                                                 ("gcp", "GOOGLE_CLOUD_PROJECT")])
def test_compose_takes_the_cloud_profile_from_env(compose: list[str], tmp_path: Path,
                                                  cloud: str, variable: str) -> None:
    """The cloud's paragraph of .env.example, filled in: every service on the profile, the
    collector on its overlay with what the paragraph names (and on Azure the token refresher
    beside it)."""
    lines = [line if not line.endswith("=") else f"{line}example-{line[:-1].lower()}"
             for line in _example_block(f"COLLECTOR_OVERLAY=/etc/otelcol/{cloud}.yaml")]
    services = _config_with(compose, tmp_path, lines)
    assert ("azure-token" in services) == (cloud == "azure")
    for name in ("backend", "worker", "trigger-dispatcher", "signal-generator", "beat"):
        assert services[name]["environment"]["TRADETRACE_PROFILE"] == cloud, name
    collector = services["otel-collector"]
    assert f"--config=/etc/otelcol/{cloud}.yaml" in collector["command"]
    assert collector["environment"][variable] == f"example-{variable.lower()}"


def test_compose_refuses_to_start_without_the_passwords(compose: list[str],
                                                        tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("")
    result = _config(compose, env_file)
    assert result.returncode != 0
    assert any(f"set {name} in .env" in result.stderr
               for name in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD", "REDIS_PASSWORD"))
