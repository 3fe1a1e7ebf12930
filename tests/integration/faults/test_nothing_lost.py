"""Nothing lost: every accepted signal runs each matched pipeline exactly once, whatever dies.

Each test injects a real fault on the native stack (a killed worker, a killed Redis, a
restarted PostgreSQL), always restores what it broke, and asserts ground truth from the
database: one finished execution per (pipeline, signal), none left running or queued, the
running lock free, the next signal running normally and a batch as fast as a healthy one.
What each measured is printed (`pytest -s`) for the README's failure-modes table.
"""

from __future__ import annotations

import os
import signal as os_signal
import time
from pathlib import Path

import httpx
import redis

from services.shared.tasks import PIPELINE_QUEUE
from services.signal_generator.publisher import SignalPublisher
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import Recovery, pipeline_per_ticker, running, wait_all_finished
from tests.support.platform import create_pipeline, signal_for
from tests.support.polling import eventually
from tracing.service_names import WORKER
from tradetrace import emit
from tradetrace.platform import Platform
from tradetrace.stack import Stack
from tradetrace.stack.process import running_pid

SLOW = [{"name": "market_data", "params": {"duration_ms": 4000}}]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (the prefork children of a Celery worker)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, os_signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_worker_child_killed_mid_run_runs_the_signal_once(
        api: httpx.Client, settings, platform: Platform, ticker: str,
        recovered: Recovery, restore) -> None:
    """An OOM kill of the prefork child: Celery requeues the task (acks_late), and its
    redelivery takes over its own row instead of refusing it as a duplicate."""
    pipeline = create_pipeline(api, f"childkill-{ticker}", [ticker], agents=SLOW)
    wait_for_index(settings)
    signal = signal_for(ticker)
    emit.publish(settings, signal)
    eventually(lambda: running(settings, signal.signal_id), "the run to start", timeout=60)

    killed_at = time.monotonic()
    _kill(descendants(platform.pid(WORKER)))

    [execution] = wait_all_finished(settings, [signal.signal_id], 1)
    print(f"\n[faults] worker child SIGKILL: 1 signal, 1 execution, attempts "
          f"{execution.attempts}, finished {time.monotonic() - killed_at:.1f}s after the kill")
    assert execution.attempts == 2
    recovered(pipeline["id"], ticker, "worker child SIGKILL")


def test_whole_worker_killed_mid_run_is_taken_over_by_the_next_worker(
        api: httpx.Client, settings, platform: Platform, ticker: str,
        recovered: Recovery, restore) -> None:
    """A lost node: the worker and its children die at once and the task's message stays
    unacknowledged in Redis (for the visibility timeout, an hour). The row's lease runs out,
    the reaper republishes it, and a new worker (its supervisor's restart) runs it."""
    pipeline = create_pipeline(api, f"workerkill-{ticker}", [ticker], agents=SLOW)
    wait_for_index(settings)
    signal = signal_for(ticker)
    emit.publish(settings, signal)
    eventually(lambda: running(settings, signal.signal_id), "the run to start", timeout=60)

    worker = platform.pid(WORKER)
    killed_at = time.monotonic()
    _kill([worker, *descendants(worker)])
    eventually(lambda: platform.pid(WORKER) not in (None, worker),
               "a new worker, started by its supervisor")

    [execution] = wait_all_finished(settings, [signal.signal_id], 1)
    print(f"\n[faults] whole worker SIGKILL: 1 signal, 1 execution, attempts "
          f"{execution.attempts}, finished {time.monotonic() - killed_at:.1f}s after the kill "
          f"(lease {settings.execution_lease_seconds:.0f}s)")
    assert execution.attempts == 2
    recovered(pipeline["id"], ticker, "whole worker SIGKILL")


def _queue_signals_with_the_worker_stopped(api, settings, platform: Platform, ticker: str,
                                           count: int) -> tuple[list[int], list[str]]:
    pipelines = pipeline_per_ticker(api, settings, "q", ticker, count)
    platform.down([WORKER])               # started again by the test, or by `restore`
    signals = [signal_for(t) for t in pipelines]
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    for signal in signals:
        publisher.publish(signal)
    assert publisher.flush(30) == 0
    for signal in signals:
        assert emit.wait_for_dispatch(settings, signal.signal_id)["enqueued"]
    return list(pipelines.values()), [s.signal_id for s in signals]


def _queue_length(client: redis.Redis) -> int:
    return sum(client.llen(key) for key in client.scan_iter(f"{PIPELINE_QUEUE}*")
               if client.type(key) == b"list")


def test_redis_killed_with_tasks_queued_loses_none(
        api: httpx.Client, settings, platform: Platform, stack: Stack, ticker: str,
        recovered: Recovery, restore) -> None:
    """Redis SIGKILLed while tasks wait in its queue: its append-only file brings them back
    (what the last second may have lost, the reaper republishes from the executions table)."""
    count = 20
    pipelines, signal_ids = _queue_signals_with_the_worker_stopped(api, settings, platform,
                                                                   ticker, count)
    client = redis.Redis.from_url(settings.redis_url)
    queued = _queue_length(client)
    [redis_component] = stack.select(["redis"]).components
    killed_at = time.monotonic()
    _kill([running_pid(redis_component.pid_path)])
    stack.up()
    survived = _queue_length(client)
    platform.up([WORKER])

    wait_all_finished(settings, signal_ids, count)
    print(f"\n[faults] Redis SIGKILL: {count} signals queued ({queued} tasks in the queue, beat's "
          f"included), {survived} back from the AOF, {count} executions, 0 duplicates, finished "
          f"{time.monotonic() - killed_at:.1f}s after the kill")
    recovered(pipelines[0], f"{ticker[:6]}00", "Redis SIGKILL")


def test_tasks_lost_from_redis_are_published_again_from_the_database(
        api: httpx.Client, settings, platform: Platform, ticker: str,
        recovered: Recovery, restore) -> None:
    """Worse than a crash: the queue itself is gone (a Redis restored from an old snapshot, a
    flushed database). Every row is still queued in PostgreSQL; the reaper republishes them
    once their queue lease runs out."""
    count = 10
    pipelines, signal_ids = _queue_signals_with_the_worker_stopped(api, settings, platform,
                                                                   ticker, count)
    client = redis.Redis.from_url(settings.redis_url)
    lost = _queue_length(client)
    for key in client.scan_iter(f"{PIPELINE_QUEUE}*"):
        client.delete(key)
    deleted_at = time.monotonic()
    platform.up([WORKER])

    found = wait_all_finished(settings, signal_ids, count,
                              timeout=settings.queue_lease_seconds + 90)
    print(f"\n[faults] queue deleted: {lost} tasks lost, {count} executions by republishing, "
          f"all finished {time.monotonic() - deleted_at:.1f}s after "
          f"(queue lease {settings.queue_lease_seconds:.0f}s)")
    assert all(e.attempts == 1 for e in found)
    recovered(pipelines[0], f"{ticker[:6]}00", "queue deleted")


def test_postgres_restart_during_runs_loses_nothing(
        api: httpx.Client, settings, stack: Stack, ticker: str,
        recovered: Recovery, restore) -> None:
    """PostgreSQL restarts while executions run and signals arrive: the worker retries its
    database calls with backoff (re-running an execution whose outcome it could not record),
    the dispatcher rewinds its batch, and each (pipeline, signal) still finishes once."""
    count = 6
    tickers = [f"{ticker[:6]}{i:02d}" for i in range(count)]
    pipelines = [create_pipeline(api, f"pg-{t}", [t], agents=[
        {"name": "market_data", "params": {"duration_ms": 1500}}])["id"] for t in tickers]
    wait_for_index(settings)
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    signals = [signal_for(t) for t in tickers]
    for signal in signals[:count // 2]:
        publisher.publish(signal)
    assert publisher.flush(30) == 0
    eventually(lambda: any(running(settings, s.signal_id) for s in signals[:count // 2]),
               "a run in progress", timeout=60)

    restarted_at = time.monotonic()
    with stack.select(["postgres"]).stopped():
        for signal in signals[count // 2:]:       # arrive while the database is away
            publisher.publish(signal)
        assert publisher.flush(30) == 0

    found = wait_all_finished(settings, [s.signal_id for s in signals], count, timeout=180)
    print(f"\n[faults] PostgreSQL restart: {count} signals, {len(found)} executions, attempts "
          f"{sorted(e.attempts for e in found)}, all finished "
          f"{time.monotonic() - restarted_at:.1f}s after the restart began")
    recovered(pipelines[0], tickers[0], "PostgreSQL restart")

