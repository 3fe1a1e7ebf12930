"""The scale profile's shape, checked from its files: what runs, on which ports, and that the
gateways read every signal from the bus the agent writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.collector_overlays import merged_config
from tradetrace.stack.components.collector import CONFIG
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import port
from tradetrace.stack.scale import AGENT_CONFIG, GATEWAY_OVERLAY, GATEWAYS, TelemetryBus
from tradetrace.stack.stack import components, record_profile


def test_the_scale_profile_runs_gateways_behind_an_agent_on_the_collectors_ports(
        tmp_path: Path) -> None:
    stack = components(tmp_path, profile="scale")
    names = [c.name for c in stack]
    assert names == ["postgres", "redis", "kafka", "cassandra", "jaeger", "prometheus",
                     *(f"gateway-{i}" for i in range(1, GATEWAYS + 1)), "collector"]
    agent = stack[-1]
    assert agent.port == port("collector"), "the services send where they always do"
    numbers = [n for c in stack for n in c.ports()]
    assert len(numbers) == len(set(numbers))


def test_prometheus_scrapes_every_gateway_of_the_profile(tmp_path: Path) -> None:
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = set(jobs["otel-collector-gateways"]["static_configs"][0]["targets"])
    gateways = [c for c in components(tmp_path, profile="scale") if c.name.startswith("gateway")]
    assert targets == {f"127.0.0.1:{g.port}" for g in gateways}
    assert jobs["otel-collector-gateways"]["honor_labels"], "the services' job labels are kept"


def test_a_gateway_reads_every_signal_from_the_bus_not_otlp() -> None:
    """A pipeline added to spanmetrics.yaml with the OTLP receiver would get nothing on a
    gateway: the overlay must move it to the bus too."""
    pipelines = merged_config(CONFIG, GATEWAY_OVERLAY)["service"]["pipelines"]
    fed = {name: p["receivers"] for name, p in pipelines.items()}
    assert not [name for name, receivers in fed.items() if "otlp" in receivers], fed


def test_a_gateway_pushes_the_derived_counters_to_the_profiles_prometheus(tmp_path: Path) -> None:
    """Pushed, so a gateway that stops takes no count with it (a scrape misses what came
    after the last one): the derived pipeline ends in remote write to a Prometheus that
    takes it."""
    overlay = merged_config(CONFIG, GATEWAY_OVERLAY)
    exporters = overlay["service"]["pipelines"]["metrics/derived"]["exporters"]
    assert exporters == ["prometheus_remote_write/derived"]
    assert "batch" in overlay["service"]["pipelines"]["traces/derive"]["processors"], \
        "one goroutine feeds delta_to_cumulative: it drops a sample older than its last"
    stack = {c.name: c for c in components(tmp_path, profile="scale")}
    prometheus = stack["prometheus"]
    assert "--web.enable-remote-write-receiver" in prometheus.launch().argv
    for gateway in (c for name, c in stack.items() if name.startswith("gateway")):
        assert gateway.env["DERIVED_METRICS_REMOTE_WRITE_URL"] == \
            f"http://127.0.0.1:{port('prometheus')}/api/v1/write"


def test_agent_and_gateways_read_the_bus_from_the_same_variables() -> None:
    bus = TelemetryBus("127.0.0.1:9092")
    for file, given in ((AGENT_CONFIG, bus.agent_env()), (GATEWAY_OVERLAY, bus.gateway_env())):
        used = set(re.findall(r"\$\{env:(TELEMETRY_BUS_\w+)", file.read_text()))
        assert used == set(given), (file.name, used ^ set(given))
    agent = yaml.safe_load(AGENT_CONFIG.read_text())["exporters"]["kafka/bus"]
    assert agent["partition_traces_by_id"], "every span of a trace on one gateway"


def test_an_unknown_profile_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tradetrace.stack import StackError

    monkeypatch.setenv("TRADETRACE_STATE_DIR", str(tmp_path))
    with pytest.raises(StackError, match="unknown profile"):
        record_profile("huge")


def test_the_recording_rules_add_the_gateways_up() -> None:
    """With N gateways every derived series comes N times, one per `gateway` label: each rule
    aggregates it away (by the labels it keeps), so its result is the same with one or many."""
    config = yaml.safe_load((REPO_ROOT / "prometheus" / "rules" / "recording.yml").read_text())
    rules = [rule for group in config["groups"] for rule in group["rules"]]
    assert rules
    for rule in rules:
        expr = " ".join(rule["expr"].split())
        assert "gateway" not in expr, rule["record"]
        assert re.match(r"(histogram_quantile\([\d.]+, )?(sum|max|min)\b", expr), rule["record"]
