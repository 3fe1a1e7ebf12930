"""The blame's arithmetic: a run's segments add up to its end-to-end time, and the run a
percentile names is the same in SQL and here."""

from __future__ import annotations

import pytest

from services.backend.explorer.blame import nearest_rank, segments_of
from services.shared.latency import RunTimings


def test_segments_add_up_to_the_end_and_the_rest_is_what_the_timings_do_not_name() -> None:
    hops = {"in_kafka": 2.0, "dispatch": 1.0, "in_queue": 3.0}
    timings = RunTimings(retries_ms=0.0, claim_ms=1.5,
                         agents_ms=(("market_data", 10.0), ("risk_check", 250.0)))
    segments = segments_of(hops, run_ms=265.0, timings=timings)
    assert [s.name for s in segments] == ["in_kafka", "dispatch", "in_queue", "retries",
                                          "claim", "agent:market_data", "agent:risk_check",
                                          "rest"]
    assert sum(s.ms for s in segments) == pytest.approx(6.0 + 265.0)
    assert segments[-1].ms == pytest.approx(3.5)


def test_a_run_without_timings_is_one_run_segment_after_the_first_three_hops() -> None:
    segments = segments_of({"in_kafka": 1.0, "dispatch": 1.0, "in_queue": 1.0}, 7.0, None)
    assert [(s.name, s.ms) for s in segments][-1] == ("run", 7.0)


def test_timings_round_trip_through_the_row_and_refuse_another_shape() -> None:
    timings = RunTimings(2.0, 0.5, (("indicators", 3.25),))
    assert RunTimings.from_json(timings.as_json()) == timings
    assert RunTimings.from_json({"agents": "x"}) is None
    assert RunTimings.from_json(None) is None


@pytest.mark.parametrize(("permille", "runs", "rank"), [
    (500, 1, 1), (990, 1, 1), (500, 10, 5), (990, 100, 99), (990, 101, 100), (500, 10_000, 5000),
    (990, 10_000, 9900)])
def test_nearest_rank_is_ceil_of_q_times_n(permille: int, runs: int, rank: int) -> None:
    assert nearest_rank(permille, runs) == rank
