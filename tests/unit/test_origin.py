"""Latency from origin on a finished run's span: the hops add up, clocks apart are said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.shared.db import TriggerMode
from services.shared.objectives import LatencyObjective, objective_for
from services.shared.tasks import PipelineRun
from services.worker.origin import from_origin
from tracing import attributes as attr

GENERATED = datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=UTC)
WITHIN_10_MS = LatencyObjective(10, 0.99)


def _run(mode: TriggerMode, generated: datetime | None = GENERATED) -> PipelineRun:
    signal = None if generated is None else {"signal_id": "s", "generated_at":
                                             generated.isoformat().replace("+00:00", "Z")}
    return PipelineRun(execution_id="e", pipeline_id=1, trigger_mode=mode, signal=signal,
                       lock_token="t")


def test_a_signals_run_is_timed_from_its_generation_and_the_hops_add_up() -> None:
    queued = GENERATED + timedelta(microseconds=4_321)
    started = queued + timedelta(microseconds=2_002)
    finished = started + timedelta(milliseconds=15, microseconds=7)
    found = from_origin(_run(TriggerMode.SIGNAL), queued, started, finished, WITHIN_10_MS)
    assert found == {attr.ORIGIN_START_MS: 6.323, attr.ORIGIN_END_MS: 21.33,
                     attr.HOP_TO_QUEUE_MS: 4.321, attr.HOP_IN_QUEUE_MS: 2.002,
                     attr.HOP_RUN_MS: 15.007, attr.OBJECTIVE_MS: 10,
                     attr.OBJECTIVE_TARGET: 0.99, attr.OBJECTIVE_MISSED: 0}
    hops = sum(found[key] for key in (attr.HOP_TO_QUEUE_MS, attr.HOP_IN_QUEUE_MS,
                                      attr.HOP_RUN_MS))
    assert hops == pytest.approx(found[attr.ORIGIN_END_MS], abs=1e-6)


@pytest.mark.parametrize("mode", [TriggerMode.PERIODIC, TriggerMode.MANUAL])
def test_a_run_no_signal_asked_for_is_timed_from_its_queueing(mode: TriggerMode) -> None:
    queued = GENERATED
    found = from_origin(_run(mode, None), queued, queued + timedelta(milliseconds=3),
                        queued + timedelta(milliseconds=5), WITHIN_10_MS)
    assert (found[attr.HOP_TO_QUEUE_MS], found[attr.ORIGIN_START_MS],
            found[attr.ORIGIN_END_MS]) == (0.0, 3.0, 5.0)


def test_clocks_apart_are_said_not_folded_in() -> None:
    """A signal stamped after its run was queued (the generator's clock ahead of the
    dispatcher's), or a run a day after its signal (a replay): no figure, a reason."""
    queued = GENERATED - timedelta(milliseconds=2)
    later = GENERATED + timedelta(milliseconds=5)
    assert from_origin(_run(TriggerMode.SIGNAL), queued, later, later, WITHIN_10_MS) == {
        attr.ORIGIN_SKEW: "negative"}
    day = GENERATED + timedelta(days=1, seconds=1)
    assert from_origin(_run(TriggerMode.SIGNAL), day, day, day, WITHIN_10_MS) == {
        attr.ORIGIN_SKEW: "over_a_day"}


def test_a_row_without_its_queueing_time_is_timed_from_its_start() -> None:
    started = GENERATED + timedelta(milliseconds=9)
    found = from_origin(_run(TriggerMode.SIGNAL), None, started, started, WITHIN_10_MS)
    assert found[attr.HOP_IN_QUEUE_MS] == 0.0 and found[attr.HOP_TO_QUEUE_MS] == 9.0


def test_a_run_that_started_late_missed_its_objective() -> None:
    queued = GENERATED + timedelta(milliseconds=8)
    on_time = from_origin(_run(TriggerMode.SIGNAL), queued, queued + timedelta(milliseconds=2),
                          queued + timedelta(milliseconds=30), WITHIN_10_MS)
    late = from_origin(_run(TriggerMode.SIGNAL), queued,
                       queued + timedelta(milliseconds=2, microseconds=1),
                       queued + timedelta(milliseconds=30), WITHIN_10_MS)
    assert (on_time[attr.OBJECTIVE_MISSED], late[attr.OBJECTIVE_MISSED]) == (0, 1)


def test_a_pipeline_without_an_objective_takes_the_platforms_values() -> None:
    default = LatencyObjective(1000, 0.99)
    assert objective_for(None, None, default) == default
    assert objective_for(50, None, default) == LatencyObjective(50, 0.99)
    assert objective_for(None, 0.999, default) == LatencyObjective(1000, 0.999)
