"""A signal's trace printed as an indented tree, for `tradetrace trace`.

Between a PRODUCER span and its CONSUMER child in another process lies a queue: the tree
shows the time spent waiting there (in Kafka, or in the Celery queue).
"""

from __future__ import annotations

from trace_reader.logs import LogLine
from trace_reader.model import Span, Trace, queue_wait


def render(trace: Trace) -> str:
    """The trace as an indented tree: start offset, duration, status, service and span."""
    start = min(s.start_us for s in trace.spans)
    end = max(s.end_us for s in trace.spans)
    services = sorted({s.service for s in trace.spans})
    lines = [f"trace {trace.trace_id}: {len(trace.spans)} spans, {len(services)} services "
             f"({', '.join(services)}), {(end - start) / 1000:.1f} ms",
             f"{'start':>10} {'duration':>10}  status  span"]

    by_span: dict[str | None, list[LogLine]] = {}
    for log in trace.logs:
        by_span.setdefault(log.span_id, []).append(log)

    def walk(span: Span, depth: int, parent: Span | None) -> None:
        wait = queue_wait(parent, span) if parent else None
        if wait:
            lines.append(f"{'':>10} {'':>10}  {'':6}  {'  ' * depth}~ {wait}")
        status = "ERROR" if span.failed else "ok"
        lines.append(f"{(span.start_us - start) / 1000:>8.1f}ms {span.duration_us / 1000:>8.1f}ms"
                     f"  {status:<6}  {'  ' * depth}{span.service}: {span.label}")
        for log in by_span.pop(span.span_id, []):
            at = log.time.timestamp() * 1e6 - start
            lines.append(f"{at / 1000:>8.1f}ms {'':>10}  {log.level.lower():<6}  "
                         f"{'  ' * (depth + 1)}| {log.service}: {log.message}")
        for child in span.children:
            walk(child, depth + 1, span)

    for root in trace.roots:
        walk(root, 0, None)
    for rest in by_span.values():        # written in spans Jaeger does not hold (yet)
        lines += [f"{'':>10} {'':>10}  {log.level.lower():<6}  | {log.service}: {log.message}"
                  for log in rest]
    return "\n".join(lines)
