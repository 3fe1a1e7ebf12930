"""Every alert fires on the real stack when its condition is made true, and clears after.

The promtool tests (prometheus/tests/alerts_test.yml) prove the rules' arithmetic on series
they are fed; this proves the rules read what the running components really expose, under a
real fault. A platform of its own (backend, worker, dispatcher, and the generator when a test
starts it) sends to a collector of its own (our binary and config); a Prometheus of its own
scrapes only that collector (and a second one with a tripped memory limiter), so no other
test's or the demo's traffic can fire or hold an alert. It loads prometheus/rules with the
windows shortened to WINDOW and every `for:` to FOR, and evaluates every second: the same
expressions, minutes made seconds.

Causes: no generator (then one, then none again); a pipeline that fails; the dispatcher stopped
while signals wait in Kafka; Jaeger stopped while spans flow; a flood into the tripped
limiter; executions of 40 pipelines into a collector that keeps 10 derived streams; a
generator whose span queue overflows; a pipeline's signal held in Kafka past its latency
objective; a pipeline run of 126 s (started when the
module starts, checked last, from the ALERTS series, since it fires while the other tests
run). Windows are short, so each alert clears by itself once its cause is gone: that is the
"clears" half of each test.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import yaml
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

from services.backend.explorer.access import COOKIE
from services.shared.settings import Settings
from services.signal_generator.publisher import SignalPublisher
from tests.support.collector_overlays import FEW_DERIVED_STREAMS, TRIPPED_LIMITER
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import finished_rows, wait_all_finished
from tests.support.isolation import isolated_env, namespace
from tests.support.platform import api_client, create_pipeline, settings_from_env, signal_for
from tests.support.polling import eventually
from tests.support.prometheus import instant, scalar
from tracing import span_names
from tracing.service_names import BACKEND, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CONFIG, CollectorOnOwnPorts
from tradetrace.stack.components.prometheus import CONFIG as PROMETHEUS_CONFIG
from tradetrace.stack.components.prometheus import PrometheusOnOwnPort
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import HOST, free_port

WINDOW = "20s"
FOR = "2s"
# The slow run: three agents of 42 s each, beyond the alert's 120 s p95 threshold.
SLOW_AGENTS = [{"name": "market_data", "params": {"duration_ms": 42_000}}] * 3
SLOW_RUN_SECONDS = 126


def fast_rules(text: str) -> str:
    """The rules with minutes made seconds: every range to WINDOW, every `for:` to FOR, every
    group evaluated each second."""
    text = re.sub(r"\[\d+[mh]\]", f"[{WINDOW}]", text)
    text = re.sub(r"(\n\s+for: )\S+", rf"\g<1>{FOR}", text)
    return re.sub(r"(\n\s+interval: )\S+", r"\g<1>1s", text)


def test_fast_rules_shorten_every_window_and_wait() -> None:
    rules = (REPO_ROOT / "prometheus" / "rules" / "alerts.yml").read_text()
    fast = fast_rules(rules)
    assert not re.search(r"\[\d+[mh]\]", fast)
    loaded = yaml.safe_load(fast)["groups"][0]["rules"]
    assert {rule["for"] for rule in loaded} == {FOR}
    assert len(loaded) == len(yaml.safe_load(rules)["groups"][0]["rules"])


@dataclass
class Observed:
    """The module's platform, its collectors and its Prometheus."""

    platform: Platform
    settings: Settings
    collector: CollectorOnOwnPorts
    limited: CollectorOnOwnPorts
    few_streams: CollectorOnOwnPorts
    prometheus: httpx.Client
    api: httpx.Client
    started: float

    def active(self, alert: str) -> list[dict]:
        """The alert's instances now pending or firing."""
        alerts = self.prometheus.get("/api/v1/alerts").json()["data"]["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == alert]

    def wait_active(self, alert: str, timeout: float = 90) -> list[dict]:
        return eventually(lambda: self.active(alert) or None, f"{alert} pending or firing",
                          timeout=timeout, interval=0.5)

    def wait_cleared(self, alert: str, timeout: float = 90) -> None:
        eventually(lambda: not self.active(alert), f"{alert} cleared", timeout=timeout,
                   interval=0.5)

    def publish(self, ticker: str, count: int = 1) -> list[str]:
        publisher = SignalPublisher(self.settings.kafka_bootstrap_servers,
                                    self.settings.signals_topic)
        signals = [signal_for(ticker) for _ in range(count)]
        for signal in signals:
            publisher.publish(signal)
        assert publisher.flush(30) == 0
        return [s.signal_id for s in signals]


def _prometheus_config(path: Path, collector: CollectorOnOwnPorts,
                       *others: CollectorOnOwnPorts) -> Path:
    """Our prometheus.yml with the targets of this module's collectors and the fast rules."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    rules = path / "rules"
    rules.mkdir(parents=True)
    for source in (REPO_ROOT / "prometheus" / "rules").glob("*.yml"):
        (rules / source.name).write_text(fast_rules(source.read_text()))
    config["rule_files"] = [str(rules / "*.yml")]
    targets = {"otel-collector": [f"{HOST}:{collector.exporter}"],
               "otel-collector-self": [f"{HOST}:{c.self_metrics}"
                                       for c in (collector, *others)]}
    config["scrape_configs"] = [
        {**job, "static_configs": [{"targets": targets[job["job_name"]]}]}
        for job in config["scrape_configs"] if job["job_name"] in targets]
    (path / "prometheus.yml").write_text(yaml.safe_dump(config))
    return path / "prometheus.yml"


@pytest.fixture(scope="module")
def observed(platform_env: dict[str, str],
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Observed]:
    state = tmp_path_factory.mktemp("alerts")
    collector = CollectorOnOwnPorts(state / "collector")
    overlay = state / "tripped-limiter.yaml"
    overlay.write_text(TRIPPED_LIMITER)
    limited = CollectorOnOwnPorts(state / "limited", configs=(CONFIG, overlay))
    few = state / "few-derived-streams.yaml"
    few.write_text(FEW_DERIVED_STREAMS)
    few_streams = CollectorOnOwnPorts(state / "few-streams", configs=(CONFIG, few))
    prometheus = PrometheusOnOwnPort(state / "prometheus", _prometheus_config(
        state / "config", collector, limited, few_streams))
    with isolated_env(platform_env, namespace("tt-alerts")) as isolated:
        env = {**isolated,
               "OTEL_EXPORTER_OTLP_ENDPOINT": collector.otlp_grpc_endpoint,
               "TRADETRACE_SIGNALS_PER_SECOND": "5"}
        platform = Platform(env=env, state=state / "platform", backend_port=free_port())
        with Stack([collector, prometheus]).running(), \
                platform.running([BACKEND, WORKER, TRIGGER_DISPATCHER]), \
                api_client(platform) as api, \
                httpx.Client(base_url=prometheus.url, timeout=10) as prom:
            observed = Observed(platform, settings_from_env(env), collector, limited,
                                few_streams, prom, api, time.monotonic())
            # A fast run first: Prometheus' rate() ignores the first sample of a new series,
            # so the slow run must land in a series that already exists (as it would in
            # production).
            slow_ticker = "Z" + secrets.token_hex(3).upper() + "SL"
            pipeline = create_pipeline(api, f"slow-{slow_ticker}", [slow_ticker])
            wait_for_index(observed.settings)
            wait_all_finished(observed.settings, observed.publish(slow_ticker), 1)
            api.patch(f"/pipelines/{pipeline['id']}",
                      json={"agents": SLOW_AGENTS}).raise_for_status()
            eventually(lambda: scalar(prom, "sum(pipeline_execution_duration_seconds_count)"),
                       "the fast run's series scraped")
            observed.publish(slow_ticker)    # runs while the other tests do; checked last
            yield observed


def test_no_signals_fires_until_signals_flow_and_again_when_they_stop(
        observed: Observed) -> None:
    observed.wait_active("NoSignalsGenerated")          # nothing generated yet
    with observed.platform.running([SIGNAL_GENERATOR]):
        observed.wait_cleared("NoSignalsGenerated")
    observed.wait_active("NoSignalsGenerated")          # silent for a window


def test_failing_pipelines_fire_the_error_rate_alert_and_clear(observed: Observed,
                                                               ticker: str) -> None:
    failing = f"{ticker[:6]}FL"
    create_pipeline(observed.api, f"failing-{failing}", [failing],
                    agents=[{"name": "market_data", "params": {"fail": True}}])
    wait_for_index(observed.settings)
    for _ in range(3):                    # one at a time: a running pipeline is skipped
        finished_rows(observed.settings, observed.publish(failing), 1)
    firing = observed.wait_active("PipelineExecutionErrorRateHigh")
    assert float(firing[0]["value"]) > 0.10
    observed.wait_cleared("PipelineExecutionErrorRateHigh")   # no failure in the window


def test_consumer_lag_fires_while_the_dispatcher_is_down(observed: Observed,
                                                         ticker: str) -> None:
    """Read from the broker by the backend: a dead dispatcher emits nothing itself."""
    with observed.platform.stopped([TRIGGER_DISPATCHER]):
        observed.publish(f"{ticker[:6]}LG", count=5)          # no pipeline: just waiting
        firing = observed.wait_active("KafkaConsumerLagHigh", timeout=120)
        assert firing[0]["labels"]["topic"] == observed.settings.signals_topic
        assert firing[0]["labels"]["group"] == observed.settings.consumer_group
    observed.wait_cleared("KafkaConsumerLagHigh")


def test_jaeger_away_fires_the_stalled_export_alert_and_clears(observed: Observed,
                                                               stack: Stack) -> None:
    with stack.select(["jaeger"]).stopped(), \
            observed.platform.running([SIGNAL_GENERATOR]):   # spans keep coming
        firing = observed.wait_active("TraceExportStalled", timeout=120)
        assert firing[0]["labels"]["exporter"] == "otlp_grpc/jaeger"
    observed.wait_cleared("TraceExportStalled", timeout=120)   # the queue drained


def _spans_until_active(observed: Observed, collector: CollectorOnOwnPorts, alert: str,
                       spans: Callable[[Tracer], None], service: str) -> None:
    """Send `spans(tracer)` to `collector`, again and again, until `alert` is active (a
    minute at most); then it must be, and clear once nothing more is sent."""
    with Stack([collector]).running():
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
            endpoint=collector.otlp_grpc_endpoint, insecure=True, timeout=2)))
        tracer = provider.get_tracer("tests")
        deadline = time.monotonic() + 60
        while not observed.active(alert) and time.monotonic() < deadline:
            spans(tracer)
            provider.force_flush()
        provider.shutdown()
        observed.wait_active(alert, timeout=5)
        observed.wait_cleared(alert)         # nothing more in the window


def test_a_flood_refused_by_the_memory_limiter_fires_dropping_spans(observed: Observed) -> None:
    def flood(tracer: Tracer) -> None:
        for _ in range(500):
            with tracer.start_as_current_span(span_names.AGENT_RUN):
                pass

    _spans_until_active(observed, observed.limited, "CollectorDroppingSpans", flood, "flood")


def test_derived_series_beyond_the_stream_limit_fire_and_clear(observed: Observed) -> None:
    """Executions of 40 pipelines (a stream each) into a collector that keeps 10: the points
    of the others are dropped, counted by the collector, and the alert says so."""
    def executions(tracer: Tracer) -> None:
        for pipeline_id in range(40):
            with tracer.start_as_current_span(span_names.PIPELINE_EXECUTE, attributes={
                    "pipeline.id": pipeline_id, "execution.status": "succeeded"}):
                pass
        time.sleep(0.5)

    _spans_until_active(observed, observed.few_streams, "DerivedMetricsAtSeriesLimit",
                        executions, WORKER)


def test_a_service_whose_span_queue_overflows_fires_dropping_telemetry(
        observed: Observed, tmp_path: Path) -> None:
    """The real generator with its traces sent nowhere and a queue of 4 spans: its SDK
    counts the spans it drops in the metrics it still sends to the collector."""
    env = {**observed.platform.env,
           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://{HOST}:{free_port()}",
           "OTEL_BSP_MAX_QUEUE_SIZE": "4", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "4",
           "OTEL_METRIC_EXPORT_INTERVAL": "1000"}
    generator = Platform(env=env, state=tmp_path, backend_port=free_port())
    with generator.running([SIGNAL_GENERATOR]):
        firing = observed.wait_active("ServiceDroppingTelemetry", timeout=120)
        assert firing[0]["labels"]["job"].endswith("/signal-generator")
    observed.wait_cleared("ServiceDroppingTelemetry", timeout=120)


HELD_MS = 4000       # a signal held in Kafka this long misses an objective of half of it


def _start_from_origin_ms(run) -> float:
    return (run.started_at - datetime.fromisoformat(run.signal["generated_at"])
            ).total_seconds() * 1000


def test_a_pipeline_held_up_burns_its_latency_budget_fast_and_it_clears(
        observed: Observed, ticker: str) -> None:
    """The dispatcher stopped while one pipeline's signal waits in Kafka: its run starts past
    the objective, and that pipeline's fast-burn alert fires; another pipeline with the same
    objective, run on time meanwhile, does not. It clears once no late run is in the window."""
    objective = {"latency_objective_ms": HELD_MS // 2, "latency_objective_target": 0.99}
    held = create_pipeline(observed.api, f"held-{ticker}", [f"{ticker[:6]}HU"], **objective)
    prompt = create_pipeline(observed.api, f"prompt-{ticker}", [f"{ticker[:6]}OT"], **objective)
    wait_for_index(observed.settings)
    prompt_runs = []
    for pipeline in (held, prompt):       # on time: their counts exist, with no miss
        runs = wait_all_finished(observed.settings, observed.publish(pipeline["tickers"][0]), 1)
        prompt_runs += runs if pipeline is prompt else []
    eventually(lambda: scalar(observed.prometheus, "sum(latency_objective_executions_total"
                              f'{{pipeline_id=~"{held["id"]}|{prompt["id"]}"}})') == 2,
               "both pipelines' first runs counted")
    with observed.platform.stopped([TRIGGER_DISPATCHER]):
        published = time.monotonic()
        late = observed.publish(held["tickers"][0])
        time.sleep(max(0.0, HELD_MS / 1000 - (time.monotonic() - published)))  # held in Kafka
    [run] = wait_all_finished(observed.settings, late, 1)
    prompt_runs += wait_all_finished(observed.settings,
                                     observed.publish(prompt["tickers"][0]), 1)
    starts = [_start_from_origin_ms(r) for r in prompt_runs]
    assert max(starts) <= HELD_MS // 2, f"the prompt pipeline's runs were late too: {starts}"
    firing = observed.wait_active("LatencyObjectiveFastBurn")
    assert {a["labels"]["pipeline_id"] for a in firing} == {str(held["id"])}
    # The alert's link: the pipeline's objective page, whose first late run is the held one.
    key = observed.api.headers["Authorization"].removeprefix("Bearer ")
    page = observed.api.get(firing[0]["annotations"]["explorer"],
                            headers={"Cookie": f"{COOKIE}={key}"})
    assert page.status_code == 200, page.text
    late_rows = re.findall(r'<tr data-execution-id="([^"]+)"', page.text)
    assert late_rows and late_rows[0] == run.id, late_rows
    observed.wait_cleared("LatencyObjectiveFastBurn")


def test_a_slow_run_fired_the_latency_alert_and_it_cleared(observed: Observed) -> None:
    """The 126 s run started with the module: its alert is in the ALERTS series by now (it
    fired while other tests ran), and clears once the run leaves the window."""
    def fired() -> bool:
        return bool(instant(observed.prometheus, 'max_over_time(ALERTS{alertname='
                            '"PipelineExecutionLatencyHigh", alertstate="firing"}[30m])'))

    remaining = SLOW_RUN_SECONDS + 90 - (time.monotonic() - observed.started)
    eventually(fired, "PipelineExecutionLatencyHigh fired", timeout=max(remaining, 10),
               interval=2)
    observed.wait_cleared("PipelineExecutionLatencyHigh")
