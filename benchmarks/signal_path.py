"""What tracing costs on the signal path: the same work with tracing on and off, one run.

Each mode runs in a fresh process (a process has one tracer provider), against the real
native stack: the generator's publish path (signal.generate + send spans, header injection)
and the dispatcher's batch path (receive + process + match spans, Celery publish spans) on
the same number of real Kafka messages, with one pipeline per signal so every message is
enqueued as a Celery task. Spans are exported to the real collector by the batch processor.

    .venv/bin/python benchmarks/signal_path.py [--signals 2000]

Prints microseconds of CPU and wall time per signal in each mode, and the ratios: tracing on
against off, and the aws profile (X-Ray ids, the X-Ray header beside W3C's) against local.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import uuid

# Each mode is a process started with these variables (a process has one tracer provider).
MODES = {
    "off": {"OTEL_SDK_DISABLED": "true"},
    "on": {"OTEL_SDK_DISABLED": "false", "TRADETRACE_PROFILE": "local"},
    "aws": {"OTEL_SDK_DISABLED": "false", "TRADETRACE_PROFILE": "aws"},
}


def run_mode(signals: int) -> dict[str, float]:
    """One mode, in this process: publish `signals`, then dispatch them in batches."""
    import tempfile

    import redis
    from confluent_kafka import Consumer

    from services.backend.migrate import upgrade
    from services.shared.db import Pipeline, TriggerMode, session_scope
    from services.shared.settings import Settings
    from services.shared.signals import Signal
    from services.shared.topics import ensure_topics
    from services.signal_generator.emitting import generate_and_publish
    from services.signal_generator.publisher import SignalPublisher
    from services.trigger_dispatcher.dispatcher import Dispatcher, create_dlq_producer
    from services.trigger_dispatcher.index import PipelineIndex
    from tracing import setup_tracing, shutdown_tracing
    from tracing.instrumentation import instrument_libraries

    run = uuid.uuid4().hex[:8]
    # The dispatcher queues an execution row per matched pipeline: a database of its own.
    database = f"sqlite:///{tempfile.mkdtemp()}/bench-{run}.db"
    upgrade(database)
    settings = Settings(signals_topic=f"bench-{run}", dlq_topic=f"bench-{run}.dlq",
                        consumer_group=f"bench-{run}", redis_url="redis://127.0.0.1:6379/9",
                        database_url=database, batch_size=500, index_refresh_seconds=3600)
    provider = setup_tracing("benchmark")
    instrument_libraries(celery=True)
    ensure_topics(settings)
    tickers = [f"B{i:05d}" for i in range(signals)]
    with session_scope(database) as session:
        session.add_all(Pipeline(id=i, name=f"p{i}", tickers=[t], trigger_mode=TriggerMode.SIGNAL,
                                 agents=[{"name": "market_data"}], enabled=True)
                        for i, t in enumerate(tickers))
    batch = [Signal(signal_type="mock", source="bench", ticker=t, direction="buy", strength=0.5)
             for t in tickers]

    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    wall, cpu = time.perf_counter(), time.process_time()
    stream = iter(batch)
    for _ in batch:
        generate_and_publish(stream, publisher)
    publisher.flush(60)
    publish = (time.perf_counter() - wall, time.process_time() - cpu)

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap_servers,
                         "group.id": settings.consumer_group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([settings.signals_topic])
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()
    dispatcher = Dispatcher(settings, consumer, create_dlq_producer(settings), client)
    dispatcher.index = PipelineIndex.build((i, f"p{i}", [t]) for i, t in enumerate(tickers))
    dispatcher._index_loaded_at = time.monotonic()
    first = 0
    while not first:  # the first batch pays for joining the group: not timed
        first = dispatcher.run_once()
    handled = first
    wall, cpu = time.perf_counter(), time.process_time()
    while handled < signals:
        handled += dispatcher.run_once()
    dispatch = (time.perf_counter() - wall, time.process_time() - cpu)
    timed = max(1, signals - first)
    consumer.close()
    client.flushdb()
    shutdown_tracing(provider)
    return {"publish_wall_us": publish[0] * 1e6 / signals,
            "publish_cpu_us": publish[1] * 1e6 / signals,
            "dispatch_wall_us": dispatch[0] * 1e6 / timed,
            "dispatch_cpu_us": dispatch[1] * 1e6 / timed,
            "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=2000)
    parser.add_argument("--mode", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(run_mode(args.signals)))
        return
    results = {}
    for mode, variables in MODES.items():
        output = subprocess.run([sys.executable, __file__, "--signals", str(args.signals),
                                 "--mode", mode], env={**os.environ, **variables},
                                capture_output=True, text=True, check=True, timeout=600).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
    print(f"signal path, {args.signals} signals, one Celery task each (per signal):")
    print(f"{'':18}{'tracing off':>13}{'tracing on':>12}{'on/off':>8}{'aws':>10}{'aws/on':>8}")
    for key in ("publish_wall_us", "publish_cpu_us", "dispatch_wall_us", "dispatch_cpu_us",
                "max_rss_mib"):
        off, on, aws = (results[mode][key] for mode in MODES)
        print(f"{key:18}{off:13.1f}{on:12.1f}{on / off:8.2f}{aws:10.1f}{aws / on:8.2f}")


if __name__ == "__main__":
    main()
