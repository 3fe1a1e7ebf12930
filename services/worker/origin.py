"""A finished run's latency from origin on its final `pipeline.execute` span (the one with
its status, so each execution counts once, retries included; services/shared/latency.py says
what is measured), judged against its pipeline's latency objective. The collector derives the
histograms and the objective's counts from these attributes, before any sampling
(collector/spanmetrics.yaml).

A miss is a number (1 or 0), not a label: the count of misses then exists, at 0, from a
pipeline's first run, and a rate over it sees the first miss (a series born with its first
miss would hide it from `rate()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.shared.latency import Hops, Moments, RunTimings, hops_from_origin, ms, origin_of
from services.shared.objectives import LatencyObjective
from services.shared.tasks import PipelineRun
from tracing import attributes as attr


def from_origin(run: PipelineRun, moments: Moments,
                objective: LatencyObjective) -> dict[str, float | str | int]:
    """The span attributes of a finished run's latency from origin and whether its start met
    `objective`, or the reason it has none (then it is not judged: its clocks disagree, so
    nothing is known of it)."""
    hops = hops_from_origin(moments)
    if not isinstance(hops, Hops):
        return {attr.ORIGIN_SKEW: hops}
    start_ms = ms(hops.start)
    return {attr.ORIGIN_START_MS: start_ms, attr.ORIGIN_END_MS: ms(hops.end),
            **{attr.HOP_MS[hop]: ms(time) for hop, time in hops.by_name().items()},
            attr.OBJECTIVE_MS: objective.start_within_ms, attr.OBJECTIVE_TARGET: objective.target,
            attr.OBJECTIVE_MISSED: 0 if objective.met(start_ms) else 1}


@dataclass(frozen=True)
class ClaimTimes:
    """What a claimed run knows of its way so far: the row's times and this attempt's."""

    queued_at: datetime | None      # None: a row without it is timed from its start
    received_at: datetime | None
    started_at: datetime            # the first attempt's
    attempt_started_at: datetime
    claimed_at: datetime


def moments_of(run: PipelineRun, times: ClaimTimes, finished_at: datetime) -> Moments:
    """The run's moments from its origin, once it finished."""
    queued = times.queued_at or times.started_at
    return Moments(origin_of((run.signal or {}).get("generated_at"), queued), queued,
                   times.started_at, finished_at, times.received_at, times.attempt_started_at,
                   times.claimed_at)


def run_timings(times: ClaimTimes, agents_ms: list[tuple[str, float]]) -> RunTimings:
    """What the row keeps of a finished run's own time (the explorer's blame reads it)."""
    return RunTimings(ms(times.attempt_started_at - times.started_at),
                      ms(times.claimed_at - times.attempt_started_at), tuple(agents_ms))
