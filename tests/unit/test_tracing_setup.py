"""setup_tracing honours the standard variables; the resource says who emitted a span."""

from __future__ import annotations

import json
import subprocess
import sys

from opentelemetry.sdk.resources import Resource

from tracing.service_names import WORKER
from tracing.setup import build_resource


def test_resource_has_our_defaults(monkeypatch) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    attributes = build_resource(WORKER).attributes
    assert attributes["service.name"] == WORKER
    assert attributes["service.namespace"] == "tradetrace"
    assert attributes["service.version"]
    assert attributes["service.instance.id"]
    assert attributes["deployment.environment.name"] == "local"


def test_the_resource_hashes_and_compares_as_the_sdks() -> None:
    resource = build_resource(WORKER)
    plain = Resource(resource.attributes, resource.schema_url)
    assert hash(resource) == hash(plain) and resource == plain
    assert {resource: 1}[plain] == 1, "the encoders group spans by it"


def test_standard_variables_win(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "renamed")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES",
                       "deployment.environment.name=prod,service.namespace=desk")
    attributes = build_resource(WORKER).attributes
    assert (attributes["service.name"], attributes["service.namespace"],
            attributes["deployment.environment.name"]) == ("renamed", "desk", "prod")


def test_disabled_sdk_means_no_provider_and_no_spans() -> None:
    """In a fresh process: OTEL_SDK_DISABLED=true leaves the no-op API in place."""
    code = ("from tracing import setup_tracing, tracer; from opentelemetry import trace;"
            "assert setup_tracing('x') is None;"
            "s = tracer().start_span('y'); assert not s.get_span_context().is_valid;"
            "assert not s.is_recording(); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"OTEL_SDK_DISABLED": "true", "PATH": "/usr/bin:/bin"},
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_unreachable_collector_never_blocks_the_caller() -> None:
    """Spans are exported on the processor's thread; with nothing listening, starting and
    ending spans stays fast and shutdown returns within the exporter's timeout."""
    code = ("import time; from tracing import setup_tracing, shutdown_tracing, tracer;"
            "p = setup_tracing('x'); t0 = time.monotonic();"
            "[tracer().start_span('s').end() for _ in range(2000)];"
            "spent = time.monotonic() - t0; t1 = time.monotonic(); shutdown_tracing(p);"
            "print(f'{spent:.3f} {time.monotonic() - t1:.3f}')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin",
                                             "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
                                             "OTEL_EXPORTER_OTLP_TIMEOUT": "1"})
    assert result.returncode == 0, result.stderr
    spent, shutdown = map(float, result.stdout.split())
    assert spent < 2.0          # 2000 spans, none of them waiting for the export
    assert shutdown < 15.0      # bounded by the export timeout, not hanging


def test_a_foreign_not_sampled_flag_does_not_drop_our_spans(spans) -> None:
    """A producer writing `traceparent: ...-00` keeps its trace id, not its sampling decision:
    our spans are recorded and exported (the metrics are derived from them)."""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    from tracing import tracer

    foreign = "0af7651916cd43dd8448eb211c80319c"
    parent = TraceContextTextMapPropagator().extract(
        {"traceparent": f"00-{foreign}-b7ad6b7169203331-00"})
    with tracer().start_as_current_span("process trading-signals", context=parent) as span:
        assert span.is_recording() and span.get_span_context().trace_flags.sampled
        with tracer().start_as_current_span("child") as child:   # and what follows it
            assert child.get_span_context().trace_flags.sampled
    exported = {s.name: s for s in spans.get_finished_spans()}
    assert set(exported) == {"process trading-signals", "child"}
    assert format(exported["process trading-signals"].context.trace_id, "032x") == foreign


def test_a_sampler_the_user_sets_wins(monkeypatch) -> None:
    from tracing.setup import sampler

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    assert sampler() is None          # the SDK reads OTEL_TRACES_SAMPLER(_ARG) itself


def test_celery_spans_name_their_messaging_system(spans, _provider) -> None:
    """The service graph's dispatcher -> worker edge carries messaging.system (the Celery
    instrumentation sets none); other spans are left alone."""
    from tracing.conventions import CELERY_SCOPE

    with _provider.get_tracer(CELERY_SCOPE).start_as_current_span("apply_async/x"):
        pass
    with _provider.get_tracer("tradetrace").start_as_current_span("pipeline.execute"):
        pass
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert by_name["apply_async/x"].attributes["messaging.system"] == "celery"
    assert "messaging.system" not in by_name["pipeline.execute"].attributes


def _sdk_metrics_in_a_fresh_process(env: dict[str, str]) -> dict[str, float]:
    """The SDK's own metrics after 200 spans, in a fresh process set up as a service is, with
    the export stuck and a queue of 4: {name (and error.type where there is one): sum}."""
    code = ("import json;"
            "from opentelemetry import metrics;"
            "from opentelemetry.sdk.metrics import MeterProvider;"
            "from opentelemetry.sdk.metrics.export import InMemoryMetricReader;"
            "reader = InMemoryMetricReader();"
            "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]));"
            "from tracing import setup_tracing, tracer; setup_tracing('x');"
            "[tracer().start_span('s').end() for _ in range(200)];"
            "sums = {};"
            "points = [(m.name, p) for r in reader.get_metrics_data().resource_metrics"
            " for s in r.scope_metrics for m in s.metrics for p in m.data.data_points];"
            "[sums.__setitem__(k, sums.get(k, 0) + getattr(p, 'value', 1)) for n, p in points"
            " for k in [n + ':' + str(p.attributes.get('error.type', ''))]];"
            "print(json.dumps(sums))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin",
                                             "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1",
                                             "OTEL_EXPORTER_OTLP_TIMEOUT": "1",
                                             "OTEL_BSP_MAX_QUEUE_SIZE": "4",
                                             "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "4", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_spans_the_sdk_drops_are_counted_in_the_service_metrics() -> None:
    """The dropped spans show as `otel.sdk.processor.span.processed{error.type=queue_full}`
    (what ServiceDroppingTelemetry alerts on) without any variable set by hand; the provider's
    count of every span started (three counter updates per span) is not kept."""
    sums = _sdk_metrics_in_a_fresh_process({})
    assert sums.get("otel.sdk.processor.span.processed:queue_full", 0) > 0, sums
    assert not [name for name in sums if name.startswith("otel.sdk.span.")], sums


def test_the_users_choice_of_sdk_metrics_applies_to_every_part() -> None:
    sums = _sdk_metrics_in_a_fresh_process({"OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED": "true"})
    assert sums.get("otel.sdk.span.started:") == 200, sums
