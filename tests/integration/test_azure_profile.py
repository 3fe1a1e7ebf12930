"""The Azure profile on the real local stack: the same service processes, other variables.

The services run with TRADETRACE_PROFILE=azure against a second collector of our binary started
with collector/spanmetrics.yaml + collector/azure.yaml. Its OTLP/HTTP exporter sends traces and
logs to a local endpoint standing in for Application Insights' OTLP ingestion, its remote write
to one standing in for an Azure Monitor workspace, which passes the writes on to a Prometheus of
the test's own. Both stand-ins refuse a request without the bearer token the test put in the
token file, the way services.azure_token writes it in production.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.azure_token.refresher import write_token_file
from tests.support.azure_monitor_api import (
    LOGS_PATH,
    TRACES_PATH,
    AzureMonitorOtlp,
    AzureMonitorRemoteWrite,
)
from tests.support.cloud_profile import (
    profile_collector,
    profile_env,
    profile_platform,
    remote_write_receiver,
    run_signals,
    whole_trace,
)
from tests.support.platform import api_client, settings_from_env
from tests.support.polling import eventually
from tests.support.prometheus import scalar
from tracing import span_names
from tracing.service_names import BACKEND, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import AZURE_OVERLAY, CollectorOnOwnPorts

FIRST_TOKEN, REFRESHED_TOKEN = "entra-token-1", "entra-token-2"


@pytest.fixture(scope="module")
def app_insights() -> Iterator[AzureMonitorOtlp]:
    api = AzureMonitorOtlp()
    api.accept(FIRST_TOKEN)
    yield api
    api.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureMonitorRemoteWrite]:
    """The workspace's ingestion endpoint, in front of a Prometheus that only receives writes."""
    with remote_write_receiver(tmp_path_factory.mktemp("azure-workspace")) as receiver:
        endpoint = AzureMonitorRemoteWrite(receiver.url)
        endpoint.accept(FIRST_TOKEN)
        yield endpoint
        endpoint.close()


@pytest.fixture(scope="module")
def token_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("azure-token") / "token"
    write_token_file(path, FIRST_TOKEN)
    return path


@pytest.fixture(scope="module")
def cluster() -> str:
    return f"azure-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def azure_collector(stack: Stack, app_insights: AzureMonitorOtlp,
                    workspace: AzureMonitorRemoteWrite, token_file: Path, cluster: str,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[CollectorOnOwnPorts]:
    with profile_collector(tmp_path_factory.mktemp("azure-collector"), AZURE_OVERLAY, {
        "AZURE_MONITOR_TRACES_ENDPOINT": app_insights.traces_url,
        "AZURE_MONITOR_LOGS_ENDPOINT": app_insights.logs_url,
        "AZURE_MONITOR_REMOTE_WRITE_ENDPOINT": workspace.url,
        "AZURE_MONITOR_TOKEN_FILE": str(token_file),
        "TRADETRACE_CLUSTER": cluster,
    }) as collector:
        yield collector


@pytest.fixture(scope="module")
def azure_env(platform_env: dict[str, str],
              azure_collector: CollectorOnOwnPorts) -> Iterator[dict[str, str]]:
    with profile_env(platform_env, "azure", azure_collector) as env:
        yield env


@pytest.fixture(scope="module")
def azure_platform(azure_env: dict[str, str], tmp_path_factory) -> Iterator[Platform]:
    with profile_platform(azure_env, tmp_path_factory.mktemp("azure-platform"),
                          [BACKEND, TRIGGER_DISPATCHER, WORKER]) as services:
        yield services


@pytest.fixture(scope="module")
def azure_api(azure_platform: Platform) -> Iterator[httpx.Client]:
    with api_client(azure_platform) as client:
        yield client


def _remote_written(workspace: AzureMonitorRemoteWrite, query: str) -> float | None:
    with httpx.Client(base_url=workspace.receiver_url, timeout=5) as client:
        return scalar(client, query)


def test_signals_flow_in_the_azure_profile_as_one_trace_each_with_token_auth(
        azure_platform: Platform, azure_api: httpx.Client, azure_env: dict[str, str],
        app_insights: AzureMonitorOtlp, workspace: AzureMonitorRemoteWrite, cluster: str,
        ticker: str, tmp_path: Path) -> None:
    settings = settings_from_env(azure_env)
    pipelines, traces, enqueued = run_signals(azure_env, azure_api, ticker, tmp_path, count=2)
    assert any(enqueued.values())

    # Application Insights' stand-in: one trace per signal (its operation id), rooted at the
    # generation, with its parent chain intact and the executions it triggered.
    process = span_names.kafka_process(settings.signals_topic)
    for signal_id, trace_id in traces.items():
        expected = Counter({span_names.SIGNAL_GENERATE: 1, process: 1,
                            span_names.PIPELINE_EXECUTE: len(enqueued[signal_id])})
        found = eventually(lambda: whole_trace(app_insights.received_spans(), trace_id,
                                                expected),
                           f"the whole trace of {signal_id}", timeout=90)
        [root] = [s for s in found if not s.parent_span_id]
        assert (root.name, root.service) == (span_names.SIGNAL_GENERATE, SIGNAL_GENERATOR)
        executes = [s for s in found if s.name == span_names.PIPELINE_EXECUTE]
        assert sorted(int(s.attributes["pipeline.id"]) for s in executes) == sorted(
            enqueued[signal_id])

    # Log records under their trace id (Application Insights' operation id), from the
    # dispatcher and the worker of a signal that ran.
    ran = next(signal_id for signal_id, pipelines_run in enqueued.items() if pipelines_run)

    def logged() -> set[str] | None:
        services = {r.service for r in app_insights.received_records()
                    if r.trace_id == traces[ran]}
        return services if {TRIGGER_DISPATCHER, WORKER} <= services else None

    eventually(logged, "the signal's log records from the dispatcher and the worker", timeout=60)
    # ... each under the span it was written in (its operation_ParentId).
    span_ids = {s.span_id for s in app_insights.received_spans() if s.trace_id == traces[ran]}
    assert {r.span_id for r in app_insights.received_records()
            if r.trace_id == traces[ran]} <= span_ids

    # The workspace's stand-in: the derived counters equal the database's executions.
    ids = "|".join(str(pipeline) for pipeline in pipelines)
    executions = sum(len(runs) for runs in enqueued.values())
    query = (f'sum(pipeline_executions_total{{cluster="{cluster}",status="succeeded",'
             f'pipeline_id=~"{ids}"}})')
    try:
        eventually(lambda: _remote_written(workspace, query) == executions,
                   f"{executions} executions counted in the remote-written series", timeout=90)
    except AssertionError:
        by_series = f'pipeline_executions_total{{cluster="{cluster}",pipeline_id=~"{ids}"}}'
        with httpx.Client(base_url=workspace.receiver_url, timeout=5) as client:
            found = client.get("/api/v1/query", params={"query": by_series}).json()
        raise AssertionError(f"counted {found}, refused {workspace.refusals}") from None
    for name in ("traces_span_metrics_calls_total", "traces_service_graph_request_total",
                 "signals_generated_total", "celery_queue_depth"):
        query = f'count({name}{{cluster="{cluster}"}})'
        assert eventually(lambda: _remote_written(workspace, query), f"{name} remote-written",
                          timeout=30)

    # Every request carried the token of the file; a request without one would have been
    # refused (401) and its spans, records or samples would not be here.
    assert set(app_insights.seen()) == {FIRST_TOKEN} == set(workspace.seen())
    assert app_insights.bytes_received[TRACES_PATH] and app_insights.bytes_received[LOGS_PATH]


def test_a_refreshed_token_file_is_sent_from_then_on(
        azure_platform: Platform, azure_api: httpx.Client, azure_env: dict[str, str],
        app_insights: AzureMonitorOtlp, workspace: AzureMonitorRemoteWrite, token_file: Path,
        ticker: str, tmp_path: Path) -> None:
    """The refresher replaces the file in one rename; the collector re-reads it and sends the
    new token on every endpoint, without a restart."""
    for endpoint in (app_insights, workspace):
        endpoint.accept(REFRESHED_TOKEN)
    write_token_file(token_file, REFRESHED_TOKEN)
    _, traces, _ = run_signals(azure_env, azure_api, ticker, tmp_path, count=1)

    trace_id = next(iter(traces.values()))
    eventually(lambda: any(s.trace_id == trace_id and s.token == REFRESHED_TOKEN
                           for s in app_insights.received_spans()),
               "the new signal's spans sent with the refreshed token", timeout=90)
    eventually(lambda: workspace.seen()[REFRESHED_TOKEN] > 0,
               "a remote write with the refreshed token", timeout=90)
    eventually(lambda: any(r.token == REFRESHED_TOKEN for r in app_insights.received_records()),
               "log records sent with the refreshed token", timeout=60)
