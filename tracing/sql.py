"""SQL client spans of our own, one per statement, in place of SQLAlchemyInstrumentor's.

The instrumentation cost the worker ~0.8 ms of CPU per execution (py-spy on
benchmarks/worker_cost.py, about a third of tracing's cost there): for every statement it
parses the engine's URL again, reads the database name off the cursor, sets the attributes one
by one and makes the span current; it adds a `connect` span for every connection checkout
(two per execution, measuring the pool and its pre-ping, not the database) and records the
pool's usage in an UpDownCounter on every checkout and check-in (a metric nothing reads).

Here the engine's part of the attributes is computed once per engine, and a statement's span
starts with all of its attributes: the same name (the statement's first word and the
database), kind and attributes as the instrumentation's (tests/unit/test_sql_spans.py holds
them equal), the same error status. Not kept: the `connect` spans and the pool metric. The
listeners sit on SQLAlchemy's Engine class, so every engine is traced whenever it is made.
"""

from __future__ import annotations

import weakref
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine

from tracing import attributes as attr

SCOPE = "tradetrace.sql"
_tracer = trace.get_tracer(SCOPE)
# The SQLAlchemy dialect's name where the convention names the system otherwise.
_SYSTEMS = {"postgres": "postgresql", "sqlite": "sqlite", "mysql": "mysql"}
# Each engine's part of the attributes, read once (hashing its URL for a cache cost ~3 us a
# statement; a lookup by the engine itself ~0.3).
_by_engine: weakref.WeakKeyDictionary[Engine, tuple[str, dict[str, AttributeValue]]] = \
    weakref.WeakKeyDictionary()


def trace_sql() -> None:
    """A span for every statement of every engine, from now on (idempotent)."""
    if not event.contains(Engine, "before_cursor_execute", _start):
        event.listen(Engine, "before_cursor_execute", _start)
        event.listen(Engine, "after_cursor_execute", _end)
        event.listen(Engine, "handle_error", _fail)


def untrace_sql() -> None:
    """Stop (for tests that compare with the instrumentation)."""
    for name, listener in (("before_cursor_execute", _start), ("after_cursor_execute", _end),
                           ("handle_error", _fail)):
        if event.contains(Engine, name, listener):
            event.remove(Engine, name, listener)


def engine_attributes(url: URL, dialect: str) -> tuple[str, dict[str, AttributeValue]]:
    """(the database's name, the attributes every statement of this engine carries)."""
    found: dict[str, AttributeValue] = {}
    if url.host:
        found[attr.SERVER_ADDRESS] = url.host
    if url.port:
        found[attr.SERVER_PORT] = url.port
    if url.database:
        found[attr.DB_NAME] = url.database
    if url.username:
        found[attr.DB_USER] = url.username
    found[attr.DB_SYSTEM] = _SYSTEMS.get(dialect, dialect)
    return url.database or "", found


def statement_span_name(statement: str, database: str) -> str:
    """The statement's first word and the database, as the instrumentation names it."""
    operation = statement.split(None, 1)[0] if statement.strip() else ""
    return " ".join(part for part in (operation, database) if part)


def _start(conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any,
           _executemany: bool) -> None:
    if not is_instrumentation_enabled():     # suppress_instrumentation(): the lease renewals
        return
    engine = conn.engine
    found = _by_engine.get(engine)
    if found is None:
        found = _by_engine[engine] = engine_attributes(engine.url, engine.dialect.name)
    database, common = found
    name = statement_span_name(statement, database) or str(common[attr.DB_SYSTEM])
    context._tradetrace_span = _tracer.start_span(name, kind=SpanKind.CLIENT, attributes={
        **common, attr.DB_STATEMENT: statement, attr.DB_OPERATION: name})


def _end(_conn: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any,
         _executemany: bool) -> None:
    span = getattr(context, "_tradetrace_span", None)
    if span is not None:
        span.end()


def _fail(error_context: Any) -> None:
    span = getattr(error_context.execution_context, "_tradetrace_span", None)
    if span is not None:
        span.set_status(Status(StatusCode.ERROR, str(error_context.original_exception)))
        span.end()
