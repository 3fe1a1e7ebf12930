"""Jaeger v2, built with Go from its module in a tools module of its own (jaeger/go.mod)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError, http_ok
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, free_port, port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, run

JAEGER_DIR = REPO_ROOT / "jaeger"
CONFIG = JAEGER_DIR / "config.yaml"
# Where the traces are kept, merged over CONFIG: one of these.
BADGER = JAEGER_DIR / "badger.yaml"           # embedded, on disk in the state (the default)
CASSANDRA = JAEGER_DIR / "cassandra.yaml"     # the scale profile's shared store
PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger"


def jaeger_version() -> str:
    """The Jaeger module version required by the tools module (v1.76.0 is Jaeger v2.13.0)."""
    match = re.search(r"github\.com/jaegertracing/jaeger (v\S+)",
                      (JAEGER_DIR / "go.mod").read_text())
    if not match:
        raise StackError("jaeger: no github.com/jaegertracing/jaeger requirement in jaeger/go.mod")
    return match.group(1).removeprefix("v")


def jaeger_release() -> str:
    """The Jaeger v2 release of that module version: each v2.N is tagged with v1.(N+63)."""
    major, minor, patch = jaeger_version().split(".")
    return f"2.{int(minor) - 63}.{patch}"


def query_url() -> str:
    return f"http://{HOST}:{port('jaeger', 'query HTTP')}"


class Jaeger(Component):
    name = "jaeger"
    startup_timeout = 60.0      # Badger opens (and may replay) its store first

    def __init__(self, state: Path | None = None,
                 configs: tuple[Path, ...] = (CONFIG, BADGER)) -> None:
        super().__init__(state)
        self.configs = configs   # merged in order: a later file overrides an earlier one
        if CASSANDRA in configs:
            self.starts_after = ("cassandra",)   # Jaeger exits when its store is not there

    @property
    def artifact(self) -> Path:
        key = content_key(JAEGER_DIR / "go.mod", JAEGER_DIR / "go.sum")
        return cache_dir() / f"jaeger-{jaeger_version()}-{key}" / "jaeger"

    def build(self, staging: Path) -> None:
        go = require_program(self.name, "go", "to build Jaeger")
        run("jaeger: go build", [go, "build", "-o", str(staging / "jaeger"), PACKAGE],
            self.install_log, cwd=JAEGER_DIR, env={"CGO_ENABLED": "0"})

    def launch(self) -> Launch:
        # Jaeger's query service traces its own API calls to localhost:4317, our collector:
        # they would show up as a "jaeger" service in the RED metrics and dashboards.
        return Launch([str(self.artifact), *(f"--config={config}" for config in self.configs)],
                      env={"OTEL_TRACES_SAMPLER": "always_off",
                           "JAEGER_BADGER_DIR": str(self.data_dir / "badger")})

    def healthy(self) -> bool:
        return http_ok(f"{query_url()}/api/services")


class JaegerOnOwnPorts(Jaeger):
    """A second Jaeger of our build on free ports beside the stack's (a test's own trace store,
    e.g. on Cassandra): `env` sets its configs' variables."""

    def __init__(self, state: Path, configs: tuple[Path, ...] = (CONFIG, BADGER),
                 env: dict[str, str] | None = None) -> None:
        super().__init__(state, configs)
        self.query_http, self.query_grpc, self.otlp_grpc, self.otlp_http, self.health, \
            self.self_metrics = (free_port() for _ in range(6))
        self.env = env or {}

    @property
    def query_url(self) -> str:
        return f"http://{HOST}:{self.query_http}"

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"{HOST}:{self.otlp_grpc}"

    def ports(self) -> list[int]:
        return [self.query_http, self.query_grpc, self.otlp_grpc, self.otlp_http, self.health,
                self.self_metrics]

    def launch(self) -> Launch:
        launch = super().launch()
        return replace(launch, env={
            **(launch.env or {}),
            "JAEGER_QUERY_HTTP_ENDPOINT": f"{HOST}:{self.query_http}",
            "JAEGER_QUERY_GRPC_ENDPOINT": f"{HOST}:{self.query_grpc}",
            "JAEGER_OTLP_GRPC_ENDPOINT": f"{HOST}:{self.otlp_grpc}",
            "JAEGER_OTLP_HTTP_ENDPOINT": f"{HOST}:{self.otlp_http}",
            "JAEGER_HEALTH_ENDPOINT": f"{HOST}:{self.health}",
            "JAEGER_SELF_METRICS_PORT": str(self.self_metrics),
            **self.env,
        })

    def healthy(self) -> bool:
        return http_ok(f"{self.query_url}/api/services")
