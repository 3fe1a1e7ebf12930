"""Where the signals of a window stopped, and why: the funnel, from the ground truth.

Every count comes from where the fact is recorded, not from spans (a message dropped before it
made a span would be invisible to a span funnel):
- Kafka: the messages written to the signals topic in the window (by their timestamps), and
  which of them the dispatcher's group has not yet committed (waiting);
- the DLQ: which of those messages were parked, and why (`dlq.error.type`);
- the dispatcher's records (`redis_keys.signal_dispatch`, kept `dispatch_record_seconds`): the
  pipelines each signal matched, and which it enqueued, skipped (already running) or found
  run already (a replay);
- the executions table: what became of each run enqueued.
Counts are of messages, then of signals, then of pipeline runs (a signal runs each pipeline it
matched); each stop is counted under the step it stopped after, and lists its signals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from confluent_kafka import KafkaException
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.backend.explorer.funnel_messages import MAX_MESSAGES, Message, window_messages
from services.shared import redis_keys
from services.shared.db import Execution, ExecutionStatus
from services.shared.dispatch_record import SignalOutcome
from services.shared.redrive import read_parked
from services.shared.settings import Settings


@dataclass
class Step:
    """A count of the funnel: a step the signals reached, or a stop under the step before."""

    key: str
    label: str
    unit: str                       # messages, signals, runs
    stop: bool = False
    members: list[str] = field(default_factory=list)   # signal ids (or DLQ entries)

    @property
    def count(self) -> int:
        return len(self.members)

    def as_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "unit": self.unit, "stop": self.stop,
                "count": self.count}


@dataclass(frozen=True)
class FunnelView:
    since: datetime
    ticker: str | None
    pipeline_id: int | None
    steps: list[Step]

    def step(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)

    def as_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "ticker": self.ticker,
                "pipeline_id": self.pipeline_id, "steps": [s.as_json() for s in self.steps]}


def build(settings: Settings, client: redis.Redis, session: Session, since: datetime,
          ticker: str | None = None, pipeline_id: int | None = None) -> FunnelView:
    """The funnel of the messages written since `since`, of one ticker, one pipeline's runs,
    or all."""
    messages, waiting = window_messages(settings, since)
    if ticker is not None:
        messages = [m for m in messages if m.ticker == ticker]
    parked = {(e.source_partition, e.source_offset): e
              for e in read_parked(settings, client, since=since, limit=MAX_MESSAGES)
              if e.source_topic == settings.signals_topic}
    steps = [Step("messages", "messages written to the topic", "messages",
                  members=[_member(m) for m in messages])]
    stops: dict[str, Step] = {}
    handled = []
    for m in messages:
        entry = parked.get((m.partition, m.offset))
        if entry is not None:
            _stop(stops, f"parked:{entry.error_type}", f"parked in the DLQ ({entry.error_type})",
                  "messages").members.append(m.signal_id or f"dlq:{entry.id}")
        elif (m.partition, m.offset) in waiting:
            _stop(stops, "waiting", "waiting in Kafka (not yet handled)",
                  "messages").members.append(_member(m))
        elif m.signal_id is not None:
            handled.append(m.signal_id)
    steps += sorted(stops.values(), key=lambda s: s.key)
    steps += _dispatched(client, session, handled, pipeline_id)
    return FunnelView(since, ticker, pipeline_id, steps)


def _member(message: Message) -> str:
    return message.signal_id or f"offset:{message.partition}:{message.offset}"


def _stop(stops: dict[str, Step], key: str, label: str, unit: str) -> Step:
    return stops.setdefault(key, Step(key, label, unit, stop=True))


def _dispatched(client: redis.Redis, session: Session, signal_ids: list[str],
                pipeline_id: int | None) -> list[Step]:
    """The steps from the dispatcher's handling to the runs' outcomes."""
    records = client.mget([redis_keys.signal_dispatch(s) for s in signal_ids]) \
        if signal_ids else []
    dispatched = Step("dispatched", "signals the dispatcher handled", "signals",
                      members=list(signal_ids))
    expired = Step("no_record", "handled, its record expired", "signals", stop=True)
    no_pipeline = Step("no_pipeline", "no pipeline watches its ticker", "signals", stop=True)
    matched = Step("matched", "signals that matched a pipeline", "signals")
    runs = Step("runs_matched", "pipeline runs matched (signal x pipeline)", "runs")
    skipped = Step("skipped_running", "skipped: the pipeline was already running", "runs",
                   stop=True)
    duplicate = Step("duplicate", "ran already for this signal (a replay)", "runs", stop=True)
    enqueued: list[tuple[str, int]] = []
    for signal_id, raw in zip(signal_ids, records, strict=True):
        if raw is None:
            expired.members.append(signal_id)
            continue
        outcome = SignalOutcome.from_json(raw)
        wanted = [p for p in outcome.matched if pipeline_id in (None, p)]
        if not wanted:
            no_pipeline.members.append(signal_id)
            continue
        matched.members.append(signal_id)
        runs.members += [signal_id] * len(wanted)
        skipped.members += [signal_id for p in outcome.skipped_running if p in wanted]
        duplicate.members += [signal_id for p in outcome.duplicates if p in wanted]
        enqueued += [(signal_id, p) for p in outcome.enqueued if p in wanted]
    return [dispatched, expired, no_pipeline, matched, runs, skipped, duplicate,
            *_runs(session, enqueued)]


def _runs(session: Session, enqueued: list[tuple[str, int]]) -> list[Step]:
    """The runs enqueued, from the executions table: started, and how each ended."""
    wanted = set(enqueued)
    by_status: dict[ExecutionStatus, list[str]] = defaultdict(list)
    started = []
    signal_ids = sorted({s for s, _ in enqueued})
    query = select(Execution.signal_id, Execution.pipeline_id, Execution.status,
                   Execution.started_at).where(Execution.signal_id.in_(signal_ids))
    for signal_id, pipeline_id, status, started_at in session.execute(query).all():
        if (signal_id, pipeline_id) not in wanted:
            continue
        by_status[status].append(signal_id)
        if started_at is not None:
            started.append(signal_id)
    return [Step("enqueued", "runs enqueued", "runs", members=[s for s, _ in enqueued]),
            Step("queued", "still waiting in the task queue", "runs", stop=True,
                 members=by_status[ExecutionStatus.QUEUED]),
            Step("started", "runs started", "runs", members=started),
            Step("running", "still running", "runs", stop=True,
                 members=by_status[ExecutionStatus.RUNNING]),
            Step("failed", "failed", "runs", stop=True,
                 members=by_status[ExecutionStatus.FAILED]),
            Step("abandoned", "abandoned: its worker was lost (it runs again)", "runs", stop=True,
                 members=by_status[ExecutionStatus.ABANDONED]),
            Step("succeeded", "runs succeeded", "runs",
                 members=by_status[ExecutionStatus.SUCCEEDED])]


def page(settings: Settings, client: redis.Redis, session: Session, window: str,
         ticker: str | None, pipeline: str | None, step: str | None) -> dict[str, Any]:
    """The funnel page's values; what the filters ask is bounded here, and a Kafka away is
    said on the page."""
    from urllib.parse import urlencode

    from services.backend.explorer.objective import WINDOWS
    from services.shared.db import utcnow

    window = window if window in WINDOWS else "1h"
    ticker = (ticker or "").strip().upper()[:16] or None
    pipeline_id = int(pipeline) if pipeline and pipeline.isdigit() else None
    since = utcnow() - WINDOWS[window]
    query = urlencode({k: v for k, v in {"window": window, "ticker": ticker,
                                         "pipeline": pipeline_id}.items() if v})
    try:
        view, problem = build(settings, client, session, since, ticker, pipeline_id), None
    except (KafkaException, TimeoutError, ValueError) as error:
        view, problem = FunnelView(since, ticker, pipeline_id, []), str(error)
    return {"view": view, "problem": problem, "window": window, "query": query,
            "chosen": view.step(step) if step else None}
