"""A trace laid out as a waterfall: one row per span in tree order, bars on one time axis.

The trace model is the trace reader's (trace_reader/model.py: Jaeger's JSON parsed, children
linked), so `tradetrace trace` and the explorer tell the same story. What the page adds:
- the wait in a queue (Kafka, or Celery's) between a PRODUCER span and its CONSUMER child in
  another service, drawn as a segment of its own before the consumer's bar;
- the critical path: the span that ended last and its ancestors, the chain that decided when
  the signal was done.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trace_reader.model import Span, Trace

MIN_WIDTH_PERCENT = 0.3         # a 20 us span in a 2 s trace is still a visible tick


@dataclass(frozen=True)
class Wait:
    queue: str                  # "Kafka" or "Celery queue"
    left: float                 # percent of the trace's duration
    width: float
    ms: float


@dataclass
class Row:
    span: Span
    depth: int
    left: float
    width: float
    offset_ms: float
    wait: Wait | None = None
    critical: bool = False
    error: str | None = None
    attributes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Waterfall:
    trace_id: str
    duration_ms: float
    services: list[str]
    rows: list[Row]
    ticks: list[tuple[float, str]]      # (percent, label) along the time axis

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.error is not None)


def layout(trace: Trace) -> Waterfall:
    start = min(s.start_us for s in trace.spans)
    total = max(max(s.end_us for s in trace.spans) - start, 1)
    critical = _critical_path(trace)

    def percent(us: int) -> float:
        return 100.0 * (us - start) / total

    rows: list[Row] = []

    def walk(span: Span, depth: int, parent: Span | None) -> None:
        rows.append(Row(
            span=span, depth=depth, left=percent(span.start_us),
            width=max(100.0 * span.duration_us / total, MIN_WIDTH_PERCENT),
            offset_ms=(span.start_us - start) / 1000,
            wait=_wait(parent, span, percent) if parent else None,
            critical=span.span_id in critical,
            error=_error(span),
            attributes=sorted((key, str(value)) for key, value in span.tags.items())))
        for child in span.children:
            walk(child, depth + 1, span)

    for root in trace.roots:
        walk(root, 0, None)
    return Waterfall(trace.trace_id, total / 1000, sorted({s.service for s in trace.spans}),
                     rows, _ticks(total))


def _wait(parent: Span, child: Span, percent) -> Wait | None:
    """The time a message spent in a queue between a producer and its consumer elsewhere."""
    if parent.kind != "producer" or child.kind != "consumer" or parent.service == child.service:
        return None
    # The consumer may start before the producer's span ends (it ends on the delivery report).
    sent = parent.end_us if parent.end_us <= child.start_us else parent.start_us
    queue = "Kafka" if parent.tags.get("messaging.system") == "kafka" else "Celery queue"
    return Wait(queue, percent(sent), max(percent(child.start_us) - percent(sent), 0.0),
                (child.start_us - sent) / 1000)


def _critical_path(trace: Trace) -> set[str]:
    """The span that ended last and its ancestors."""
    by_id = {s.span_id: s for s in trace.spans}
    last: Span | None = max(trace.spans, key=lambda s: s.end_us)
    path: set[str] = set()
    while last is not None and last.span_id not in path:
        path.add(last.span_id)
        last = by_id.get(last.parent_id) if last.parent_id else None
    return path


def _error(span: Span) -> str | None:
    if not span.failed:
        return None
    return str(span.tags.get("otel.status_description") or span.tags.get("error.type")
               or "error")


def _ticks(total_us: int, count: int = 5) -> list[tuple[float, str]]:
    return [(100.0 * i / count, _duration(total_us * i / count / 1000)) for i in range(count + 1)]


def _duration(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.1f} ms"
