"""Jaeger v2, built with Go from its module in a tools module of its own (jaeger/go.mod)."""

from __future__ import annotations

import re
from pathlib import Path

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError, http_ok
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, run

JAEGER_DIR = REPO_ROOT / "jaeger"
CONFIG = JAEGER_DIR / "config.yaml"
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
        return Launch([str(self.artifact), f"--config={CONFIG}"],
                      env={"OTEL_TRACES_SAMPLER": "always_off",
                           "JAEGER_BADGER_DIR": str(self.data_dir / "badger")})

    def healthy(self) -> bool:
        return http_ok(f"{query_url()}/api/services")
