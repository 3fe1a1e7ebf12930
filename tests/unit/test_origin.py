"""Latency from origin on a finished run's span: the hops add up, clocks apart are said."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.shared.db import TriggerMode
from services.shared.objectives import LatencyObjective, objective_for
from services.shared.tasks import PipelineRun
from services.worker.origin import ClaimTimes, from_origin, moments_of
from tracing import attributes as attr

GENERATED = datetime(2026, 12, 7, 9, 30, 0, 123456, tzinfo=UTC)
WITHIN_10_MS = LatencyObjective(10, 0.99)


def _run(mode: TriggerMode, generated: datetime | None = GENERATED) -> PipelineRun:
    signal = None if generated is None else {"signal_id": "s", "generated_at":
                                             generated.isoformat().replace("+00:00", "Z")}
    return PipelineRun(execution_id="e", pipeline_id=1, trigger_mode=mode, signal=signal,
                       lock_token="t")


def _times(queued: datetime | None, started: datetime, received: datetime | None = None,
           attempt_started: datetime | None = None,
           claimed: datetime | None = None) -> ClaimTimes:
    attempt_started = attempt_started or started
    return ClaimTimes(queued, received, started, attempt_started, claimed or attempt_started)


def test_a_signals_run_is_timed_from_its_generation_and_the_hops_add_up() -> None:
    """A run retried once: each hop between two moments, the six adding up to the end."""
    received = GENERATED + timedelta(microseconds=3_100)
    queued = received + timedelta(microseconds=1_221)
    started = queued + timedelta(microseconds=2_002)
    attempt_started = started + timedelta(milliseconds=40)
    claimed = attempt_started + timedelta(microseconds=800)
    finished = claimed + timedelta(milliseconds=15, microseconds=7)
    found = from_origin(_run(TriggerMode.SIGNAL), moments_of(
        _run(TriggerMode.SIGNAL), _times(queued, started, received, attempt_started, claimed),
        finished), WITHIN_10_MS)
    assert found == {attr.ORIGIN_START_MS: 6.323, attr.ORIGIN_END_MS: 62.13,
                     attr.HOP_MS["in_kafka"]: 3.1, attr.HOP_MS["dispatch"]: 1.221,
                     attr.HOP_MS["in_queue"]: 2.002, attr.HOP_MS["retries"]: 40.0,
                     attr.HOP_MS["claim"]: 0.8, attr.HOP_MS["agents"]: 15.007,
                     attr.OBJECTIVE_MS: 10, attr.OBJECTIVE_TARGET: 0.99, attr.OBJECTIVE_MISSED: 0}
    hops = sum(found[key] for key in attr.HOP_MS.values())
    assert hops == pytest.approx(found[attr.ORIGIN_END_MS], abs=1e-6)


def _timed(run: PipelineRun, times: ClaimTimes, finished: datetime) -> dict:
    return from_origin(run, moments_of(run, times, finished), WITHIN_10_MS)


@pytest.mark.parametrize("mode", [TriggerMode.PERIODIC, TriggerMode.MANUAL])
def test_a_run_no_signal_asked_for_is_timed_from_its_queueing(mode: TriggerMode) -> None:
    queued = GENERATED
    found = _timed(_run(mode, None), _times(queued, queued + timedelta(milliseconds=3)),
                   queued + timedelta(milliseconds=5))
    assert (found[attr.HOP_MS["in_kafka"]], found[attr.HOP_MS["dispatch"]],
            found[attr.ORIGIN_START_MS], found[attr.ORIGIN_END_MS]) == (0.0, 0.0, 3.0, 5.0)


def test_clocks_apart_are_said_not_folded_in() -> None:
    """A signal stamped after its run was queued (the generator's clock ahead of the
    dispatcher's), or a run a day after its signal (a replay): no figure, a reason."""
    queued = GENERATED - timedelta(milliseconds=2)
    later = GENERATED + timedelta(milliseconds=5)
    run = _run(TriggerMode.SIGNAL)
    assert _timed(run, _times(queued, later), later) == {attr.ORIGIN_SKEW: "negative"}
    day = GENERATED + timedelta(days=1, seconds=1)
    assert _timed(run, _times(day, day), day) == {attr.ORIGIN_SKEW: "over_a_day"}


def test_a_row_without_its_received_or_queueing_time_is_timed_from_the_next_it_has() -> None:
    """A row queued before received times were kept: Kafka's wait includes the dispatcher's;
    one without its queueing time: from its start."""
    run = _run(TriggerMode.SIGNAL)
    queued = GENERATED + timedelta(milliseconds=4)
    started = GENERATED + timedelta(milliseconds=9)
    found = _timed(run, _times(queued, started), started)
    assert (found[attr.HOP_MS["in_kafka"]], found[attr.HOP_MS["dispatch"]]) == (4.0, 0.0)
    found = _timed(run, _times(None, started), started)
    assert found[attr.HOP_MS["in_queue"]] == 0.0 and found[attr.HOP_MS["in_kafka"]] == 9.0


def test_a_run_that_started_late_missed_its_objective() -> None:
    queued = GENERATED + timedelta(milliseconds=8)
    run = _run(TriggerMode.SIGNAL)
    on_time = _timed(run, _times(queued, queued + timedelta(milliseconds=2)),
                     queued + timedelta(milliseconds=30))
    late = _timed(run, _times(queued, queued + timedelta(milliseconds=2, microseconds=1)),
                  queued + timedelta(milliseconds=30))
    assert (on_time[attr.OBJECTIVE_MISSED], late[attr.OBJECTIVE_MISSED]) == (0, 1)


def test_a_pipeline_without_an_objective_takes_the_platforms_values() -> None:
    default = LatencyObjective(1000, 0.99)
    assert objective_for(None, None, default) == default
    assert objective_for(50, None, default) == LatencyObjective(50, 0.99)
    assert objective_for(None, 0.999, default) == LatencyObjective(1000, 0.999)
