"""Our OpenTelemetry Collector distribution, built by the Collector Builder from builder.yaml."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from tradetrace.stack.components.base import Component
from tradetrace.stack.health import StackError, http_ok
from tradetrace.stack.paths import REPO_ROOT, cache_dir, content_key
from tradetrace.stack.ports import HOST, free_port, port
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import require_program, run

COLLECTOR_DIR = REPO_ROOT / "collector"
MANIFEST = COLLECTOR_DIR / "builder.yaml"
CONFIG = COLLECTOR_DIR / "spanmetrics.yaml"
AWS_OVERLAY = COLLECTOR_DIR / "aws.yaml"   # with CONFIG: the AWS profile's exporters
AZURE_OVERLAY = COLLECTOR_DIR / "azure.yaml"   # with CONFIG: the Azure profile's exporters
GCP_OVERLAY = COLLECTOR_DIR / "gcp.yaml"   # with CONFIG: the Google Cloud profile's exporters
BINARY_NAME = "otelcol-tradetrace"

# Modules the Go module proxy serves but whose checksum-database entry it does not, at our
# release. Go refuses such a module unless told not to look it up; we exempt only these.
UNVERIFIED_MODULES = (
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/servicegraphconnector",
)

# Modules of the manifest held on an older release than core, each because the proxy here
# serves no build of it at the core's release (the README explains the choice of release).
HELD_BACK = {
    "github.com/open-telemetry/opentelemetry-collector-contrib/connector/signaltometricsconnector":
        "v0.158.0",
}

# Dependencies of the manifest's modules replaced by another release (`replaces:`), each
# because the proxy here does not serve the one the module requires.
REPLACED = {
    # kafkareceiver v0.159.0 requires v0.159.0, not served; v0.155.0 has the same API.
    "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/azure":
        "v0.155.0",
    # googlemanagedprometheusexporter v0.159.0 requires v0.59.0, not served; v0.60.0 builds.
    "github.com/GoogleCloudPlatform/opentelemetry-operations-go/exporter/collector/"
    "googlemanagedprometheus": "v0.60.0",
}


def collector_release(manifest: Path = MANIFEST) -> str:
    """The one core release (e.g. 0.158.0) that every core module of the manifest is on.

    The builder must be the same release as core, so this also picks the builder version.
    """
    spec = yaml.safe_load(manifest.read_text())
    versions = {
        line["gomod"].split()[1]
        for kind in ("receivers", "processors", "exporters", "connectors", "extensions")
        for line in spec.get(kind, [])
        if line["gomod"].startswith("go.opentelemetry.io/collector/")
    }
    if len(versions) != 1:
        raise StackError(f"collector: core modules on several releases {sorted(versions)}")
    return versions.pop().removeprefix("v")


class Collector(Component):
    name = "collector"
    startup_timeout = 30.0

    def __init__(self, state: Path | None = None, configs: tuple[Path, ...] = (CONFIG,)) -> None:
        super().__init__(state)
        self.configs = configs   # merged in order: a later file overrides an earlier one

    @property
    def artifact(self) -> Path:
        key = content_key(MANIFEST)
        return cache_dir() / f"otelcol-{collector_release()}-{key}" / BINARY_NAME

    def build(self, staging: Path) -> None:
        builder = self._builder()
        spec = yaml.safe_load(MANIFEST.read_text())
        spec["dist"]["output_path"] = str(staging / "src")
        (staging / "builder.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        run("collector: build with the OpenTelemetry Collector Builder",
            [str(builder), f"--config={staging / 'builder.yaml'}"],
            self.install_log, cwd=staging,
            env={"GONOSUMDB": ",".join(UNVERIFIED_MODULES), "CGO_ENABLED": "0"})
        (staging / "src" / BINARY_NAME).rename(staging / BINARY_NAME)
        shutil.rmtree(staging / "src")

    def _builder(self) -> Path:
        """The builder (ocb) at the collector's release, installed with `go install`."""
        release = collector_release()
        bin_dir = cache_dir() / f"ocb-{release}"
        builder = bin_dir / "builder"
        if not builder.is_file():
            go = require_program(self.name, "go", "to install the Collector Builder")
            run(f"collector: install the Collector Builder v{release}",
                [go, "install", f"go.opentelemetry.io/collector/cmd/builder@v{release}"],
                self.install_log, env={"GOBIN": str(bin_dir)}, cwd=cache_dir())
        return builder

    def launch(self) -> Launch:
        return Launch([
            str(self.artifact), *(f"--config={config}" for config in self.configs),
            # One collector: a fresh collector.instance.id label on every restart would only
            # split every span-metrics series in two.
            "--feature-gates=-connector.spanmetrics.includeCollectorInstanceID",
        ], env={"COLLECTOR_QUEUE_DIR": str(self.data_dir / "queue")})

    def healthy(self) -> bool:
        return http_ok(f"http://{HOST}:{port('collector', 'health')}/")


@dataclass(frozen=True)
class CollectorPorts:
    """The ports one collector binds (its configs read them from the environment)."""

    grpc: int
    http: int
    exporter: int
    health: int
    self_metrics: int

    @classmethod
    def free(cls) -> CollectorPorts:
        return cls(*(free_port() for _ in range(5)))


class CollectorOnOwnPorts(Collector):
    """Another collector of our binary and configs, on ports other than the stack's (by
    default free ones): a test's or a benchmark's beside the stack, or the scale profile's
    gateways. `env` sets its configs' variables."""

    def __init__(self, state: Path, configs: tuple[Path, ...] = (CONFIG,),
                 env: dict[str, str] | None = None, ports: CollectorPorts | None = None) -> None:
        super().__init__(state, configs)
        chosen = ports or CollectorPorts.free()
        self.grpc, self.http, self.exporter, self.health, self.self_metrics = (
            chosen.grpc, chosen.http, chosen.exporter, chosen.health, chosen.self_metrics)
        self.env = env or {}

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"http://{HOST}:{self.grpc}"

    @property
    def metrics_url(self) -> str:
        """The span-derived metrics, as Prometheus scrapes them."""
        return f"http://{HOST}:{self.exporter}/metrics"

    @property
    def self_metrics_url(self) -> str:
        return f"http://{HOST}:{self.self_metrics}/metrics"

    def ports(self) -> list[int]:
        return [self.grpc, self.http, self.exporter, self.health, self.self_metrics]

    def launch(self) -> Launch:
        launch = super().launch()
        return replace(launch, env={
            **(launch.env or {}),
            "OTLP_GRPC_ENDPOINT": f"{HOST}:{self.grpc}",
            "OTLP_HTTP_ENDPOINT": f"{HOST}:{self.http}",
            "PROMETHEUS_EXPORTER_ENDPOINT": f"{HOST}:{self.exporter}",
            "HEALTH_CHECK_ENDPOINT": f"{HOST}:{self.health}",
            "SELF_METRICS_PORT": str(self.self_metrics),
            **self.env,
        })

    def healthy(self) -> bool:
        return http_ok(f"http://{HOST}:{self.health}/")
