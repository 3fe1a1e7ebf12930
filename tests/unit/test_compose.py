"""docker-compose.yml against the project: containers cannot run here, so the file is checked
for what would break them: missing mounts, variables no one reads, addresses that point at
nothing, and versions that differ from the native stack's. Docker Compose's own check of the
file is in tests/integration/test_compose_config.py."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import yaml

from services.shared.settings import Settings
from tracing.settings import package_version
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import port
from tradetrace.stack.scale import TelemetryBus
from tradetrace.stack.versions import native_versions

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# The azure profile's token refresher: built from the services' image, but beside the collector.
SIDECARS = {"azure-token"}
PYTHON_SERVICES = [name for name, s in SERVICES.items()
                   if s.get("build") == "." and name not in SIDECARS]
# Read by the OpenTelemetry SDK and exporters the services use.
OTEL_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
                  "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SDK_DISABLED",
                  "OTEL_METRIC_EXPORT_INTERVAL", "OTEL_BSP_SCHEDULE_DELAY", "OTEL_PROPAGATORS"}


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def _image_tag(service: str) -> str:
    return SERVICES[service]["image"].rsplit(":", 1)[1]


def _config_variables(*paths: str) -> set[str]:
    """The variables a collector or Jaeger config reads (`${env:NAME...}`)."""
    return {name for path in paths
            for name in re.findall(r"\$\{env:([A-Z0-9_]+)", (REPO_ROOT / path).read_text())}


def _host_port(address: str) -> tuple[str, int]:
    parts = urlsplit(address if "://" in address else f"//{address}")
    return parts.hostname, parts.port


def test_the_python_services_are_the_platform() -> None:
    assert sorted(PYTHON_SERVICES) == ["backend", "beat", "signal-generator",
                                       "trigger-dispatcher", "trigger-dispatcher-2", "worker",
                                       "worker-2"]
    scale_only = {name for name, s in SERVICES.items() if "scale" in s.get("profiles", [])}
    assert {"trigger-dispatcher-2", "worker-2"} <= scale_only   # the second of each


def test_every_mounted_file_and_build_context_exists() -> None:
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"
        build = service.get("build")
        if build:
            context = build if isinstance(build, str) else build["context"]
            assert (REPO_ROOT / context / "Dockerfile").is_file(), f"{name}: no Dockerfile"


def test_the_native_stack_files_are_mounted_not_copied() -> None:
    mounted = {v.split(":")[0] for s in SERVICES.values() for v in s.get("volumes", [])}
    assert {"./collector", "./prometheus", "./grafana/provisioning", "./grafana/dashboards",
            "./jaeger/config.yaml", "./jaeger/badger.yaml"} <= mounted
    assert "/etc/otelcol/spanmetrics.yaml" in " ".join(SERVICES["otel-collector"]["command"])


def test_every_variable_set_on_a_service_is_one_it_reads() -> None:
    settings = {f"TRADETRACE_{name.upper()}" for name in Settings.model_fields}
    for name in PYTHON_SERVICES:
        unread = set(_env(name)) - settings - OTEL_VARIABLES
        assert not unread, f"{name} sets variables no service reads: {unread}"
    collector_reads = _config_variables("collector/spanmetrics.yaml", "collector/tempo.yaml",
                                        "collector/agent.yaml", "collector/azure.yaml",
                                        "collector/gcp.yaml")
    assert set(_env("otel-collector")) <= collector_reads
    gateway_reads = _config_variables("collector/spanmetrics.yaml", "collector/gateway.yaml")
    for gateway in ("gateway-1", "gateway-2"):
        assert set(_env(gateway)) <= gateway_reads, gateway
    assert set(_env("jaeger")) <= _config_variables("jaeger/config.yaml", "jaeger/badger.yaml",
                                                    "jaeger/cassandra.yaml")


def test_the_azure_token_refresher_writes_the_file_the_collector_reads() -> None:
    from services.azure_token.refresher import TokenSettings

    refresher, collector = SERVICES["azure-token"], SERVICES["otel-collector"]
    assert refresher["profiles"] == ["azure"]
    reads = {field.validation_alias for field in TokenSettings.model_fields.values()}
    # What azure-identity's DefaultAzureCredential reads for a service principal.
    identity = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"}
    assert set(_env("azure-token")) <= reads | identity
    token_file = _env("azure-token")["AZURE_MONITOR_TOKEN_FILE"]
    assert _env("otel-collector")["AZURE_MONITOR_TOKEN_FILE"] == token_file

    def volume_at(service: dict, path: str) -> str:
        [volume] = [v.split(":")[0] for v in service["volumes"]
                    if path.startswith(v.split(":")[1] + "/")]
        return volume

    assert volume_at(refresher, token_file) == volume_at(collector, token_file)
    assert collector["depends_on"]["azure-token"] == {"condition": "service_healthy",
                                                      "required": False}


def test_the_scale_profile_s_bus_is_the_native_one() -> None:
    """The agent and the gateways find the same topics and group as natively, and the topics
    get the partitions the native profile makes."""
    bus = TelemetryBus("kafka:9092")
    expected = {"otel-collector": bus.agent_env(), "gateway-1": bus.gateway_env(),
                "gateway-2": bus.gateway_env()}
    for service, variables in expected.items():
        assert {k: v for k, v in _env(service).items() if k.startswith("TELEMETRY_BUS_")} == \
            variables, service
    creating = " ".join(SERVICES["bus-topics"]["command"])
    assert all(topic in creating for topic in bus.topics.values())
    assert f"--partitions {bus.partitions}" in creating
    gateway_ports = {int(_env(g)["PROMETHEUS_EXPORTER_ENDPOINT"].rsplit(":", 1)[1])
                     for g in ("gateway-1", "gateway-2")}
    assert gateway_ports == {port("gateway-1", "Prometheus"), port("gateway-2", "Prometheus")}
    for gateway in ("gateway-1", "gateway-2"):       # in the collector's network namespace
        assert _env(gateway)["DERIVED_METRICS_REMOTE_WRITE_URL"] == \
            f"http://127.0.0.1:{port('prometheus')}/api/v1/write"


def test_addresses_the_services_get_match_the_names_and_ports_that_listen() -> None:
    env = _env("backend")
    collector_grpc = _host_port(_env("otel-collector")["OTLP_GRPC_ENDPOINT"])[1]
    assert _host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"]) == ("otel-collector", collector_grpc)
    kafka_port = _host_port(
        SERVICES["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"].split("//")[1])
    assert _host_port(env["TRADETRACE_KAFKA_BOOTSTRAP_SERVERS"]) == kafka_port
    redis_url = urlsplit(re.sub(r"\$\{[^}]*\}", "secret", env["TRADETRACE_REDIS_URL"]))
    assert (redis_url.hostname, redis_url.port, redis_url.password) == ("redis", 6379, "secret")
    database = urlsplit(re.sub(r"\$\{[^}]*\}", "secret", env["TRADETRACE_DATABASE_URL"]))
    assert (database.hostname, database.port, database.username, database.path) == (
        "postgres", 5432, SERVICES["postgres"]["environment"]["POSTGRES_USER"],
        "/" + SERVICES["postgres"]["environment"]["POSTGRES_DB"])
    for name in PYTHON_SERVICES:           # every service gets the same addresses
        assert {k: v for k, v in _env(name).items() if k in env} == \
            {k: v for k, v in env.items() if k in _env(name)}


def test_grafana_datasources_reach_the_services_by_name() -> None:
    """Jaeger and Prometheus join the collector's namespace, which answers to their names."""
    provisioning = REPO_ROOT / "grafana/provisioning/datasources/datasources.yml"
    urls = {d["uid"]: d["url"] for d in yaml.safe_load(provisioning.read_text())["datasources"]}
    aliases = SERVICES["otel-collector"]["networks"]["default"]["aliases"]
    listening = {
        "prometheus": _host_port(next(a for a in SERVICES["prometheus"]["command"]
                                      if a.startswith("--web.listen-address=")).split("=")[1])[1],
        "jaeger": _host_port(_env("jaeger")["JAEGER_QUERY_HTTP_ENDPOINT"])[1],
        "tempo": yaml.safe_load((REPO_ROOT / "tempo/tempo.yaml").read_text())["server"][
            "http_listen_port"],
    }
    for uid, url in urls.items():
        host, port = _host_port(url)
        assert host in SERVICES or host in aliases, f"{uid}: {host} is no service"
        assert port == listening[host], f"{uid}: {url} but {host} listens on {listening[host]}"
    for joined in ("jaeger", "prometheus"):
        assert SERVICES[joined]["network_mode"] == "service:otel-collector"


def test_images_are_the_versions_the_native_stack_pins() -> None:
    versions = native_versions()
    assert _image_tag("backend") == package_version()     # the package the image installs
    assert _image_tag("kafka") == versions["kafka"]
    assert _image_tag("jaeger") == versions["jaeger"]
    assert _image_tag("prometheus") == f"v{versions['prometheus']}"
    assert _image_tag("redis") == f"{versions['redis']}-alpine"
    assert _image_tag("postgres") == f"{versions['postgres']}-alpine"
    assert _image_tag("cassandra") == versions["cassandra"]
    assert _image_tag("gateway-1") == versions["collector"]
    collector = SERVICES["otel-collector"]
    assert collector["build"]["args"]["OTELCOL_VERSION"] == versions["collector"]
    assert _image_tag("otel-collector") == versions["collector"]
    dockerfile = (REPO_ROOT / "collector/Dockerfile").read_text()
    assert f"ARG OTELCOL_VERSION={versions['collector']}" in dockerfile
    assert "COPY builder.yaml" in dockerfile           # the manifest the native build uses


def test_the_kraft_cluster_id_is_a_uuid_in_kafka_s_base64_form() -> None:
    import base64

    cluster_id = SERVICES["kafka"]["environment"]["CLUSTER_ID"]
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_a_native_cluster_id_never_starts_with_a_dash(monkeypatch) -> None:
    """The storage tool reads `--cluster-id -Rsu...` as two options: such an id is drawn again."""
    import uuid

    from tradetrace.stack.components import kafka

    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(drawn))
    assert kafka._cluster_id() == "AAAAAAAAAAAAAAAAAAAAAA"


def test_every_dependency_waited_on_as_healthy_has_a_healthcheck() -> None:
    for name, service in SERVICES.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits on {dependency}"


def test_no_secret_is_written_in_the_file() -> None:
    secrets = {name: value for service in SERVICES for name, value in _env(service).items()
               if "PASSWORD" in name}
    assert secrets and all(value.startswith("${") and ":?" in value
                           for value in secrets.values()), secrets     # required from .env
    published = [p for s in SERVICES.values() for p in s.get("ports", [])]
    assert sorted(p.rsplit(":", 1)[1] for p in published) == ["16686", "3000", "8000", "9090"]
    assert all(p.startswith("127.0.0.1:") for p in published)
