"""Small helpers for the spans the services start themselves."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

TRACER_NAME = "tradetrace"


# Made once: the API's proxy tracer follows the global provider once setup_tracing sets it,
# so the signal path does not look a tracer up for every span.
_TRACER = trace.get_tracer(TRACER_NAME)


def tracer() -> trace.Tracer:
    """The tracer of the global provider (a no-op one when tracing is disabled)."""
    return _TRACER


def record_failure(span: Span, error: BaseException, description: str | None = None) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, description or str(error)))


def current_trace_id() -> str | None:
    """The current trace id in hex, to store beside what the trace produced."""
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None
