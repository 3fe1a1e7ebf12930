"""TRADETRACE_PROFILE=aws: X-Ray ids, the X-Ray header beside W3C's, AWS resource attributes."""

from __future__ import annotations

import time

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

from tracing.kafka import HEADERS, extract_context
from tracing.profile import current_profile, id_generator, install_propagator, profile_resource
from tracing.xray import XRayPropagator

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"


@pytest.fixture
def aws_propagator(monkeypatch):
    """The aws profile's global propagator for one test, then the previous one again."""
    saved = propagate.get_global_textmap()
    monkeypatch.delenv("OTEL_PROPAGATORS", raising=False)
    install_propagator("aws")
    yield
    propagate.set_global_textmap(saved)


def _span_context(header_name: str, value: str) -> trace.SpanContext:
    context, _ = extract_context([(header_name, value.encode())])
    return trace.get_current_span(context).get_span_context()


def test_the_profile_is_read_from_the_environment_and_an_unknown_one_is_refused(
        monkeypatch) -> None:
    monkeypatch.delenv("TRADETRACE_PROFILE", raising=False)
    assert current_profile() == "local"
    monkeypatch.setenv("TRADETRACE_PROFILE", "aws")
    assert current_profile() == "aws"
    monkeypatch.setenv("TRADETRACE_PROFILE", "azure")
    assert current_profile() == "azure"
    monkeypatch.setenv("TRADETRACE_PROFILE", "nonesuch")
    with pytest.raises(ValueError, match="TRADETRACE_PROFILE='nonesuch' is not a profile"):
        current_profile()


def test_aws_trace_ids_start_with_the_current_epoch(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_PYTHON_ID_GENERATOR", raising=False)
    ids = [id_generator("aws").generate_trace_id() for _ in range(5)]
    epochs = {trace_id >> 96 for trace_id in ids}
    assert all(abs(epoch - time.time()) < 5 for epoch in epochs)
    assert len(set(ids)) == 5
    assert isinstance(id_generator("local"), RandomIdGenerator)


def test_otel_python_id_generator_wins_over_the_profile(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_PYTHON_ID_GENERATOR", "random")
    assert isinstance(id_generator("aws"), RandomIdGenerator)
    monkeypatch.setenv("OTEL_PYTHON_ID_GENERATOR", "nonesuch")
    with pytest.raises(ValueError, match="no such id generator"):
        id_generator("aws")


def test_the_aws_resource_names_the_cloud_and_region_without_probing_elsewhere(
        monkeypatch) -> None:
    from opentelemetry.sdk.extension.aws.resource import AwsEcsResourceDetector

    from tracing import profile

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    for name in ("ECS_CONTAINER_METADATA_URI_V4", "ECS_CONTAINER_METADATA_URI",
                 "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(profile, "_on_ec2", lambda: False)
    assert profile._aws_detectors() == []          # no metadata endpoint to wait on
    profile_resource.cache_clear()
    attributes = profile_resource("aws").attributes
    profile_resource.cache_clear()
    assert attributes["cloud.provider"] == "aws" and attributes["cloud.region"] == "eu-west-1"
    assert dict(profile_resource("local").attributes) == {}

    monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", "http://169.254.170.2/v4/task")
    assert [type(d) for d in profile._aws_detectors()] == [AwsEcsResourceDetector]


def test_otel_propagators_wins_over_the_profile(monkeypatch) -> None:
    saved = propagate.get_global_textmap()
    monkeypatch.setenv("OTEL_PROPAGATORS", "tracecontext")
    install_propagator("aws")
    assert propagate.get_global_textmap() is saved


@pytest.mark.parametrize("name", ["X-Amzn-Trace-Id", "x-amzn-trace-id", "X-AMZN-TRACE-ID"])
def test_an_xray_only_kafka_message_continues_that_trace_whatever_the_header_case(
        aws_propagator, name: str) -> None:
    context, problem = extract_context([(name, f"Root={ROOT};Parent={PARENT};Sampled=1".encode())])
    span_context = trace.get_current_span(context).get_span_context()
    assert problem is None
    assert format(span_context.trace_id, "032x") == ROOT[2:].replace("-", "")
    assert format(span_context.span_id, "016x") == PARENT and span_context.trace_flags.sampled


@pytest.mark.parametrize("sampled, recorded", [
    (";Sampled=1", True), (";Sampled=0", False), (";Sampled=?", True), ("", True)])
def test_the_sampled_field_is_read_as_xray_defines_it(aws_propagator, sampled: str,
                                                      recorded: bool) -> None:
    """0: not sampled. ? or absent: the receiver decides, and ours records."""
    span_context = _span_context("X-Amzn-Trace-Id", f"Root={ROOT};Parent={PARENT}{sampled}")
    assert span_context.is_valid and span_context.trace_flags.sampled is recorded
    with TracerProvider().get_tracer("t").start_as_current_span(
            "child", context=trace.set_span_in_context(trace.NonRecordingSpan(span_context))
    ) as child:
        assert child.is_recording() is recorded
        assert child.get_span_context().trace_id == span_context.trace_id


def test_a_garbage_xray_header_is_invalid_context_not_an_error(aws_propagator) -> None:
    context, problem = extract_context([("X-Amzn-Trace-Id", b"Root=nonsense;;Parent")])
    assert problem == "invalid"
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_injection_writes_both_headers_for_one_trace(aws_propagator) -> None:
    with TracerProvider(id_generator=id_generator("aws")).get_tracer("t").start_as_current_span(
            "send") as span:
        headers: list = []
        propagate.inject(headers, setter=HEADERS)
    written = {name: value.decode() for name, value in headers}
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert written["traceparent"].split("-")[1] == trace_id
    assert f"Root=1-{trace_id[:8]}-{trace_id[8:]}" in written["X-Amzn-Trace-Id"]
    assert written["X-Amzn-Trace-Id"].endswith("Sampled=1")


def test_the_propagator_reads_any_carrier_with_a_plain_dict() -> None:
    """Celery's getter reads attributes, HTTP's lower-cases: the lookup tries each spelling."""
    context = XRayPropagator().extract({"x-amzn-trace-id": f"Root={ROOT};Parent={PARENT}"})
    assert trace.get_current_span(context).get_span_context().is_valid


def test_a_celery_request_with_only_an_xray_header_in_any_case_continues_it() -> None:
    from celery.app.task import Context
    from opentelemetry.instrumentation.celery import celery_getter

    for name in ("X-Amzn-Trace-Id", "x-amzn-trace-id", "X-AMZN-TRACE-ID"):
        request = Context({name: f"Root={ROOT};Parent={PARENT};Sampled=1", "retries": 0})
        context = XRayPropagator().extract(request, getter=celery_getter)
        span_context = trace.get_current_span(context).get_span_context()
        assert format(span_context.trace_id, "032x") == ROOT[2:].replace("-", ""), name


def test_trace_pages_link_to_the_xray_console_on_the_aws_profile(monkeypatch) -> None:
    from services.shared.settings import Settings

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    trace_id = "6751c0de" + "ab" * 12
    assert Settings(profile="aws").xray_url(trace_id) == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1"
        f"#xray:traces/1-6751c0de-{'ab' * 12}")
    assert Settings(profile="local").xray_url(trace_id) is None
