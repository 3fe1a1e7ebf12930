"""Latency from origin: how long after what asked for a run it started and ended.

A desk's first question is not a span's p99 but "how long after the signal was generated did
my pipeline's run start, and end?". Every time that answers it is known once a run is over:
the origin (the signal's `generated_at`; for a periodic or a manual run, which no signal asked
for, the moment it was queued), when the row was queued (the dispatcher's clock), when it
first started and when it finished (the worker's). The worker writes the figures on the run's
span with this arithmetic (services/worker/origin.py); the explorer's objective page counts
them where they are stored, the same arithmetic in SQL (services/backend/explorer/objective.py).

The three hops add up to the end-to-end figure exactly: generated -> queued (Kafka and the
dispatcher), queued -> started (the task queue and the worker's pickup), started -> finished
(the claim, the agents, the recording, and a retry's backoff). Those clocks are different
hosts' in production: a hop that comes out negative, or an age over a day (a replay, not a
latency), is no figure but a reason (`Skew`), counted apart, never folded in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

ABSURD_AGE = timedelta(days=1)
Skew = Literal["negative", "over_a_day"]


@dataclass(frozen=True)
class Hops:
    """A finished run's time in each hop from its origin (sums exact: timedeltas are whole
    microseconds)."""

    to_queue: timedelta
    in_queue: timedelta
    run: timedelta

    @property
    def start(self) -> timedelta:
        return self.to_queue + self.in_queue

    @property
    def end(self) -> timedelta:
        return self.start + self.run


def ms(delta: timedelta) -> float:
    """A duration in milliseconds, to the microsecond."""
    return delta / timedelta(microseconds=1) / 1000


def origin_of(generated_at: object, queued_at: datetime) -> datetime:
    """The signal's generation (its `generated_at`, ISO 8601) for a signal's run; the
    queueing for any other."""
    return datetime.fromisoformat(generated_at) if isinstance(generated_at, str) else queued_at


def hops_from_origin(origin: datetime, queued_at: datetime, started_at: datetime,
                     finished_at: datetime) -> Hops | Skew:
    """The run's hops, or why its clocks cannot be trusted for them."""
    hops = (queued_at - origin, started_at - queued_at, finished_at - started_at)
    if any(hop < timedelta(0) for hop in hops):
        return "negative"
    if finished_at - origin > ABSURD_AGE:
        return "over_a_day"
    return Hops(*hops)
