"""Prometheus 3, built with Go from its module in a tools module of its own
(prometheus/go.mod, as Jaeger is), scraping the collector, with exemplar storage on.

Debian 12 packages 2.42 (early 2023): no created timestamps, no native histograms, no OTLP
receiver. The build is the server and promtool (the rules' unit tests), without the web UI's
assets (its API is what the stack, the tests and Grafana read) and without the service
discovery plugins (`remove_all_sd`: the stack's targets are static; Kubernetes', the clouds'
and the others' clients were half the build, ~7 -> ~4 min cold here).
"""

from __future__ import annotations

import re
from pathlib import Path

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError, http_ok
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, free_port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, run

PROMETHEUS_DIR = REPO_ROOT / "prometheus"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
PACKAGES = ("github.com/prometheus/prometheus/cmd/prometheus",
            "github.com/prometheus/prometheus/cmd/promtool")


def prometheus_release() -> str:
    """The Prometheus release of the tools module's requirement: module v0.3MM.P is 3.MM.P."""
    match = re.search(r"github\.com/prometheus/prometheus v0\.(\d)(\d\d)\.(\d+)",
                      (PROMETHEUS_DIR / "go.mod").read_text())
    if not match:
        raise StackError("prometheus: no github.com/prometheus/prometheus requirement in "
                         "prometheus/go.mod")
    major, minor, patch = match.groups()
    return f"{major}.{int(minor)}.{patch}"


def cached_binary(name: str) -> Path:
    """A program of the build in the cache (`prometheus` or `promtool`)."""
    key = content_key(PROMETHEUS_DIR / "go.mod", PROMETHEUS_DIR / "go.sum")
    return cache_dir() / f"prometheus-{prometheus_release()}-{key}" / name


class Prometheus(Component):
    name = "prometheus"
    # It replays its write-ahead log before it answers: seconds on a fresh machine, more than
    # 30 s here after a day of test sessions (15 days of retention hold much more).
    startup_timeout = 180.0

    def __init__(self, state: Path | None = None, config: Path = CONFIG,
                 remote_write_receiver: bool = False) -> None:
        super().__init__(state)
        self.config = config
        self.remote_write_receiver = remote_write_receiver

    @property
    def artifact(self) -> Path:
        return cached_binary("prometheus")

    def build(self, staging: Path) -> None:
        go = require_program(self.name, "go", "to build Prometheus")
        # The release stamped where Prometheus reports it (/api/v1/status/buildinfo).
        stamp = f"-X github.com/prometheus/common/version.Version={prometheus_release()}"
        run("prometheus: go build", [go, "build", "-tags=remove_all_sd", f"-ldflags={stamp}",
                                     "-o", f"{staging}/", *PACKAGES],
            self.install_log, cwd=PROMETHEUS_DIR, env={"CGO_ENABLED": "0"})

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def remote_write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def launch(self) -> Launch:
        # No lifecycle (/-/quit, /-/reload) nor admin API: nobody on this machine stops it.
        # The remote-write receiver only where something pushes: the scale profile's gateways
        # (their derived counters), a test standing in for Amazon Managed Prometheus.
        receiver = ["--web.enable-remote-write-receiver"] if self.remote_write_receiver else []
        return Launch([
            str(self.artifact),
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address={HOST}:{self.port}",
            "--enable-feature=exemplar-storage",
            *receiver,
        ])

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/-/ready")


class PrometheusOnOwnPort(Prometheus):
    """A second Prometheus on a free port beside the stack's, with a config of its own (a
    test's targets and rules: the alerts tier loads the rules with short windows), and its
    remote-write receiver on where a test stands it in for Amazon Managed Prometheus."""

    def __init__(self, state: Path, config: Path, remote_write_receiver: bool = False) -> None:
        super().__init__(state, config, remote_write_receiver)
        self.own_port = free_port()

    def ports(self) -> list[int]:
        return [self.own_port]
