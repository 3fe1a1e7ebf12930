"""One call per service to set up tracing, honouring the standard `OTEL_*` variables.

Honoured: OTEL_SDK_DISABLED, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG)
(parent-based always-on by default; a remote "not sampled" flag is not obeyed, see `sampler`),
OTEL_TRACES_EXPORTER and OTEL_LOGS_EXPORTER (otlp, console or none; logs: tracing/log_export.py),
OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT/PROTOCOL/TIMEOUT/HEADERS/INSECURE, OTEL_BSP_*, OTEL_PROPAGATORS
(tracecontext,baggage by default), OTEL_PYTHON_ID_GENERATOR, the span limits and
OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED (by default on for the batch processors' drop counts
only: tracing/sdk_metrics.py). An argument
never overrides a variable the user set. TRADETRACE_PROFILE=aws changes the defaults for AWS
(tracing/profile.py).
"""

from __future__ import annotations

import logging
import os

from opentelemetry import trace
from opentelemetry.processor.baggage import BaggageSpanProcessor
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler

from tracing.attributes import SIGNAL_ID
from tracing.conventions import MessagingSystemProcessor
from tracing.exporters import chosen_exporter
from tracing.log_export import setup_log_export
from tracing.profile import current_profile, id_generator, install_propagator, profile_resource
from tracing.sdk_metrics import counting_drops
from tracing.settings import TracingSettings, package_version

log = logging.getLogger(__name__)

# The process's log record provider (set up with tracing, after a fork too): flushed with it.
_log_provider: LoggerProvider | None = None

NAMESPACE = "tradetrace"

def tracing_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def build_resource(service_name: str) -> Resource:
    """service.name/version/namespace/instance.id, the deployment environment and the
    profile's (cloud) attributes; any of them set through OTEL_SERVICE_NAME or
    OTEL_RESOURCE_ATTRIBUTES wins."""
    defaults = {
        **profile_resource(current_profile()).attributes,
        "service.name": service_name,
        "service.namespace": NAMESPACE,
        "service.version": package_version(),
        "deployment.environment.name": TracingSettings().environment,
    }
    from_env = OTELResourceDetector().detect().attributes
    return HashedOnce(Resource.create({k: v for k, v in defaults.items() if k not in from_env}))


class HashedOnce(Resource):
    """A resource whose hash is computed once. The SDK's Resource hashes by serializing its
    attributes to JSON (~5 us here), and the OTLP encoders hash the resource of every span,
    record and metric they export, to group them: on the export thread of a busy service that
    was several percent of its CPU, for a value that cannot change (a Resource is immutable)."""

    def __init__(self, resource: Resource) -> None:
        super().__init__(resource.attributes, resource.schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def use_stable_http_conventions() -> None:
    """Current HTTP conventions (http.request.method, http.response.status_code): the contrib
    instrumentations still default to the old names. A value the user set is kept. It must be
    set before the first instrumentor of the process runs (logging's included): the
    instrumentation library reads it once."""
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")


def sampler() -> Sampler | None:
    """Parent-based, except that a remote parent's "not sampled" flag does not drop our spans.

    The business metrics are derived from spans, so a Kafka producer (or any client) that
    writes `traceparent: ...-00` would otherwise erase its signals from every count and every
    trace. Our services keep the parent's trace id but decide to record themselves. Sampling
    for storage happens in the collector (tail sampling), after the metrics are derived.
    OTEL_TRACES_SAMPLER, where set, wins (None: the SDK reads it).
    """
    if os.environ.get("OTEL_TRACES_SAMPLER", "").strip():
        return None
    return ParentBased(root=ALWAYS_ON, remote_parent_not_sampled=ALWAYS_ON)


def setup_tracing(service_name: str) -> TracerProvider | None:
    """Install the global TracerProvider; None (and a no-op API) when OTEL_SDK_DISABLED=true.

    Spans are exported by a BatchSpanProcessor: never on the caller's thread, and dropped
    (oldest first) rather than blocking when the collector is unreachable. The provider
    flushes on shutdown (also at exit).
    """
    if tracing_disabled():
        log.info("tracing disabled (OTEL_SDK_DISABLED=true)")
        return None
    use_stable_http_conventions()
    profile = current_profile()
    install_propagator(profile)
    provider = TracerProvider(resource=build_resource(service_name),
                              id_generator=id_generator(profile), sampler=sampler())
    provider.add_span_processor(BaggageSpanProcessor(lambda key: key == SIGNAL_ID))
    provider.add_span_processor(MessagingSystemProcessor())
    with counting_drops():
        exporter: SpanExporter | None = chosen_exporter("traces", ConsoleSpanExporter)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    global _log_provider
    _log_provider = setup_log_export(provider.resource)
    return provider


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Flush what is queued and stop the exporter (bounded by the export timeout)."""
    if provider is not None:
        provider.shutdown()
    if _log_provider is not None:
        _log_provider.shutdown()
