"""A second collector, our binary and our configs, on ports of its own beside the stack's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.support.ports import free_port
from tradetrace.stack.components import Collector
from tradetrace.stack.components.collector import CONFIG
from tradetrace.stack.health import http_ok
from tradetrace.stack.process import Launch


class CollectorOnOwnPorts(Collector):
    def __init__(self, state: Path, configs: tuple[Path, ...] = (CONFIG,),
                 env: dict[str, str] | None = None) -> None:
        super().__init__(state, configs)
        self.grpc, self.http, self.exporter, self.health, self.self_metrics = (
            free_port() for _ in range(5))
        self.env = env or {}

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc}"

    def ports(self) -> list[int]:
        return [self.grpc, self.http, self.exporter, self.health, self.self_metrics]

    def launch(self) -> Launch:
        launch = super().launch()
        return replace(launch, env={
            **(launch.env or {}),
            "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{self.grpc}",
            "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{self.http}",
            "PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{self.exporter}",
            "HEALTH_CHECK_ENDPOINT": f"127.0.0.1:{self.health}",
            "SELF_METRICS_PORT": str(self.self_metrics),
            **self.env,
        })

    def healthy(self) -> bool:
        return http_ok(f"http://127.0.0.1:{self.health}/")
