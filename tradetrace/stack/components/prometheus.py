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

    def __init__(self, state: Path | None = None, config: Path = CONFIG) -> None:
        super().__init__(state)
        self.config = config

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def launch(self) -> Launch:
        return Launch([
            "prometheus",
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address={HOST}:{self.port}",
            "--enable-feature=exemplar-storage",
            # No lifecycle (/-/quit, /-/reload) nor admin API, and no remote-write receiver:
            # nobody on this machine stops it or writes series into it.
        ])

    def healthy(self) -> bool:
        return http_ok(f"{self.url}/-/ready")


class PrometheusOnOwnPort(Prometheus):
    """A second Prometheus on a free port beside the stack's, with a config of its own (a
    test's targets and rules: the alerts tier loads the rules with short windows), and its
    remote-write receiver on where a test stands it in for Amazon Managed Prometheus."""

    def __init__(self, state: Path, config: Path, remote_write_receiver: bool = False) -> None:
        super().__init__(state, config)
        self.own_port = free_port()
        self.remote_write_receiver = remote_write_receiver

    def ports(self) -> list[int]:
        return [self.own_port]

    def launch(self) -> Launch:
        launch = super().launch()
        if self.remote_write_receiver:
            launch.argv.append("--web.enable-remote-write-receiver")
        return launch
