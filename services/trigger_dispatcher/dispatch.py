"""Dispatching a batch's signals: a row per matched pipeline (the dedup), the running locks of
the new rows, then their tasks published.

The rows come first, in one transaction (unique per pipeline and signal): a replay finds its
rows already there and publishes again those still queued (the dispatcher may have died before
publishing them; a task delivered twice still runs once). The locks of the new rows are then
taken in one Redis round trip (services/shared/running.py); a pipeline whose lock another
trigger holds is skipped and its new row dropped. Tasks are published after the commit (the
worker must find the row), each under its own signal's process span, all in one round trip.
"""

from __future__ import annotations

import redis
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from services.shared.db import Execution, ExecutionStatus, session_scope
from services.shared.queueing import SignalMatch, queue_batch_runs
from services.shared.running import RunningLocks
from services.shared.settings import Settings
from services.shared.task_batches import pipeline_run_sender
from services.trigger_dispatcher.in_flight import InFlight, entered


class StaleIndex(Exception):
    """The index names a pipeline the database no longer has: reload it, replay the batch."""


def dispatch(flights: list[InFlight], settings: Settings, locks: RunningLocks,
             broker: redis.Redis) -> None:
    """Queue, lock and publish (to `broker`, the Redis of `settings.redis_url`) the runs of
    every signal that matched a pipeline; what became of each is written into its `outcome`."""
    matching = [flight for flight in flights if flight.outcome.matched]
    if not matching:
        return
    with session_scope(settings.database_url) as session:
        try:
            batch_runs = queue_batch_runs(session, [SignalMatch(
                flight.signal.model_dump(mode="json"), flight.outcome.matched,
                format(flight.process.get_span_context().trace_id, "032x"))
                for flight in matching], settings, matching[0].received_at)
        except IntegrityError as error:   # a matched pipeline was deleted meanwhile
            raise StaleIndex(str(error.orig)) from error
        wanted = [(flight, run) for flight, runs in zip(matching, batch_runs, strict=True)
                  for run in runs.new]
        taken = locks.take_all([(run.pipeline_id, flight.signal.signal_id)
                                for flight, run in wanted])
        skipped = []
        for (flight, run), locked in zip(wanted, taken, strict=True):
            if locked:
                flight.outcome.enqueued.append(run.pipeline_id)
                flight.to_publish.append(run)
            else:
                flight.outcome.skipped_running.append(run.pipeline_id)
                skipped.append(run.execution_id)
        if skipped:
            session.execute(delete(Execution).where(Execution.id.in_(skipped)))
        for flight, runs in zip(matching, batch_runs, strict=True):
            for pipeline_id, (status, run) in runs.existing.items():
                flight.outcome.duplicates.append(pipeline_id)
                if status == ExecutionStatus.QUEUED:
                    flight.to_publish.append(run)
    # Under each signal's process span, so each publish span is its child and the worker
    # continues that trace.
    with pipeline_run_sender(settings, broker) as send:
        for flight in matching:
            with entered(flight.context):
                for run in flight.to_publish:
                    send(run)
