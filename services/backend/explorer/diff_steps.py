"""The signal diff's alignment (diff.py reads the two sides): steps matched by name on both
sides, each with its time and when it began, what is on one side only, what changed status.
Segments are matched by their names (blame.py's); spans by their path, what a span is
whichever trace it is in."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from services.backend.explorer.blame import Segment
from trace_reader.model import Span, Trace


@dataclass(frozen=True)
class Step:
    """One step on both sides: its time (None where that side has no such step), when it
    began from its origin, and, for spans, how many there were and whether any failed."""

    name: str
    a_ms: float | None
    b_ms: float | None
    a_at_ms: float | None = None
    b_at_ms: float | None = None
    a_count: int | None = None
    b_count: int | None = None
    a_failed: bool = False
    b_failed: bool = False

    @property
    def difference_ms(self) -> float:
        """How much longer it took on side a (negative: shorter)."""
        return (self.a_ms or 0.0) - (self.b_ms or 0.0)

    @property
    def only(self) -> str | None:
        """"a" or "b" for a step on that side alone."""
        return "a" if self.b_ms is None else "b" if self.a_ms is None else None

    @property
    def status_changed(self) -> bool:
        return self.only is None and self.a_failed != self.b_failed

    def as_json(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)
        return {"name": self.name, "a_ms": rounded(self.a_ms), "b_ms": rounded(self.b_ms),
                "difference_ms": round(self.difference_ms, 3),
                "a_at_ms": rounded(self.a_at_ms), "b_at_ms": rounded(self.b_at_ms),
                "a_count": self.a_count, "b_count": self.b_count,
                "a_failed": self.a_failed, "b_failed": self.b_failed, "only": self.only,
                "status_changed": self.status_changed}


def segment_steps(a: list[Segment] | None, b: list[Segment] | None) -> list[Step]:
    """Two runs' segments aligned by name (a's order, then b's others), each with when it
    began: the sum of the segments before it."""
    def timed(segments: list[Segment] | None) -> dict[str, tuple[float, float]]:
        began = accumulate((s.ms for s in segments or []), initial=0.0)
        return {s.name: (s.ms, at) for s, at in zip(segments or [], began, strict=False)}
    on_a, on_b = timed(a), timed(b)
    steps = []
    for name in [*on_a, *(n for n in on_b if n not in on_a)]:
        a_ms, a_at = on_a.get(name, (None, None))
        b_ms, b_at = on_b.get(name, (None, None))
        steps.append(Step(name, a_ms, b_ms, a_at, b_at))
    return steps


def span_path(span: Span, pipeline: object | None) -> str:
    """What a span is, whichever trace it is in: its service and name, the agent it ran and
    the pipeline it ran for (its own or its nearest ancestor's: an agent's span does not
    name its pipeline); not its ids or counts, which differ from signal to signal."""
    path = f"{span.service}: {span.name}"
    if "agent.name" in span.tags:
        path += f" [{span.tags['agent.name']}]"
    if pipeline is not None:
        path += f" (pipeline {pipeline})"
    return path


def _pipelines(trace: Trace) -> dict[str, object]:
    """Each span's pipeline: its own `pipeline.id`, else its nearest ancestor's."""
    found: dict[str, object] = {}
    stack: list[tuple[Span, object | None]] = [(root, None) for root in trace.roots]
    while stack:
        span, inherited = stack.pop()
        own = span.tags.get("pipeline.id", inherited)
        if own is not None:
            found[span.span_id] = own
        stack.extend((child, own) for child in span.children)
    return found


@dataclass
class _Path:
    count: int
    total_us: int
    first_at_us: int
    failed: bool


def _paths(trace: Trace) -> dict[str, _Path]:
    """A trace's spans by path, in the order their first span began."""
    if not trace.spans:
        return {}
    origin = min(span.start_us for span in trace.spans)
    pipelines = _pipelines(trace)
    paths: dict[str, _Path] = {}
    for span in sorted(trace.spans, key=lambda s: s.start_us):
        path = span_path(span, pipelines.get(span.span_id))
        found = paths.setdefault(path, _Path(0, 0, span.start_us - origin, False))
        found.count += 1
        found.total_us += span.duration_us
        found.failed = found.failed or span.failed
    return paths


def span_steps(a: Trace, b: Trace) -> list[Step]:
    """Two traces' spans aligned by path (a's order, then b's others)."""
    on_a, on_b = _paths(a), _paths(b)

    def side(found: _Path | None) -> tuple[float | None, float | None, int | None, bool]:
        if found is None:
            return None, None, None, False
        return found.total_us / 1000, found.first_at_us / 1000, found.count, found.failed
    steps = []
    for path in [*on_a, *(p for p in on_b if p not in on_a)]:
        a_ms, a_at, a_count, a_failed = side(on_a.get(path))
        b_ms, b_at, b_count, b_failed = side(on_b.get(path))
        steps.append(Step(path, a_ms, b_ms, a_at, b_at, a_count, b_count, a_failed, b_failed))
    return steps
