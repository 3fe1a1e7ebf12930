"""The platform end to end on the real stack:
Kafka -> dispatcher -> Celery (Redis) -> worker -> PostgreSQL."""

from __future__ import annotations

import json
import os
import signal as os_signal
import time
import zlib

import httpx
import redis
from sqlalchemy import create_engine, func, select, text

from services.shared import redis_keys
from services.shared.db import Execution, ExecutionStatus, Pipeline, session_scope
from services.shared.executions import run_of
from services.shared.tasks import send_pipeline_run
from services.worker.agents import AGENTS
from tests.support.dispatcher import wait_for_index
from tests.support.kafka import end_offsets, produce, read_topic, wait_until_dispatched
from tests.support.platform import FAST, create_pipeline, publish_and_follow, signal_for
from tests.support.polling import eventually
from tracing.service_names import TRIGGER_DISPATCHER


def _executions(settings, **where) -> list[Execution]:
    with session_scope(settings.database_url) as session:
        query = select(Execution)
        for column, value in where.items():
            query = query.where(getattr(Execution, column) == value)
        return list(session.scalars(query))


def test_signal_runs_each_matching_enabled_pipeline_once(api: httpx.Client, settings,
                                                         ticker: str) -> None:
    both = create_pipeline(api, f"both-{ticker}", [ticker, "ZOTHER"])
    only = create_pipeline(api, f"only-{ticker}", [ticker])
    disabled = create_pipeline(api, f"off-{ticker}", [ticker], enabled=False)
    other = create_pipeline(api, f"other-{ticker}", [ticker + "X"])
    wait_for_index(settings)

    outcome, executions = publish_and_follow(settings, signal_for(ticker))

    assert sorted(outcome["enqueued"]) == sorted([both["id"], only["id"]])
    assert sorted(e.pipeline_id for e in executions) == sorted([both["id"], only["id"]])
    assert all(e.status == ExecutionStatus.SUCCEEDED for e in executions)
    assert not _executions(settings, pipeline_id=disabled["id"])
    assert not _executions(settings, pipeline_id=other["id"])
    execution = executions[0]
    assert execution.cost_usd == round(AGENTS["market_data"].cost_usd
                                       + AGENTS["order_decision"].cost_usd, 6)
    assert execution.result["order_decision"]["action"] == "buy"
    assert execution.duration_seconds is not None and execution.finished_at is not None


def test_running_pipeline_is_skipped_and_counted(api: httpx.Client, settings, ticker: str) -> None:
    slow = create_pipeline(api, f"slow-{ticker}", [ticker],
                           agents=[{"name": "market_data", "params": {"duration_ms": 3000}}])
    wait_for_index(settings)
    client = redis.Redis.from_url(settings.redis_url)
    skipped_before = int(client.hget(redis_keys.DISPATCHER_STATS, "pipelines_skipped_running") or 0)
    first = signal_for(ticker)
    from tradetrace import emit

    emit.publish(settings, first)
    assert emit.wait_for_dispatch(settings, first.signal_id)["enqueued"] == [slow["id"]]

    second_outcome, _ = publish_and_follow(settings, signal_for(ticker))

    assert second_outcome["skipped_running"] == [slow["id"]]
    assert second_outcome["enqueued"] == []
    skipped = int(client.hget(redis_keys.DISPATCHER_STATS, "pipelines_skipped_running"))
    assert skipped == skipped_before + 1
    emit.wait_for_executions(settings, first.signal_id, 1)
    assert len(_executions(settings, pipeline_id=slow["id"])) == 1


def test_malformed_message_goes_to_the_dlq_and_the_next_is_processed(
        api: httpx.Client, settings, ticker: str) -> None:
    pipeline = create_pipeline(api, f"dlq-{ticker}", [ticker])
    wait_for_index(settings)
    garbage = b"{not a signal " + ticker.encode()
    dlq_before = end_offsets(settings.kafka_bootstrap_servers, settings.dlq_topic)
    produce(settings.kafka_bootstrap_servers, settings.signals_topic, [
        (ticker.encode(), garbage, [("origin", b"test")]),
        (ticker.encode(), json.dumps({"signal_type": "mock", "ticker": ticker}).encode(), [])])

    outcome, executions = publish_and_follow(settings, signal_for(ticker))
    assert [e.pipeline_id for e in executions] == [pipeline["id"]]

    reasons = {}
    for message in read_topic(settings.kafka_bootstrap_servers, settings.dlq_topic, dlq_before):
        if ticker.encode() not in (message.value() or b""):
            continue
        headers = dict(message.headers())
        reasons[message.value()] = headers["dlq.reason"].decode()
        assert headers["dlq.source.topic"] == settings.signals_topic.encode()
        if message.value() == garbage:
            assert headers["origin"] == b"test"          # the original headers are kept
    assert "Invalid JSON" in reasons[garbage]
    missing = [r for v, r in reasons.items() if v != garbage]
    assert missing and "Field required" in missing[0]


def test_duplicate_signal_id_runs_each_pipeline_once(api: httpx.Client, settings,
                                                     ticker: str) -> None:
    pipeline = create_pipeline(api, f"dup-{ticker}", [ticker])
    wait_for_index(settings)
    signal = signal_for(ticker)
    client = redis.Redis.from_url(settings.redis_url)
    publish_and_follow(settings, signal)

    # So that we read the redelivery's outcome:
    client.delete(redis_keys.signal_dispatch(signal.signal_id))
    outcome, _ = publish_and_follow(settings, signal)          # the same message again
    assert outcome["duplicates"] == [pipeline["id"]] and outcome["enqueued"] == []

    # The same task delivered again (a reaper's or a replay's republish): the worker runs the
    # row once. A probe task queued after it tells when the worker has taken the duplicate.
    [execution] = _executions(settings, pipeline_id=pipeline["id"])
    send_pipeline_run(settings, run_of(execution))
    probe = create_pipeline(api, f"dup-probe-{ticker}", [ticker + "P"], trigger_mode="periodic",
                            interval_seconds=3600)
    eventually(lambda: _executions(settings, pipeline_id=probe["id"],
                                   status=ExecutionStatus.SUCCEEDED),
               "a task queued after the duplicate")
    api.post(f"/pipelines/{probe['id']}/disable").raise_for_status()
    [again] = _executions(settings, pipeline_id=pipeline["id"])
    assert (again.id, again.attempts, again.status) == (execution.id, 1, ExecutionStatus.SUCCEEDED)
    assert eventually(lambda: not client.exists(redis_keys.running_lock(pipeline["id"])),
                      "the running lock released after the refused duplicate")


def test_agent_failure_fails_the_execution_and_releases_the_lock(api: httpx.Client, settings,
                                                                 ticker: str) -> None:
    pipeline = create_pipeline(api, f"fail-{ticker}", [ticker], agents=[
        {"name": "market_data", "params": FAST},
        {"name": "indicators", "params": {**FAST, "fail": True}},
        {"name": "order_decision", "params": FAST}])
    wait_for_index(settings)

    _, [execution] = publish_and_follow(settings, signal_for(ticker))

    assert execution.status == ExecutionStatus.FAILED
    assert execution.error == "indicators: configured to fail"
    assert execution.cost_usd == AGENTS["market_data"].cost_usd   # only what completed
    lock = redis_keys.running_lock(pipeline["id"])
    assert not redis.Redis.from_url(settings.redis_url).exists(lock)
    outcome, _ = publish_and_follow(settings, signal_for(ticker))
    assert outcome["enqueued"] == [pipeline["id"]]                  # not skipped as running


def test_a_run_longer_than_its_lease_keeps_it(api: httpx.Client, settings,
                                              ticker: str) -> None:
    """The worker renews a running row's lease while the run lives: the reaper, which takes
    over a row whose lease ran out, leaves it alone; and no renewal outlives the run (it
    would take the pipeline's lock again once the run had let it go)."""
    lease = settings.execution_lease_seconds
    create_pipeline(api, f"long-{ticker}", [ticker], agents=[
        {"name": "market_data", "params": {"duration_ms": int(2.5 * lease * 1000)}}])
    wait_for_index(settings)

    _, [execution] = publish_and_follow(settings, signal_for(ticker), timeout=6 * lease)

    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.attempts == 1, "taken over: the lease was not renewed"
    assert execution.duration_seconds >= 2.5 * lease
    lock = redis_keys.running_lock(execution.pipeline_id)
    client = redis.Redis.from_url(settings.redis_url)
    eventually(lambda: not client.exists(lock), "the lock released after the run")
    time.sleep(lease / 3)   # a renewal due after the run would have come by now
    assert not client.exists(lock), "a renewal after the run took the lock again"


def test_transient_failure_retries_with_backoff_then_succeeds(api: httpx.Client, settings,
                                                              ticker: str) -> None:
    create_pipeline(api, f"retry-{ticker}", [ticker], agents=[
        {"name": "market_data", "params": {**FAST, "transient_failures": 2}}])
    wait_for_index(settings)

    _, [execution] = publish_and_follow(settings, signal_for(ticker))

    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.attempts == 3
    assert execution.duration_seconds >= 1 + 2      # backoff of 1 s, then 2 s


def test_periodic_pipeline_runs_on_schedule(api: httpx.Client, settings, ticker: str) -> None:
    pipeline = create_pipeline(api, f"periodic-{ticker}", [ticker], trigger_mode="periodic",
                               interval_seconds=2)
    eventually(lambda: len(_executions(settings, pipeline_id=pipeline["id"])) >= 2,
               "two periodic runs", timeout=30)
    api.post(f"/pipelines/{pipeline['id']}/disable").raise_for_status()
    runs = sorted(_executions(settings, pipeline_id=pipeline["id"]), key=lambda e: e.queued_at)
    assert 2 <= len(runs) <= 4
    assert all(e.trigger_mode.value == "periodic" and e.signal_id is None for e in runs)
    gaps = [(b.queued_at - a.queued_at).total_seconds()
            for a, b in zip(runs, runs[1:], strict=False)]
    assert all(gap >= 1.9 for gap in gaps), gaps


def test_signal_replayed_after_a_crash_between_lock_and_enqueue_still_runs(
        api: httpx.Client, settings, ticker: str) -> None:
    """The dispatcher died after locking the pipeline for this signal and before enqueueing:
    the replay must take its own orphaned lock and run the pipeline, not skip it."""
    pipeline = create_pipeline(api, f"orphan-{ticker}", [ticker])
    wait_for_index(settings)
    signal = signal_for(ticker)
    client = redis.Redis.from_url(settings.redis_url)
    client.set(redis_keys.running_lock(pipeline["id"]), signal.signal_id, ex=600)  # orphaned

    outcome, [execution] = publish_and_follow(settings, signal)

    assert outcome["enqueued"] == [pipeline["id"]]
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert eventually(lambda: not client.exists(redis_keys.running_lock(pipeline["id"])),
                      "the lock released after the run")
    other = signal_for(ticker)            # and another signal's lock is still respected
    client.set(redis_keys.running_lock(pipeline["id"]), "someone-else", ex=600)
    outcome, _ = publish_and_follow(settings, other)
    assert outcome["skipped_running"] == [pipeline["id"]]
    client.delete(redis_keys.running_lock(pipeline["id"]))


def _one_partition_tickers(prefix: str, count: int, partitions: int) -> list[str]:
    """`count` distinct tickers that librdkafka's "consistent" partitioner (CRC32 of the key,
    modulo the partitions) sends to one partition, so the dispatcher consumes them in order."""
    tickers = (f"{prefix}{i:04d}" for i in range(100 * count))
    wanted = zlib.crc32(f"{prefix}0000".encode()) % partitions
    return [t for t in tickers if zlib.crc32(t.encode()) % partitions == wanted][:count]


def _blocked_by(connection) -> int:
    """How many sessions of this database wait on a lock that `connection` holds."""
    return connection.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pg_backend_pid() = ANY(pg_blocking_pids(pid))")).scalar_one()


def test_dispatcher_killed_mid_batch_loses_no_signal(api: httpx.Client, settings, platform,
                                                     ticker: str) -> None:
    """A burst of three batches in one partition, the pipelines of all but the first batch's
    signals locked in PostgreSQL: the dispatcher records the first batch, then waits on the
    lock inside a later one, and is killed there. No timing decides where the kill lands.

    The lock is the one an execution row's foreign key takes on its pipeline (FOR KEY SHARE),
    so the dispatcher's insert waits as it would behind a slow database."""
    count = 3 * settings.batch_size
    tickers = _one_partition_tickers(ticker[:5], count, settings.signal_partitions)
    pipelines = [create_pipeline(api, f"k-{t}", [t])["id"] for t in tickers]
    first, later = pipelines[:settings.batch_size], pipelines[settings.batch_size:]
    wait_for_index(settings)
    from services.signal_generator.publisher import SignalPublisher

    signals = [signal_for(t) for t in tickers]
    before = end_offsets(settings.kafka_bootstrap_servers, settings.signals_topic)
    engine = create_engine(settings.database_url)
    locker = engine.connect()
    try:
        with platform.stopped([TRIGGER_DISPATCHER]):     # the whole burst waits in Kafka
            locker.execute(select(Pipeline.id).where(Pipeline.id.in_(later))
                           .with_for_update()).all()
            publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic,
                                        {"partitioner": "consistent"})
            for signal in signals:
                publisher.publish(signal)
            assert publisher.flush(30) == 0 and publisher.counts.delivered == count
        after = end_offsets(settings.kafka_bootstrap_servers, settings.signals_topic)
        assert sorted(after[p] - before.get(p, 0) for p in after)[-1] == count, \
            "the burst is in one partition"

        client = redis.Redis.from_url(settings.redis_url)
        dispatch_keys = [redis_keys.signal_dispatch(s.signal_id) for s in signals]
        eventually(lambda: _blocked_by(locker) > 0, "the dispatcher to wait on the lock",
                   timeout=60)
        os.kill(platform.pid(TRIGGER_DISPATCHER), os_signal.SIGKILL)
        handled_before_kill = sum(1 for r in client.mget(dispatch_keys) if r is not None)
        assert 0 < handled_before_kill <= len(first), "the kill lands after the first batch"
    finally:
        locker.rollback()
        locker.close()
        engine.dispose()
        platform.up([TRIGGER_DISPATCHER])

    def all_ran():
        with session_scope(settings.database_url) as session:
            ran = session.scalar(select(func.count(Execution.id)).where(
                Execution.pipeline_id.in_(pipelines),
                Execution.status == ExecutionStatus.SUCCEEDED))
        return ran == count

    eventually(all_ran, f"{count} executions after the restart", timeout=120)
    wait_until_dispatched(settings)    # the replayed batch is committed: its rows are in
    for pipeline_id in pipelines:
        assert len(_executions(settings, pipeline_id=pipeline_id)) == 1
