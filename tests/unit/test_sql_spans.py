"""Our SQL spans are the SQLAlchemy instrumentation's, made cheaper: the same name, kind,
attributes and error status for the same statements (less its `connect` spans)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation._semconv import _StabilityMode
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import _get_attributes_from_url
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tracing.sql import engine_attributes, trace_sql, untrace_sql

STATEMENTS = ["CREATE TABLE t (x INTEGER)", "INSERT INTO t VALUES (:x)",
              "SELECT x FROM t WHERE x = :x", "  update t set x = 2", "SELECT nope FROM t"]


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """A fresh in-memory database for each side."""
    made = [create_engine("sqlite://"), create_engine("sqlite://")]
    yield made
    for engine in made:
        engine.dispose()


def _run(engine: Engine, spans) -> list[tuple]:
    spans.clear()
    with engine.connect() as connection:
        for statement in STATEMENTS:
            try:
                connection.execute(text(statement), {"x": 1})
            except OperationalError:
                pass                                       # the last one: no such column
    return [(s.name, s.kind, dict(s.attributes), s.status.status_code, s.status.description)
            for s in spans.get_finished_spans() if s.name != "connect"]


def test_the_same_spans_as_the_instrumentation(engines: list[Engine], spans) -> None:
    SQLAlchemyInstrumentor().instrument(engine=engines[0])
    try:
        theirs = _run(engines[0], spans)
    finally:
        SQLAlchemyInstrumentor().uninstrument()
    trace_sql()
    try:
        ours = _run(engines[1], spans)
    finally:
        untrace_sql()
    assert len(ours) == len(STATEMENTS)
    assert ours == theirs
    assert ours[-1][3].name == "ERROR" and "no such column" in ours[-1][4]


@pytest.mark.parametrize("url", ["postgresql+psycopg://tt:pw@db.internal:6543/trading",
                                 "postgresql+psycopg://db.internal/trading", "sqlite:///x.db"])
def test_the_engine_part_is_the_instrumentations(url: str) -> None:
    """Read off the URL once per engine, as the instrumentation reads it for every statement
    (with HTTP's stable names, as setup_tracing chooses: server.address, server.port)."""
    parsed = make_url(url)
    theirs, _ = _get_attributes_from_url(parsed, _StabilityMode.DEFAULT, _StabilityMode.HTTP)
    _, ours = engine_attributes(parsed, parsed.get_dialect().name)
    ours.pop("db.system")
    assert ours == theirs


def test_suppressed_statements_make_no_span(engines: list[Engine], spans) -> None:
    """As with the instrumentation: the worker's lease renewals run suppressed."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    trace_sql()
    try:
        spans.clear()
        with suppress_instrumentation(), engines[0].connect() as connection:
            connection.execute(text("SELECT 1"))
        with engines[0].connect() as connection:
            connection.execute(text("SELECT 2"))
    finally:
        untrace_sql()
    assert [s.attributes["db.statement"] for s in spans.get_finished_spans()] == ["SELECT 2"]
