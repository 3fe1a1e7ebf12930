"""The explorer's waterfall: rows in tree order on one axis, queue waits, the critical path."""

from __future__ import annotations

from services.backend.explorer.waterfall import layout
from trace_reader.model import parse_trace
from tracing.service_names import SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER


def _span(span_id: str, parent: str | None, process: str, name: str, start: int,
          duration: int, tags: dict[str, object] | None = None) -> dict:
    return {"spanID": span_id, "operationName": name, "processID": process,
            "startTime": start, "duration": duration,
            "references": [{"refType": "CHILD_OF", "spanID": parent}] if parent else [],
            "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}


KAFKA_PRODUCER = {"span.kind": "producer", "messaging.system": "kafka"}
KAFKA_CONSUMER = {"span.kind": "consumer", "messaging.system": "kafka"}


def _trace() -> dict:
    """generate → publish (Kafka) → dispatcher process → celery publish → two worker runs."""
    return {"traceID": "ab" * 16,
            "processes": {"g": {"serviceName": SIGNAL_GENERATOR},
                          "d": {"serviceName": TRIGGER_DISPATCHER},
                          "w": {"serviceName": WORKER}},
            "spans": [
                _span("1", None, "g", "signal.generate", 0, 1_000),
                _span("2", "1", "g", "trading-signals publish", 100, 800, KAFKA_PRODUCER),
                _span("3", "2", "d", "trading-signals process", 5_000, 2_000, KAFKA_CONSUMER),
                _span("4", "3", "d", "apply_async/pipeline.run", 6_000, 500,
                      {"span.kind": "producer"}),
                _span("5", "4", "w", "run/pipeline.run", 10_000, 90_000, {"span.kind": "consumer"}),
                _span("6", "4", "w", "run/pipeline.run", 12_000, 30_000, {
                    "span.kind": "consumer", "otel.status_code": "ERROR",
                    "otel.status_description": "agent <b> failed"}),
            ]}


def test_rows_follow_the_tree_on_one_axis() -> None:
    waterfall = layout(parse_trace(_trace()))
    assert [(row.span.span_id, row.depth) for row in waterfall.rows] == [
        ("1", 0), ("2", 1), ("3", 2), ("4", 3), ("5", 4), ("6", 4)]
    assert waterfall.duration_ms == 100.0
    assert waterfall.rows[4].left == 10.0 and waterfall.rows[4].width == 90.0
    assert waterfall.services == [SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER]


def test_waits_in_kafka_and_in_the_celery_queue_are_segments_of_their_own() -> None:
    rows = {row.span.span_id: row for row in layout(parse_trace(_trace())).rows}
    kafka, celery = rows["3"].wait, rows["5"].wait
    assert kafka is not None and kafka.queue == "Kafka" and kafka.ms == 4.1
    assert (kafka.left, round(kafka.width, 3)) == (0.9, 4.1)
    assert celery is not None and celery.queue == "Celery queue" and celery.ms == 3.5
    assert rows["4"].wait is None        # same service: no queue between them
    assert rows["1"].wait is None


def test_the_critical_path_ends_at_the_span_that_ended_last() -> None:
    rows = layout(parse_trace(_trace())).rows
    assert {row.span.span_id for row in rows if row.critical} == {"1", "2", "3", "4", "5"}


def test_an_error_span_carries_its_message() -> None:
    waterfall = layout(parse_trace(_trace()))
    assert [row.error for row in waterfall.rows if row.error] == ["agent <b> failed"]
    assert waterfall.errors == 1
