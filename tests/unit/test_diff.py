"""The signal diff's alignment: segments and span paths matched by name on both sides, each
with when it began, what is on one side only, what changed status, and the step that differs
most."""

from __future__ import annotations

import pytest

from services.backend.explorer.blame import Segment
from services.backend.explorer.diff import PipelineDiff, Side
from services.backend.explorer.diff_steps import segment_steps, span_steps
from trace_reader.model import Span, Trace


def _side(*segments: tuple[str, float]) -> Side:
    return Side("e", "succeeded", sum(ms for _, ms in segments),
                [Segment(name, ms) for name, ms in segments])


def test_segments_align_by_name_with_when_each_began_and_the_largest_difference() -> None:
    slow = _side(("in_kafka", 2.0), ("dispatch", 1.0), ("in_queue", 3000.0),
                 ("agent:market_data", 10.0), ("rest", 1.0))
    typical = _side(("in_kafka", 3.0), ("dispatch", 1.0), ("in_queue", 4.0),
                    ("agent:market_data", 12.0), ("agent:risk_check", 5.0), ("rest", 1.0))
    steps = segment_steps(slow.segments, typical.segments)
    assert [s.name for s in steps] == ["in_kafka", "dispatch", "in_queue", "agent:market_data",
                                       "rest", "agent:risk_check"]
    by_name = {s.name: s for s in steps}
    assert by_name["in_queue"].difference_ms == pytest.approx(2996.0)
    assert by_name["agent:market_data"].a_at_ms == pytest.approx(3003.0)
    assert by_name["agent:market_data"].b_at_ms == pytest.approx(8.0)
    assert by_name["agent:risk_check"].only == "b" and by_name["agent:risk_check"].a_ms is None
    assert by_name["in_kafka"].difference_ms == pytest.approx(-1.0)
    largest = PipelineDiff(1, "p", slow, typical, steps).largest
    assert largest is not None and largest.name == "in_queue"


def test_a_pipeline_on_one_side_only_has_every_step_on_that_side() -> None:
    steps = segment_steps(None, _side(("in_kafka", 1.0), ("run", 4.0)).segments)
    assert [(s.only, s.b_at_ms) for s in steps] == [("b", 0.0), ("b", 1.0)]


def _span(span_id: str, service: str, name: str, start_us: int, duration_us: int,
          **tags: object) -> Span:
    return Span(span_id, None, service, name, start_us, duration_us, dict(tags))


def _run(span_id: str, start_us: int, agent: Span) -> list[Span]:
    """A pipeline's run and the agent's span it holds (which does not name its pipeline)."""
    run = _span(span_id, "worker", "pipeline.execute", start_us, 1, **{"pipeline.id": 7})
    agent.parent_id, run.children = span_id, [agent]
    return [run, agent]


def test_spans_align_by_path_count_repeats_and_mark_status_changes_and_one_sided_paths() -> None:
    a = Trace("a" * 32, [
        _span("1", "signal-generator", "signal.generate", 1_000, 500),
        *_run("r", 8_999, _span("2", "worker", "agent.run", 9_000, 4_000,
                               **{"agent.name": "risk_check", "otel.status_code": "ERROR"})),
        _span("3", "worker", "SELECT", 5_000, 100),
        _span("4", "worker", "SELECT", 6_000, 300),
    ])
    b = Trace("b" * 32, [
        _span("1", "signal-generator", "signal.generate", 50_000, 700),
        *_run("r", 51_999, _span("2", "worker", "agent.run", 52_000, 1_000,
                                **{"agent.name": "risk_check"})),
        _span("5", "worker", "UPDATE", 51_000, 200),
    ])
    steps = {s.name: s for s in span_steps(a, b)}
    assert list(steps) == ["signal-generator: signal.generate", "worker: SELECT",
                           "worker: pipeline.execute (pipeline 7)",
                           "worker: agent.run [risk_check] (pipeline 7)", "worker: UPDATE"]
    agent = steps["worker: agent.run [risk_check] (pipeline 7)"]
    assert (agent.a_ms, agent.b_ms, agent.a_at_ms, agent.b_at_ms) == (4.0, 1.0, 8.0, 2.0)
    assert agent.status_changed and agent.a_failed and not agent.b_failed
    select = steps["worker: SELECT"]
    assert (select.a_count, select.a_ms, select.a_at_ms, select.only) == (2, 0.4, 4.0, "a")
    assert steps["worker: UPDATE"].only == "b"
    assert steps["signal-generator: signal.generate"].difference_ms == pytest.approx(-0.2)
