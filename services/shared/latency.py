"""Latency from origin: how long after what asked for a run it started and ended, and where
the time went.

A desk's first question is not a span's p99 but "how long after the signal was generated did
my pipeline's run start, and end?". Every time that answers it is known once a run is over:
the origin (the signal's `generated_at`; for a periodic or a manual run, which no signal asked
for, the moment it was queued), when the dispatcher received the signal's message and when it
queued the row (the dispatcher's clock), when the run first started, when this attempt
started and had claimed its row, and when it finished (the worker's). The worker writes the
figures on the run's span with this arithmetic (services/worker/origin.py); the explorer's
objective page counts them where they are stored, the same arithmetic in SQL
(services/backend/explorer/objective.py), from the row's times: its hops are the first three
and `run` (the last three together: the row does not keep when an attempt claimed it).

The hops add up to the end-to-end figure exactly (`HOPS`, in this order): waiting in Kafka
(generated -> received: the producer, the broker, the consumer's fetch), the dispatcher
(received -> queued: matching and the batch's insert), waiting in the task queue (queued ->
first start: Celery's queue and the worker's pickup), earlier attempts (first start -> this
attempt's start: their runs, backoff and redelivery; 0 without a retry), claiming the row,
and the agents (claimed -> finished). Writing the outcome comes after the end it records
(`finished_at` is the moment it was decided); its time is the `UPDATE executions` span's.
Each agent's own time is its `agent.run` span's. A run no signal asked for has no Kafka and
no dispatcher: both hops are 0.

Those clocks are different hosts' in production: a hop that comes out negative, or an age over
a day (a replay, not a latency), is no figure but a reason (`Skew`), counted apart, never
folded in.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from tracing.attributes import HOPS

ABSURD_AGE = timedelta(days=1)
Skew = Literal["negative", "over_a_day"]


@dataclass(frozen=True)
class Moments:
    """When a finished run passed each point from its origin; a point not recorded (a row
    queued before received times were kept, a run no signal asked for) is the one before."""

    origin: datetime
    queued: datetime
    started: datetime               # the first attempt's start
    finished: datetime
    received: datetime | None = None
    attempt_started: datetime | None = None
    claimed: datetime | None = None

    def in_order(self) -> tuple[datetime, ...]:
        received = self.received or self.queued
        attempt_started = self.attempt_started or self.started
        return (self.origin, received, self.queued, self.started, attempt_started,
                self.claimed or attempt_started, self.finished)


@dataclass(frozen=True)
class Hops:
    """A finished run's time in each hop from its origin, `HOPS` in order (sums exact:
    timedeltas are whole microseconds)."""

    in_kafka: timedelta
    dispatch: timedelta
    in_queue: timedelta
    retries: timedelta
    claim: timedelta
    agents: timedelta

    @property
    def start(self) -> timedelta:
        return self.in_kafka + self.dispatch + self.in_queue

    @property
    def end(self) -> timedelta:
        return self.start + self.retries + self.claim + self.agents

    def by_name(self) -> dict[str, timedelta]:
        return dict(zip(HOPS, astuple(self), strict=True))


@dataclass(frozen=True)
class RunTimings:
    """What a finished run's last attempt spent its own time on, as the worker measured it,
    kept in its row (`executions.timings`) for the explorer's blame: the hops the row's times
    do not give (earlier attempts, the claim) and each agent, in the pipeline's order. The
    rest of `agents` (the hop) is recording and the worker's own work between agents."""

    retries_ms: float
    claim_ms: float
    agents_ms: tuple[tuple[str, float], ...]

    def as_json(self) -> dict[str, object]:
        return {"retries_ms": round(self.retries_ms, 3), "claim_ms": round(self.claim_ms, 3),
                "agents": [[name, round(took, 3)] for name, took in self.agents_ms]}

    @staticmethod
    def from_json(found: object) -> RunTimings | None:
        """None for a row without them (finished before they were kept) or not of this shape."""
        if not isinstance(found, dict):
            return None
        try:
            return RunTimings(float(found["retries_ms"]), float(found["claim_ms"]),
                              tuple((str(name), float(took)) for name, took in found["agents"]))
        except (KeyError, TypeError, ValueError):
            return None


def ms(delta: timedelta) -> float:
    """A duration in milliseconds, to the microsecond."""
    return delta / timedelta(microseconds=1) / 1000


def origin_of(generated_at: object, queued_at: datetime) -> datetime:
    """The signal's generation (its `generated_at`, ISO 8601) for a signal's run; the
    queueing for any other."""
    return datetime.fromisoformat(generated_at) if isinstance(generated_at, str) else queued_at


def hops_from_origin(moments: Moments) -> Hops | Skew:
    """The run's hops, or why its clocks cannot be trusted for them."""
    hops = [later - earlier for earlier, later in pairwise(moments.in_order())]
    if any(hop < timedelta(0) for hop in hops):
        return "negative"
    if moments.finished - moments.origin > ABSURD_AGE:
        return "over_a_day"
    return Hops(*hops)
