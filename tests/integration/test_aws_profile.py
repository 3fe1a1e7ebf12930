"""The AWS profile on the real local stack: the same service processes, other variables.

The services run with TRADETRACE_PROFILE=aws against a second collector of our binary started
with collector/spanmetrics.yaml + collector/aws.yaml. Its awsxray exporter posts to a local
endpoint standing in for the X-Ray API, its logs to one standing in for CloudWatch Logs' OTLP
endpoint, its remote write to a Prometheus of the test's own (the stack's has no remote-write
receiver), labelled with a cluster of this run's own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from confluent_kafka import Producer

from services.shared.tasks import PIPELINE_QUEUE
from tests.support.cloud_profile import (
    profile_collector,
    profile_env,
    profile_platform,
    remote_write_receiver,
)
from tests.support.cloudwatch_logs_api import CloudWatchLogsApi
from tests.support.dispatcher import wait_for_index
from tests.support.platform import api_client, create_pipeline, run_generator, settings_from_env
from tests.support.polling import eventually
from tests.support.prometheus import scalar
from tests.support.xray_api import XRayApi
from tracing import span_names
from tracing.kafka import HEADERS
from tracing.service_names import BACKEND, TRIGGER_DISPATCHER, WORKER
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import AWS_OVERLAY, CollectorOnOwnPorts
from tradetrace.stack.components.prometheus import PrometheusOnOwnPort

LOG_GROUP = "/tradetrace/aws-test"


def xray_id(trace_id: str) -> str:
    return f"1-{trace_id[:8]}-{trace_id[8:]}"


@pytest.fixture(scope="module")
def xray_api() -> Iterator[XRayApi]:
    api = XRayApi()
    yield api
    api.close()


@pytest.fixture(scope="module")
def cloudwatch_logs() -> Iterator[CloudWatchLogsApi]:
    api = CloudWatchLogsApi()
    yield api
    api.close()


@pytest.fixture(scope="module")
def amp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusOnOwnPort]:
    """Amazon Managed Prometheus's stand-in."""
    with remote_write_receiver(tmp_path_factory.mktemp("amp")) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def cluster() -> str:
    return f"aws-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def aws_collector(stack: Stack, xray_api: XRayApi, cloudwatch_logs: CloudWatchLogsApi,
                  amp: PrometheusOnOwnPort, cluster: str, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[CollectorOnOwnPorts]:
    with profile_collector(tmp_path_factory.mktemp("aws-collector"), AWS_OVERLAY, {
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDLOCALTEST", "AWS_SECRET_ACCESS_KEY": "local-test-secret",
        "XRAY_ENDPOINT": xray_api.url,
        "AMP_REMOTE_WRITE_ENDPOINT": amp.remote_write_url,
        "TRADETRACE_CLUSTER": cluster,
        "CLOUDWATCH_LOGS_ENDPOINT": cloudwatch_logs.url,
        "CLOUDWATCH_LOG_GROUP": LOG_GROUP,
    }) as collector:
        yield collector


@pytest.fixture(scope="module")
def aws_env(platform_env: dict[str, str],
            aws_collector: CollectorOnOwnPorts) -> Iterator[dict[str, str]]:
    with profile_env(platform_env, "aws", aws_collector, AWS_REGION="us-east-1") as env:
        yield env


@pytest.fixture(scope="module")
def aws_platform(aws_env: dict[str, str], tmp_path_factory) -> Iterator[Platform]:
    """Backend and dispatcher; each test starts (or stops) the worker as it needs."""
    with profile_platform(aws_env, tmp_path_factory.mktemp("aws-platform"),
                          [BACKEND, TRIGGER_DISPATCHER]) as services:
        yield services


@pytest.fixture(scope="module")
def aws_api(aws_platform: Platform) -> Iterator[httpx.Client]:
    with api_client(aws_platform) as client:
        yield client


def _queued_task_headers(redis_url: str) -> list[dict]:
    raw = redis.Redis.from_url(redis_url).lrange(PIPELINE_QUEUE, 0, -1)
    return [json.loads(message)["headers"] for message in raw]


def _header(message, name: str) -> str | None:
    values = HEADERS.get(message.headers(), name)     # the services' own carrier
    return values[0] if values else None


def _root(xray_header: str) -> str:
    return dict(part.split("=", 1) for part in xray_header.split(";"))["Root"]


def test_signals_flow_in_the_aws_profile_as_one_xray_trace_each(
        aws_platform: Platform, aws_api: httpx.Client, aws_env: dict[str, str],
        xray_api: XRayApi, cloudwatch_logs: CloudWatchLogsApi, amp: PrometheusOnOwnPort,
        cluster: str, ticker: str, tmp_path: Path) -> None:
    settings = settings_from_env(aws_env)
    with aws_platform.stopped([WORKER]):      # the queued tasks are looked at before they run
        pipelines = [create_pipeline(aws_api, f"aws-{ticker}-{i}", [ticker])["id"] for i in (1, 2)]
        wait_for_index(settings)
        messages = run_generator(aws_env, tmp_path, [ticker], count=3, per_second=2)

        # Kafka: every signal carries the X-Ray header beside traceparent, for the same trace.
        traces = {}
        for message in messages:
            signal_id = json.loads(message.value())["signal_id"]
            xray_header = _header(message, "X-Amzn-Trace-Id")
            trace_id = _header(message, "traceparent").split("-")[1]
            assert xray_header and _root(xray_header) == xray_id(trace_id)
            assert abs(int(trace_id[:8], 16) - time.time()) < 600      # an X-Ray epoch prefix
            traces[signal_id] = trace_id

        # Celery: the queued tasks carry the X-Ray header of their signal's trace. With the worker
        # off, the first signal holds both pipelines' running locks and the later ones skip them.
        outcomes = {signal_id: emit.wait_for_dispatch(settings, signal_id) for signal_id in traces}
        enqueuing = [s for s, outcome in outcomes.items() if outcome["enqueued"]]
        assert len(enqueuing) == 1 and outcomes[enqueuing[0]]["enqueued"] == pipelines
        queued = _queued_task_headers(aws_env["TRADETRACE_REDIS_URL"])
        assert [_root(h["X-Amzn-Trace-Id"]) for h in queued] == [xray_id(traces[enqueuing[0]])] * 2

    executions = emit.wait_for_executions(settings, enqueuing[0], 2)
    assert {e.trace_id for e in executions} == {traces[enqueuing[0]]}

    # X-Ray: one trace per signal, from generation to the executions, searchable by signal.id.
    def segments_of(signal_id: str, expected: Counter) -> list[dict] | None:
        found = [s for s in xray_api.received()
                 if s.get("annotations", {}).get("signal.id") == signal_id]
        return found if not expected - Counter(s["name"] for s in found) else None

    process = span_names.kafka_process(settings.signals_topic)
    for signal_id, trace_id in traces.items():
        expected = Counter([span_names.SIGNAL_GENERATE, process])
        if signal_id in enqueuing:
            expected[span_names.PIPELINE_EXECUTE] = len(pipelines)
        found = eventually(lambda: segments_of(signal_id, expected),
                           f"X-Ray segments {dict(expected)} of {signal_id}", timeout=60)
        assert {s["trace_id"] for s in found} == {xray_id(trace_id)}
        processed = [s for s in found if s["name"] == process]
        assert [s["annotations"]["ticker"] for s in processed] == [ticker]
        if signal_id in enqueuing:
            executes = [s for s in found if s["name"] == span_names.PIPELINE_EXECUTE]
            assert sorted(int(s["annotations"]["pipeline.id"]) for s in executes) == pipelines

    # CloudWatch Logs' stand-in: the services' log lines of the signal, signed, in the log
    # group X-Ray links to, under the signal's trace id (the one X-Ray shows).
    ran = enqueuing[0]

    def logged() -> set[str] | None:
        found = [r for r in cloudwatch_logs.received() if r.trace_id == traces[ran]]
        services = {r.service for r in found}
        return services if {TRIGGER_DISPATCHER, WORKER} <= services else None

    eventually(logged, "the signal's log records from the dispatcher and the worker", timeout=60)
    records = [r for r in cloudwatch_logs.received() if r.trace_id == traces[ran]]
    assert all(r.signed and r.log_group == LOG_GROUP for r in records)
    assert {r.attributes.get("signal.id") for r in records} == {ran}
    assert any("succeeded" in r.body for r in records if r.service == WORKER)

    # Amazon Managed Prometheus's stand-in: the same span-derived metrics, by remote write.
    def remote_written(query: str) -> float | None:
        with httpx.Client(base_url=amp.url, timeout=5) as client:
            return scalar(client, query)

    ids = "|".join(str(pipeline) for pipeline in pipelines)
    executions = (f'sum(pipeline_executions_total{{cluster="{cluster}",status="succeeded",'
                  f'pipeline_id=~"{ids}"}})')
    eventually(lambda: remote_written(executions) == 2,
               "the executions counted in the remote-written series", timeout=60)
    for name in ("traces_span_metrics_calls_total", "traces_service_graph_request_total",
                 "agent_runs_total", "signals_generated_total",
                 "pipeline_execution_duration_seconds_count", "celery_queue_depth"):
        assert eventually(lambda: remote_written(f'count({name}{{cluster="{cluster}"}})'),
                          f"{name} remote-written", timeout=30)


def test_xray_only_w3c_only_and_headerless_messages_each_keep_their_own_trace(
        aws_platform: Platform, aws_api: httpx.Client, aws_env: dict[str, str],
        ticker: str) -> None:
    from tests.support.platform import signal_for

    settings = settings_from_env(aws_env)
    tickers = {kind: f"{ticker}{kind[0].upper()}" for kind in ("xray", "w3c", "none")}
    for symbol in tickers.values():
        create_pipeline(aws_api, f"mixed-{symbol}", [symbol])
    wait_for_index(settings)
    aws_platform.up([WORKER])

    xray_trace, w3c_trace = f"{int(time.time()):08x}{uuid.uuid4().hex[:24]}", uuid.uuid4().hex
    headers = {
        "xray": [("x-amzn-trace-id",
                  f"Root={xray_id(xray_trace)};Parent=53995c3f42cd8ad8;Sampled=1".encode())],
        "w3c": [("traceparent", f"00-{w3c_trace}-53995c3f42cd8ad8-01".encode())],
        "none": [],
    }
    signals = {kind: signal_for(symbol) for kind, symbol in tickers.items()}
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    for kind, signal in signals.items():        # one batch: produced together, keyed alike
        producer.produce(settings.signals_topic, key=b"mixed", headers=headers[kind],
                         value=signal.model_dump_json().encode())
    assert producer.flush(10) == 0

    traced = {kind: emit.wait_for_executions(settings, signal.signal_id, 1)[0].trace_id
              for kind, signal in signals.items()}
    assert traced["xray"] == xray_trace
    assert traced["w3c"] == w3c_trace
    assert traced["none"] not in (xray_trace, w3c_trace)
    assert abs(int(traced["none"][:8], 16) - time.time()) < 600   # a new X-Ray-form root


def test_a_celery_task_with_only_an_upper_case_xray_header_runs_in_that_trace(
        aws_platform: Platform, aws_api: httpx.Client, aws_env: dict[str, str],
        ticker: str) -> None:
    """Published by a client with no tracing of its own (a subprocess that only sets the
    header), as another team's service might: the worker continues the X-Ray trace."""
    import subprocess
    import sys

    from tests.support.platform import signal_for
    from tradetrace.stack.paths import REPO_ROOT

    settings = settings_from_env(aws_env)
    pipeline = create_pipeline(aws_api, f"celery-xray-{ticker}", [ticker])["id"]
    aws_platform.up([WORKER])
    signal = signal_for(ticker)
    xray_trace = f"{int(time.time()):08x}{uuid.uuid4().hex[:24]}"
    header = f"Root={xray_id(xray_trace)};Parent=53995c3f42cd8ad8;Sampled=1"
    from services.shared.db import session_scope
    from services.shared.queueing import queue_signal_runs

    with session_scope(settings.database_url) as session:
        [run] = queue_signal_runs(session, signal.model_dump(mode="json"), [pipeline],
                                  settings).new
    publish = ("import json, sys\n"
               "from celery import Celery\n"
               "from services.shared.settings import get_settings\n"
               "from services.shared.tasks import PIPELINE_TASK, celery_config\n"
               "app = Celery(set_as_current=False)\n"
               "app.conf.update(celery_config(get_settings()))\n"
               "app.send_task(PIPELINE_TASK, kwargs=json.loads(sys.argv[1]),\n"
               "              headers={'X-AMZN-TRACE-ID': sys.argv[2]})\n")
    kwargs = run.model_dump(mode="json")
    subprocess.run([sys.executable, "-c", publish, json.dumps(kwargs), header], check=True,
                   cwd=REPO_ROOT, env={**aws_env, "PATH": "/usr/bin:/bin"}, timeout=60)

    [execution] = emit.wait_for_executions(settings, signal.signal_id, 1)
    assert execution.status.value == "succeeded"
    assert execution.trace_id == xray_trace
