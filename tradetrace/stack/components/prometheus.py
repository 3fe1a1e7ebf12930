"""Prometheus from Debian's package, scraping the collector, with exemplar storage on."""

from __future__ import annotations

from pathlib import Path

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import http_ok
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import HOST, free_port
from tradetrace.stack.process import Launch

CONFIG = REPO_ROOT / "prometheus" / "prometheus.yml"


class Prometheus(Component):
    name = "prometheus"
    debian_package = "prometheus"
    # It replays its write-ahead log before it answers: seconds on a fresh machine, more than
    # 30 s here after a day of test sessions (15 days of retention hold much more).
    startup_timeout = 180.0

    def __init__(self, state: Path | None = None, config: Path = CONFIG,
                 remote_write_receiver: bool = False) -> None:
        super().__init__(state)
        self.config = config
        self.remote_write_receiver = remote_write_receiver

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
            "prometheus",
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
