"""The Google Cloud profile on the real local stack: the same service processes, other variables.

The services run with TRADETRACE_PROFILE=gcp against a second collector of our binary started
with collector/spanmetrics.yaml + collector/gcp.yaml. Its googlecloud exporter calls Cloud
Trace and Cloud Logging, its googlemanagedprometheus exporter Cloud Monitoring, all at one TLS
gRPC stand-in (trusted through SSL_CERT_FILE, as a private root would be). Credentials are
Application Default Credentials as on GCE or GKE: the metadata server's stand-in
(GCE_METADATA_HOST) hands out the access tokens and tells the gcp detector the project and zone;
the API stand-in refuses a call without a token the metadata server issued.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cloud_profile import (
    profile_collector,
    profile_env,
    profile_platform,
    run_signals,
    whole_trace,
)
from tests.support.gcp_api import (
    PROJECT,
    ZONE,
    GoogleCloudApis,
    MetadataServer,
    Point,
    self_signed_certificate,
)
from tests.support.platform import api_client, settings_from_env, signal_for
from tests.support.polling import eventually
from tracing import span_names
from tracing.service_names import BACKEND, TRIGGER_DISPATCHER, WORKER
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import GCP_OVERLAY, CollectorOnOwnPorts

FIRST_TOKEN, REFRESHED_TOKEN = "ya29.standin-1", "ya29.standin-2"
# Cloud Trace keeps at most this many attributes on a span (and 128 links, as the SDK's cap).
CLOUD_TRACE_ATTRIBUTES_PER_SPAN = 32
EXECUTIONS = "prometheus.googleapis.com/pipeline_executions_total/counter"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes, bytes]:
    return self_signed_certificate(tmp_path_factory.mktemp("gcp-tls"))


@pytest.fixture(scope="module")
def google_apis(certificate) -> Iterator[GoogleCloudApis]:
    _, key, cert = certificate
    apis = GoogleCloudApis(key, cert)
    apis.accept(FIRST_TOKEN)
    yield apis
    apis.close()


@pytest.fixture(scope="module")
def metadata() -> Iterator[MetadataServer]:
    server = MetadataServer(FIRST_TOKEN)
    yield server
    server.close()


@pytest.fixture(scope="module")
def gcp_collector(stack: Stack, google_apis: GoogleCloudApis, metadata: MetadataServer,
                  certificate, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[CollectorOnOwnPorts]:
    trusted, _, _ = certificate
    with profile_collector(tmp_path_factory.mktemp("gcp-collector"), GCP_OVERLAY, {
        "GOOGLE_CLOUD_TRACE_ENDPOINT": google_apis.address,
        "GOOGLE_CLOUD_LOGGING_ENDPOINT": google_apis.address,
        "GOOGLE_CLOUD_MONITORING_ENDPOINT": google_apis.address,
        "GCE_METADATA_HOST": metadata.host,
        "SSL_CERT_FILE": str(trusted),
        "HOME": str(tmp_path_factory.mktemp("gcp-home")),   # no gcloud credentials of the user
    }) as collector:
        yield collector


@pytest.fixture(scope="module")
def gcp_env(platform_env: dict[str, str],
            gcp_collector: CollectorOnOwnPorts) -> Iterator[dict[str, str]]:
    with profile_env(platform_env, "gcp", gcp_collector) as env:
        yield env


@pytest.fixture(scope="module")
def gcp_platform(gcp_env: dict[str, str], tmp_path_factory) -> Iterator[Platform]:
    with profile_platform(gcp_env, tmp_path_factory.mktemp("gcp-platform"),
                          [BACKEND, TRIGGER_DISPATCHER, WORKER]) as services:
        yield services


@pytest.fixture(scope="module")
def gcp_api(gcp_platform: Platform) -> Iterator[httpx.Client]:
    with api_client(gcp_platform) as client:
        yield client


def _latest(points: list[Point], metric_type: str, **labels: str) -> dict[tuple, float]:
    """The last value of each series of the metric whose labels include these."""
    latest: dict[tuple, float] = {}
    for point in points:
        if point.metric_type == metric_type and labels.items() <= point.labels.items():
            key = (tuple(sorted(point.labels.items())),
                   tuple(sorted(point.resource_labels.items())))
            latest[key] = point.value
    return latest


def test_signals_flow_in_the_gcp_profile_as_one_trace_each_with_adc(
        gcp_platform: Platform, gcp_api: httpx.Client, gcp_env: dict[str, str],
        google_apis: GoogleCloudApis, ticker: str, tmp_path: Path) -> None:
    settings = settings_from_env(gcp_env)
    pipelines, traces, enqueued = run_signals(gcp_env, gcp_api, ticker, tmp_path, count=2)
    assert any(enqueued.values())

    # Cloud Trace's stand-in: one trace per signal, rooted at the generation, the parent chain
    # intact, in the project the metadata server named, within Cloud Trace's limits.
    process = span_names.kafka_process(settings.signals_topic)
    for signal_id, trace_id in traces.items():
        expected = Counter({span_names.SIGNAL_GENERATE: 1, process: 1,
                            span_names.PIPELINE_EXECUTE: len(enqueued[signal_id])})
        found = eventually(lambda: whole_trace(google_apis.received_spans(), trace_id,
                                                expected),
                           f"the whole trace of {signal_id}", timeout=90)
        [root] = [s for s in found if not s.parent_span_id]
        assert root.name == span_names.SIGNAL_GENERATE
        executes = [s for s in found if s.name == span_names.PIPELINE_EXECUTE]
        assert sorted(int(s.attributes["pipeline.id"]) for s in executes) == sorted(
            enqueued[signal_id])
        assert all(len(s.attributes) <= CLOUD_TRACE_ATTRIBUTES_PER_SPAN
                   and s.dropped_attributes == 0 for s in found)

    # Cloud Logging's stand-in: the records of a signal that ran, under the trace field Cloud
    # Logging links to Cloud Trace, from the dispatcher and the worker.
    ran = next(signal_id for signal_id, runs in enqueued.items() if runs)
    trace_field = f"projects/{PROJECT}/traces/{traces[ran]}"

    def logged() -> set[str] | None:
        services = {e.labels.get("service.name", "") for e in google_apis.received_entries()
                    if e.trace == trace_field}
        return services if {TRIGGER_DISPATCHER, WORKER} <= services else None

    eventually(logged, "the signal's log records from the dispatcher and the worker", timeout=60)
    # ... each under the span it was written in (Cloud Trace shows it there).
    span_ids = {s.span_id for s in google_apis.received_spans() if s.trace_id == traces[ran]}
    assert {e.span_id for e in google_apis.received_entries()
            if e.trace == trace_field} <= span_ids

    # Managed Prometheus's stand-in: the derived counters equal the database's executions, on
    # prometheus_target series located where the gcp detector found the collector.
    executions = sum(len(runs) for runs in enqueued.values())

    def counted() -> float:
        return sum(value for (labels, _), value in
                   _latest(google_apis.received_points(), EXECUTIONS, status="succeeded").items()
                   if dict(labels).get("pipeline_id") in {str(p) for p in pipelines})

    eventually(lambda: counted() == executions,
               f"{executions} executions counted in Managed Prometheus", timeout=90)
    resources = {(p.project, p.resource_type, p.resource_labels["location"])
                 for p in google_apis.received_points() if p.metric_type == EXECUTIONS}
    assert resources == {(PROJECT, "prometheus_target", ZONE)}
    assert not google_apis.refused

    # Every call carried a token the metadata server issued; one without would have been
    # refused (UNAUTHENTICATED) and its spans, entries or points would not be here.
    assert set(google_apis.seen()) == {FIRST_TOKEN}


def test_a_refreshed_token_is_sent_from_then_on(
        gcp_platform: Platform, gcp_env: dict[str, str], google_apis: GoogleCloudApis,
        metadata: MetadataServer, ticker: str) -> None:
    """The metadata server's tokens live 5 s here: once it hands out another, the collector's
    credentials renew theirs and every API gets the new one, without a restart. The platform's
    own traffic carries it: the dispatcher's index refreshes (spans), the flushes of the
    derived metrics (samples), and a signal's log lines, one more signal a try."""
    settings = settings_from_env(gcp_env)
    google_apis.accept(REFRESHED_TOKEN)
    metadata.token = REFRESHED_TOKEN

    eventually(lambda: any(s.token == REFRESHED_TOKEN for s in google_apis.received_spans()),
               "spans sent with the refreshed token", timeout=60)
    eventually(lambda: any(p.token == REFRESHED_TOKEN for p in google_apis.received_points()),
               "samples sent with the refreshed token", timeout=60)

    def logged_with_the_new_token() -> bool:
        emit.publish(settings, signal_for(ticker))       # the dispatcher logs its batch
        return any(e.token == REFRESHED_TOKEN for e in google_apis.received_entries())

    eventually(logged_with_the_new_token, "log entries sent with the refreshed token",
               timeout=60, interval=3)
    assert metadata.tokens_issued[REFRESHED_TOKEN] > 0
