"""Redis client spans of our own, one per command or pipeline, in place of RedisInstrumentor's.

The instrumentation cost the worker ~0.3 ms of CPU per execution for its two lock calls
(py-spy on benchmarks/worker_cost.py): each span is made current through a context manager,
and its attributes are set one call at a time, the connection's read off the pool's settings
again for every command. Here the connection's attributes are computed once per pool, and a
span starts with all of its attributes and is not made current (nothing runs inside a Redis
call that could be its child). Name, statement and attributes are the instrumentation's, by
its own (private) helpers: tests/integration/test_redis_spans.py holds the spans equal and
fails if the helpers change. So is the error status, and `suppress_instrumentation()`
silences it as it does the instrumentation (the worker's lease renewals). The synchronous
client only, and no request or response hooks: the services use neither.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import redis
import redis.client
from opentelemetry import trace
from opentelemetry.instrumentation._semconv import (
    _OpenTelemetrySemanticConventionStability,
    _OpenTelemetryStabilitySignalType,
)
from opentelemetry.instrumentation.redis.util import (
    _build_span_meta_data_for_pipeline,
    _build_span_name,
    _extract_conn_attributes,
    _format_command_args,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider
from opentelemetry.util.types import AttributeValue
from wrapt import ObjectProxy, wrap_function_wrapper

from tracing import attributes as attr

SCOPE = "tradetrace.redis"
# The wrapped methods, as the instrumentation wraps them: (class, method, which wrapper).
_TARGETS = ((redis.Redis, "execute_command", "command"),
            (redis.client.Pipeline, "execute", "pipeline"),
            (redis.client.Pipeline, "immediate_execute_command", "command"))
_connection_attributes: weakref.WeakKeyDictionary[Any, dict[str, AttributeValue]] = \
    weakref.WeakKeyDictionary()


def trace_redis(tracer_provider: TracerProvider | None = None) -> None:
    """A span for every command and pipeline of every synchronous client (idempotent)."""
    if isinstance(redis.Redis.execute_command, ObjectProxy):
        return
    tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
    wrappers = {"command": _command_wrapper(tracer), "pipeline": _pipeline_wrapper(tracer)}
    for owner, name, kind in _TARGETS:
        wrap_function_wrapper(owner, name, wrappers[kind])


def untrace_redis() -> None:
    """Stop (for tests that compare with the instrumentation)."""
    for owner, name, _kind in _TARGETS:
        method = owner.__dict__.get(name)
        if isinstance(method, ObjectProxy):
            setattr(owner, name, method.__wrapped__)


def connection_attributes(client: Any) -> dict[str, AttributeValue]:
    """The attributes of the client's connection (database index, server, transport), as the
    instrumentation reads them, once per connection pool."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or not hasattr(pool, "connection_kwargs"):
        return {}
    found = _connection_attributes.get(pool)
    if found is None:
        found = _extract_conn_attributes(  # type: ignore[no-untyped-call]
            pool.connection_kwargs, *_conventions())
        _connection_attributes[pool] = found
    return found


def _conventions() -> tuple[Any, Any]:
    """The database and HTTP convention modes this process chose (OTEL_SEMCONV_STABILITY_OPT_IN,
    which setup_tracing sets for HTTP), as the instrumentation reads them."""
    stability = _OpenTelemetrySemanticConventionStability
    stability._initialize()  # type: ignore[no-untyped-call]
    return (stability._get_opentelemetry_stability_opt_in_mode(
                _OpenTelemetryStabilitySignalType.DATABASE),
            stability._get_opentelemetry_stability_opt_in_mode(
                _OpenTelemetryStabilitySignalType.HTTP))


def _command_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        span = tracer.start_span(_build_span_name(instance, args), kind=SpanKind.CLIENT,
                                 attributes={attr.DB_STATEMENT: _format_command_args(list(args)),
                                             "db.redis.args_length": len(args),
                                             **connection_attributes(instance)})
        return _call(span, wrapped, args, kwargs)
    return traced


def _pipeline_wrapper(tracer: trace.Tracer) -> Callable[..., Any]:
    def traced(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
        if not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        commands, statement, name = _build_span_meta_data_for_pipeline(instance)
        span = tracer.start_span(name, kind=SpanKind.CLIENT,
                                 attributes={attr.DB_STATEMENT: statement,
                                             "db.redis.pipeline_length": len(commands),
                                             **connection_attributes(instance)})
        return _call(span, wrapped, args, kwargs)
    return traced


def _call(span: Span, wrapped: Callable[..., Any], args: tuple[Any, ...],
          kwargs: dict[str, Any]) -> Any:
    """The call, its error on the span as the instrumentation records it (a WatchError, which
    the caller retries, is no error), and the span ended."""
    try:
        return wrapped(*args, **kwargs)
    except redis.WatchError:
        raise
    except BaseException as error:
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        raise
    finally:
        span.end()
