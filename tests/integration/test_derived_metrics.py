"""Metrics derived from spans by the collector: exact counts in Prometheus, and Jaeger's SPM.

The counts are checked on a platform of the test's own, under a service.namespace of its
own (Prometheus' `job` label is namespace/service), so no other traffic can blur them.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
import yaml

from services.shared.db import Execution, ExecutionStatus, session_scope
from services.shared.settings import Settings
from tests.support.dashboards import panel_queries, with_variables
from tests.support.dispatcher import wait_for_index
from tests.support.isolation import isolated_env, namespace
from tests.support.kafka import wait_until_dispatched
from tests.support.platform import (
    api_client,
    create_pipeline,
    run_generator,
    run_to_the_end,
    settings_from_env,
)
from tests.support.polling import eventually
from tests.support.prometheus import instant, scalar
from tracing import span_names
from tracing.service_names import BACKEND, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace.dashboards import model
from tradetrace.platform import Platform
from tradetrace.stack.paths import REPO_ROOT
from tradetrace.stack.ports import free_port


def _wait_all_handled(local: Settings) -> None:
    """Until every signal published so far has been dispatched and each execution it queued
    has finished."""
    def all_handled() -> int | None:
        with session_scope(local.database_url) as session:
            busy = session.query(Execution).filter(Execution.status.in_(
                [ExecutionStatus.QUEUED, ExecutionStatus.RUNNING])).count()
            done = session.query(Execution).count()
        return done if done and not busy else None

    wait_until_dispatched(local)          # every signal's executions are queued by now
    eventually(all_handled, "the executions to finish", timeout=60)


@pytest.fixture
def isolated(platform_env, tmp_path):
    """A platform of the test's own."""
    own = namespace("tt-metrics")
    with isolated_env(platform_env, own) as env:
        services = Platform(env=env, state=tmp_path, backend_port=free_port())
        services.up([BACKEND, WORKER, TRIGGER_DISPATCHER])
        try:
            yield services, env, own
        finally:
            services.down()


def test_named_metrics_count_exactly_what_happened(isolated, settings, prometheus: httpx.Client,
                                                   ticker: str) -> None:
    services, env, namespace = isolated
    local = settings_from_env(env)
    tickers = [ticker + "A", ticker + "B"]
    with api_client(services) as api:
        ids = [create_pipeline(api, f"m-{t}", [t])["id"] for t in tickers]
        create_pipeline(api, f"m-fail-{ticker}", [tickers[0]], agents=[
            {"name": "market_data", "params": {"duration_ms": 0, "fail": True}}])
    wait_for_index(local)
    sent = len(run_generator(env, services.state.parent, tickers, count=15, per_second=5,
                             seed=11))

    _wait_all_handled(local)
    with session_scope(local.database_url) as session:
        recorded = {(e.status.value, e.pipeline_id) for e in session.query(Execution)}
        signals_run = len({e.signal_id for e in session.query(Execution)})
        by_status = {status: session.query(Execution).filter(Execution.status == status).count()
                     for status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)}

    job = f'job=~"{namespace}/.*"'

    def settled(query: str, expected: float):
        return lambda: scalar(prometheus, query) == expected

    eventually(settled(f"sum(signals_generated_total{{{job}}})", sent),
               f"signals_generated_total = {sent}", timeout=60)
    eventually(settled(f"sum(signals_consumed_total{{{job}}})", sent),
               f"signals_consumed_total = {sent}", timeout=60)
    eventually(settled(f"sum(kafka_publish_success_total{{{job}}})", sent),
               f"kafka_publish_success_total = {sent}", timeout=60)
    for status, count in by_status.items():
        query = f'sum(pipeline_executions_total{{{job},status="{status.value}"}})'
        eventually(settled(query, count), f"pipeline_executions_total{{status={status.value}}}"
                   f" = {count}", timeout=60)
    assert by_status[ExecutionStatus.FAILED] > 0 and by_status[ExecutionStatus.SUCCEEDED] > 0
    series = prometheus.get("/api/v1/series", params={
        "match[]": f"pipeline_executions_total{{{job}}}"}).json()["data"]
    # Both outcomes of every pipeline that ran, from its first run (one of them at 0).
    assert {(s["status"], int(s["pipeline_id"])) for s in series} == {
        (status.value, pipeline) for _, pipeline in recorded for status in by_status}
    assert {s["trigger_mode"] for s in series} == {"signal"}
    assert set(ids) <= {int(s["pipeline_id"]) for s in series}
    histogram = f"sum(pipeline_execution_duration_seconds_count{{{job}}})"
    eventually(settled(histogram, sum(by_status.values())), "the duration histogram's count")
    enqueued = f'sum(pipelines_enqueued_total{{{job},status="enqueued"}})'
    eventually(settled(enqueued, sum(by_status.values())), "pipelines_enqueued_total = runs")
    posts = (f'sum(http_server_request_duration_seconds_count{{{job},method="POST",'
             f'route="/pipelines",status_code="201"}})')
    eventually(settled(posts, 3), "three POST /pipelines in http_server_request_duration")
    inserts = f'sum(db_query_duration_seconds_count{{{job},query_type="insert"}})'
    # The dispatcher queues a signal's rows in one statement.
    assert scalar(prometheus, inserts) >= signals_run
    releases = f'sum(redis_command_duration_seconds_count{{{job},command="EVAL"}})'
    assert scalar(prometheus, releases) >= sum(by_status.values())  # each run releases its lock


def test_jaeger_monitor_tab_reads_the_span_metrics(platform, traces, stack) -> None:
    """SPM: Jaeger's metrics API answers from Prometheus for the consumer and worker spans."""
    from tradetrace.stack.components.jaeger import query_url

    with httpx.Client(base_url=query_url(), timeout=10) as jaeger:
        # The generator's one span per signal is its PRODUCER span (signal.generate).
        for service, kind in ((SIGNAL_GENERATOR, "producer"), (TRIGGER_DISPATCHER, "consumer"),
                              (WORKER, "consumer"), (WORKER, "internal"), (BACKEND, "server")):
            def calls():
                body = jaeger.get("/api/metrics/calls", params={
                    "service": service, "spanKind": kind, "endTs": int(time.time() * 1000),
                    "lookback": 3_600_000, "step": 60_000, "ratePer": 60_000}).json()
                points = [p for m in body.get("metrics", []) for p in m.get("metricPoints", [])]
                return points if any(p.get("gaugeValue", {}).get("doubleValue") for p in points) \
                    else None

            eventually(calls, f"SPM call rates of {service} {kind} spans", timeout=60)
            for endpoint in ("latencies", "errors"):
                params = {"service": service, "spanKind": kind, "quantile": 0.95,
                          "endTs": int(time.time() * 1000), "lookback": 3_600_000,
                          "step": 60_000, "ratePer": 60_000}
                response = jaeger.get(f"/api/metrics/{endpoint}", params=params)
                assert response.status_code == 200, response.text
                assert response.json()["name"].startswith("service_")


def test_duration_exemplars_resolve_to_their_span_in_jaeger(platform, api: httpx.Client,
                                                            prometheus: httpx.Client, traces,
                                                            ticker: str) -> None:
    started = time.time()   # older exemplars may point at traces Jaeger (in memory) forgot
    pipeline = create_pipeline(api, f"exemplar-{ticker}", [ticker])

    for _ in range(3):                    # one after the other, each to its end
        run_to_the_end(api, pipeline["id"])
    series = (f'traces_span_metrics_duration_milliseconds_bucket{{service_name="{WORKER}",'
              f'span_name="{span_names.PIPELINE_EXECUTE}"}}')

    def exemplars():
        data = prometheus.get("/api/v1/query_exemplars", params={
            "query": series, "start": started, "end": time.time()}).json()["data"]
        return [e for s in data for e in s["exemplars"]]

    found = eventually(exemplars, "exemplars on the pipeline.execute duration", timeout=60)
    for exemplar in found[:5]:
        trace_id, span_id = exemplar["labels"]["trace_id"], exemplar["labels"]["span_id"]
        trace = eventually(lambda: traces.trace(trace_id), f"trace {trace_id} in Jaeger")
        [span] = [s for s in trace.spans if s.span_id == span_id]
        assert (span.service, span.name) == (WORKER, span_names.PIPELINE_EXECUTE)
        # The exemplar's value is that span's duration (ms), not some other one's.
        assert abs(float(exemplar["value"]) - span.duration_us / 1000) < 1.0


STATE_METRICS = {
    "db_pool_size": [BACKEND, WORKER, TRIGGER_DISPATCHER],
    "db_active_connections": [BACKEND, WORKER, TRIGGER_DISPATCHER],
    "cache_size_bytes": [TRIGGER_DISPATCHER],
    "kafka_consumer_offset": [TRIGGER_DISPATCHER],
    "celery_queue_depth": [TRIGGER_DISPATCHER],
    "http_server_active_requests": [BACKEND],
    "process_cpu_time_seconds_total": [BACKEND, WORKER, TRIGGER_DISPATCHER],
    "process_memory_usage_bytes": [BACKEND, WORKER, TRIGGER_DISPATCHER],
}


def test_state_metrics_come_from_the_services_over_otlp(isolated, prometheus: httpx.Client,
                                                        ticker: str) -> None:
    services, env, namespace = isolated
    with api_client(services) as api:
        api.get("/pipelines").raise_for_status()   # the active-requests gauge needs a request
        pipeline = create_pipeline(api, f"state-{ticker}", [ticker])
        api.post(f"/pipelines/{pipeline['id']}/run").raise_for_status()
    from services.signal_generator.publisher import SignalPublisher
    from tests.support.platform import signal_for

    publisher = SignalPublisher(env["TRADETRACE_KAFKA_BOOTSTRAP_SERVERS"],
                                env["TRADETRACE_SIGNALS_TOPIC"])
    publisher.publish(signal_for(ticker))      # a consumed message gives the offset gauge a value
    assert publisher.flush(10) == 0

    for metric, emitters in STATE_METRICS.items():
        def reported():
            result = instant(prometheus, f'{metric}{{job=~"{namespace}/.*"}}')
            jobs = {r["metric"]["job"].split("/", 1)[1] for r in result}
            return result if set(emitters) <= jobs else None

        series = eventually(reported, f"{metric} from {emitters}", timeout=60)
        if metric == "db_pool_size":
            assert all(float(s["value"][1]) == 5 for s in series)   # SQLAlchemy's default
        if metric == "process_memory_usage_bytes":
            assert all(float(s["value"][1]) > 10 * 2**20 for s in series)
        if metric == "kafka_consumer_offset":
            assert all(s["metric"]["partition"].isdigit() for s in series)


# The table: every metric under its name, with its labels.
SEED_METRICS = {
    "pipeline_executions_total": {"status", "pipeline_id", "trigger_mode"},
    "pipeline_execution_duration_seconds_bucket": {"status", "pipeline_id"},
    "http_server_request_duration_seconds_bucket": {"method", "route", "status_code"},
    "http_server_active_requests": {"method", "route"},
    "db_query_duration_seconds_bucket": {"query_type"},
    "db_active_connections": set(),
    "db_pool_size": set(),
    "redis_command_duration_seconds_bucket": {"command"},
    "signals_generated_total": {"signal_type", "source"},
    "signal_generation_duration_seconds_bucket": {"signal_type"},
    "kafka_publish_duration_seconds_bucket": set(),
    "kafka_publish_success_total": set(),
    "kafka_publish_failure_total": set(),
    "signals_consumed_total": set(),
    "batch_size_bucket": set(),
    "batch_processing_duration_seconds_bucket": set(),
    "pipelines_matched_total": {"ticker"},
    "pipelines_enqueued_total": {"status"},
    "pipelines_skipped_running_total": set(),
    "cache_size_bytes": set(),
    "cache_refresh_duration_seconds_bucket": set(),
    "kafka_consumer_lag_seconds_bucket": set(),
    "kafka_consumer_offset": {"partition"},
}


def _fail_one_delivery() -> None:
    """A real publisher, traced, whose broker never answers: one failed delivery report."""
    import subprocess
    import sys

    code = ("from tracing import setup_tracing, shutdown_tracing;"
            "from services.signal_generator.publisher import SignalPublisher;"
            "from services.signal_generator.emitting import generate_and_publish;"
            "from services.shared.signals import Signal;"
            "p = setup_tracing('delivery-probe');"
            "pub = SignalPublisher('127.0.0.1:1', 'trading-signals',"
            " {'message.timeout.ms': 300, 'enable.idempotence': False});"
            "generate_and_publish(iter([Signal(signal_type='mock', source='probe', ticker='AAPL',"
            " direction='buy', strength=0.5)]), pub); pub.flush(5);"
            "assert pub.counts.failed == 1; shutdown_tracing(p)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_every_seed_metric_is_in_prometheus_with_its_labels(platform, api: httpx.Client,
                                                            prometheus: httpx.Client, settings,
                                                            ticker: str) -> None:
    create_pipeline(api, f"seed-{ticker}", [ticker])
    wait_for_index(settings)
    from tests.support.platform import publish_and_follow, signal_for

    publish_and_follow(settings, signal_for(ticker))
    api.get("/pipelines").raise_for_status()
    _fail_one_delivery()
    for metric, labels in SEED_METRICS.items():
        def series():
            found = prometheus.get("/api/v1/series", params={
                "match[]": metric, "start": time.time() - 3600}).json()["data"]
            return [s for s in found if labels <= set(s)] or None

        eventually(series, f"{metric} with labels {sorted(labels)}", timeout=60)
    probe = 'sum(kafka_publish_failure_total{job="tradetrace/delivery-probe"})'
    eventually(lambda: (scalar(prometheus, probe) or 0) >= 1, "the probe's failed delivery counted")


# Counters a rule or panel reads that a namespace's services do not emit, and why each is not
# checked here (the README's "Counters at zero" says the same).
NOT_A_NAMESPACES = {
    "otelcol_": "the collector's own counters (job collector), at 0 from its start",
    "otel_sdk_processor_": "the SDK's own: a series per error type, none before the first "
                           "error (the alert reads > 0, so none reads as no error)",
    "traces_service_graph_": "edges between services, labelled client and server, not job",
    # It has no series per status code before a span has had it; the rule the dashboards
    # read says 0 instead (tradetrace:span_errors:rate5m, checked below platform-wide).
    "traces_span_metrics_": "span_metrics keys its series by service name, not namespace",
}
# Error counters no rule or panel reads yet, which an operator's own rule would.
ALSO_AT_ZERO = {"kafka_publish_failure_total", "signals_dead_lettered_total"}
FAILURE_MARKS = ('status="failed"', "failure", "dead_lettered")
COUNTER = re.compile(r"\b([a-zA-Z_][a-zA-Z0-9_]*_total)(\{[^}]*\})?")


def _counters_read() -> set[str]:
    """Every counter selector (its name and matchers) in the recording and alerting rules and
    in the dashboards' panels, with a panel's variables at "All"."""
    exprs = [rule["expr"] for path in (REPO_ROOT / "prometheus" / "rules").glob("*.yml")
             for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    exprs += [with_variables(expr, model(stem)) for stem, _, _, expr in panel_queries()]
    return {match.group(0) for expr in exprs for match in COUNTER.finditer(expr)}


def _in_namespace(selector: str, job: str) -> str:
    name, _, matchers = selector.partition("{")
    return f"{name}{{{job}{',' + matchers.rstrip('}') if matchers else ''}}}"


def test_every_counter_a_rule_or_panel_reads_is_at_zero_before_the_first_failure(
        isolated, prometheus: httpx.Client, ticker: str) -> None:
    """On a platform that has had no failure, each counter has a series, and each counter of
    failures reads 0: a panel says "none" rather than "no data", a rule can tell "no failures"
    from "not reporting"."""
    services, env, namespace = isolated
    local = settings_from_env(env)
    with api_client(services) as api:
        create_pipeline(api, f"zero-{ticker}", [ticker])
    wait_for_index(local)
    run_generator(env, services.state.parent, [ticker], count=5, per_second=5)
    _wait_all_handled(local)
    with session_scope(local.database_url) as session:
        outcomes = {e.status for e in session.query(Execution)}
    assert outcomes == {ExecutionStatus.SUCCEEDED}, outcomes

    job = f'job=~"{namespace}/.*"'
    selectors = {s for s in _counters_read() if not s.startswith(tuple(NOT_A_NAMESPACES))}
    checked = sorted(selectors | ALSO_AT_ZERO)
    assert len(checked) >= 15 and {'pipeline_executions_total{status="failed"}',
                                    "kafka_publish_failure_total"} <= set(checked)

    def values(query: str) -> list[float] | None:
        return [float(s["value"][1]) for s in instant(prometheus, query)] or None
    for selector in checked:
        found = eventually(lambda: values(_in_namespace(selector, job)),
                           f"a series of {selector} in {namespace}", timeout=90)
        if any(mark in selector for mark in FAILURE_MARKS):
            assert set(found) == {0.0}, f"{selector} reads {found} with no failure"

    def series(rule: str) -> set[tuple[str, ...]]:
        return {tuple(sorted(s["metric"].items() - {("__name__", rule)}))
                for s in instant(prometheus, rule)}

    def errors_beside_every_call() -> int | None:
        calls = series("tradetrace:span_calls:rate5m")
        return len(calls) if calls == series("tradetrace:span_errors:rate5m") else None
    spans = eventually(errors_beside_every_call,
                       "an error rate (0 or more) beside each span's call rate", timeout=90)
    print(f"\n[zero] {len(checked)} counters read by rules and panels have a series in "
          f"{namespace}, each failure counter at 0; {spans} spans have an error rate")
