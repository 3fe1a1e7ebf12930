"""Latency from origin: how long after what asked for a run it started and ended.

A desk's first question is not a span's p99 but "how long after the signal was generated did
my pipeline's run start, and end?". The worker knows every time that answers it once the run
is over: the origin (the signal's `generated_at`; for a periodic or a manual run, which no
signal asked for, the moment it was queued), when the row was queued (the dispatcher's
clock), when it first started and when it finished (the worker's). It writes them on the
run's final `pipeline.execute` span (the one with its status, so each execution counts
once, retries included), and the collector derives the histograms per pipeline from there,
before any sampling (collector/spanmetrics.yaml).

The three hops add up to the end-to-end figure exactly: generated -> queued (Kafka and the
dispatcher), queued -> started (the task queue and the worker's pickup), started -> finished
(the claim, the agents, the recording, and a retry's backoff). Those clocks are different
hosts' in production: a hop that comes out negative, or an age over a day (a replay, not a
latency), is not folded into the histograms but said (`tradetrace.origin.skew`) and counted
apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.shared.objectives import LatencyObjective
from services.shared.tasks import PipelineRun
from tracing import attributes as attr

ABSURD_AGE = timedelta(days=1)


def origin_of(run: PipelineRun, queued_at: datetime) -> datetime:
    """The signal's generation for a signal's run; the queueing for any other."""
    generated = (run.signal or {}).get("generated_at")
    return datetime.fromisoformat(generated) if isinstance(generated, str) else queued_at


def from_origin(run: PipelineRun, queued_at: datetime | None, started_at: datetime,
                finished_at: datetime,
                objective: LatencyObjective) -> dict[str, float | str | bool | int]:
    """The span attributes of a finished run's latency from origin (ms, to the microsecond)
    and whether its start met `objective`, or the reason it has none (then it is not judged:
    its clocks disagree, so nothing is known of it)."""
    queued = queued_at or started_at
    origin = origin_of(run, queued)
    hops = {attr.HOP_TO_QUEUE_MS: queued - origin, attr.HOP_IN_QUEUE_MS: started_at - queued,
            attr.HOP_RUN_MS: finished_at - started_at}
    if any(hop < timedelta(0) for hop in hops.values()):
        return {attr.ORIGIN_SKEW: "negative"}
    if finished_at - origin > ABSURD_AGE:
        return {attr.ORIGIN_SKEW: "over_a_day"}
    start_ms = _ms(started_at - origin)
    return {attr.ORIGIN_START_MS: start_ms, attr.ORIGIN_END_MS: _ms(finished_at - origin),
            **{key: _ms(hop) for key, hop in hops.items()},
            attr.OBJECTIVE_MS: objective.start_within_ms, attr.OBJECTIVE_TARGET: objective.target,
            attr.OBJECTIVE_MISSED: 0 if objective.met(start_ms) else 1}


def _ms(delta: timedelta) -> float:
    return delta / timedelta(microseconds=1) / 1000
