"""Every collector profile's files, as the docs start them, pass the built binary's own
`validate` (the configuration merged, every component known to the build and configured as
its factory accepts), with the variables each file requires given placeholder values."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tradetrace.stack import Stack
from tradetrace.stack.components.collector import (
    AWS_OVERLAY,
    AZURE_OVERLAY,
    CONFIG,
    GCP_OVERLAY,
    Collector,
)

PROFILES = {
    "aws": (AWS_OVERLAY, {
        "AWS_REGION": "us-east-1",
        # sigv4auth resolves its credentials when it is built, as at start-up.
        "AWS_ACCESS_KEY_ID": "AKIDPLACEHOLDER", "AWS_SECRET_ACCESS_KEY": "placeholder",
        "AMP_REMOTE_WRITE_ENDPOINT": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/"
                                     "ws-0/api/v1/remote_write",
        "CLOUDWATCH_LOGS_ENDPOINT": "https://logs.us-east-1.amazonaws.com/v1/logs",
    }),
    "azure": (AZURE_OVERLAY, {
        "AZURE_MONITOR_TRACES_ENDPOINT": "https://ingest.example.azure.com/v1/traces",
        "AZURE_MONITOR_LOGS_ENDPOINT": "https://ingest.example.azure.com/v1/logs",
        "AZURE_MONITOR_REMOTE_WRITE_ENDPOINT": "https://dce.eastus.metrics.ingest.monitor."
                                               "azure.com/dataCollectionRules/dcr-0/streams/"
                                               "Microsoft-PrometheusMetrics/api/v1/write",
        "AZURE_MONITOR_TOKEN_FILE": "/var/run/secrets/azure-monitor/token",
    }),
    "gcp": (GCP_OVERLAY, {}),       # every variable has Google's default
}


def _validate(configs: list[Path], variables: dict[str, str],
              queue: Path) -> subprocess.CompletedProcess:
    command = [str(Collector().artifact), "validate", *(f"--config={c}" for c in configs)]
    env = {"PATH": os.environ["PATH"], "COLLECTOR_QUEUE_DIR": str(queue), **variables}
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_profile_overlay_validates_with_the_built_collector(
        stack: Stack, profile: str, tmp_path: Path) -> None:
    overlay, variables = PROFILES[profile]
    result = _validate([CONFIG, overlay], variables, tmp_path)
    assert result.returncode == 0, result.stderr


def test_validate_refuses_a_component_the_build_does_not_have(stack: Stack,
                                                              tmp_path: Path) -> None:
    """What the check above is worth: Azure's preferred exporter is not in our build."""
    overlay = tmp_path / "azuremonitor.yaml"
    overlay.write_text("exporters:\n  azuremonitor: {}\n"
                       "service:\n  pipelines:\n    traces/store:\n"
                       "      exporters: [azuremonitor]\n")
    result = _validate([CONFIG, overlay], {}, tmp_path)
    assert result.returncode != 0 and "azuremonitor" in result.stderr
