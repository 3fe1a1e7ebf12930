"""The signal path at load, tracing on against off, in one run: `make bench`.

Every figure is measured in each mode in the same run with the modes interleaved (on,
unexported, off, on, ... for `--rounds` rounds) and reported as the median and the spread
(min-max) of the rounds, with the on/off ratio of the medians: on a noisy 2-core machine, a
mode run once after the other measures mostly the noise. Everything runs on the native stack
(`tradetrace stack up`) in a room of its own (a database, a Redis database, topics, consumer
groups), so the demo can keep running beside it (it then shares the CPU: stop it for cleaner
figures).

1. **Dispatcher** (a fresh process per round and mode: a process has one tracer provider): the
   generator's publish path for the round's signals, then one dispatcher handling them from
   Kafka with the real consumer, PostgreSQL, Redis and Celery publish (no worker: the tasks
   are counted, then dropped), with 1 and with 10 pipelines per signal. Signals/s and tasks/s
   at saturation, CPU per signal (the exporter's thread included); the SDK's bare span (no
   processor) timed in the parent between rounds. The 1-pipeline case runs once more under
   py-spy with tracing on, and its profile is saved beside the results (not counted).
2. **Dispatcher group**: one, then two dispatcher processes in one consumer group, joined
   before the signals are published: signals/s from the first publish to the last batch.
3. **End to end** (a dispatcher and a worker started per round and mode, agents at zero
   duration): latency from a signal's generation to its execution's start at a fixed rate
   (p50/p95/p99), then the saturation rate of a burst (signals from the first generated to
   the last started), and the worker's CPU per signal (its process and pool, from /proc).
   With tracing on, what the burst's telemetry lost: the share of its traces that reached
   Jaeger whole (one root, no missing parent, every span of the trace shape) through the
   stack's collector with its tail sampling (at 100% unless TRACE_SAMPLING_PERCENTAGE is
   set), the spans the services' SDKs dropped (their own counter), those the collector
   refused or failed to send (its counters), and the derived count of executions against the
   database's.
4. **Worker**: a worker of each mode works through a backlog of runs queued as the dispatcher
   queues them, agents at zero duration: its CPU per execution and executions/s
   (`worker_cost.py`, which also profiles it with py-spy: `--profile on`).
5. **Backend**: requests/s of `GET /executions` and `POST /pipelines/{id}/run`
   (`backend_requests.py`).
6. **Collector**: our configuration against a plain one, CPU and peak RSS per 10,000 spans
   from telemetrygen and from our own traffic (`collector_cost.py`).

Writes `benchmarks/results/<date>.json` and prints the table the README shows.

    .venv/bin/python benchmarks/fast_path.py [--rounds 3] [--parts end_to_end,backend]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend_requests import backend_rounds
from collector_cost import collector_rounds
from proc import tree_cpu_seconds
from worker_cost import py_spy, worker_rounds

from tracing import span_names
from tracing.service_names import TRIGGER_DISPATCHER, WORKER

# "unexported": spans (and log records) made as with tracing on, then dropped: the difference
# to "on" is what exporting costs the process (encoding, on the same two cores and GIL).
# "stock": tracing on with the stock OTLP encoder, the code before our wire encoder (run it
# with --modes on,stock,unexported,off to measure the two interleaved).
ALL_MODES = {"on": {"OTEL_SDK_DISABLED": "false"},
             "stock": {"OTEL_SDK_DISABLED": "false", "TRADETRACE_OTLP_ENCODER": "stock"},
             "unexported": {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "none",
                            "OTEL_LOGS_EXPORTER": "none"},
             "off": {"OTEL_SDK_DISABLED": "true"}}
DEFAULT_MODES = "on,unexported,off"
MODES = {mode: ALL_MODES[mode] for mode in DEFAULT_MODES.split(",")}   # --modes sets it
RESULTS = Path(__file__).parent / "results"
# (pipelines per signal, signals per round): about 2,000-3,000 tasks per round.
DISPATCH_CASES = [(1, 2000), (10, 300)]
LATENCY_RATE, LATENCY_SIGNALS = 10.0, 100
BURST_SIGNALS = 600


# --- the dispatcher round: runs in a process of its own -----------------------------------

def dispatcher_round(pipelines_per_signal: int, signals: int) -> dict[str, float]:
    """Publish `signals` (one per ticker) and dispatch them; this process's mode is its env."""
    import redis
    from confluent_kafka import Consumer

    from services.shared.lifecycle import settle_heap
    from services.shared.settings import Settings
    from services.shared.topics import ensure_topics
    from services.signal_generator.emitting import generate_and_publish
    from services.signal_generator.publisher import SignalPublisher
    from services.trigger_dispatcher.dispatcher import Dispatcher
    from services.trigger_dispatcher.dlq import create_dlq_producer
    from services.trigger_dispatcher.index import load_index
    from services.trigger_dispatcher.telemetry import DispatcherTelemetry

    run = uuid.uuid4().hex[:8]
    settings = Settings(signals_topic=f"bench-{run}", dlq_topic=f"bench-{run}.dlq",
                        consumer_group=f"bench-{run}", index_refresh_seconds=3600)
    telemetry = DispatcherTelemetry("benchmark")     # as production: logging configured
    ensure_topics(settings)
    settle_heap()           # as the services do before their loops
    stream = iter(_signals(_tickers(pipelines_per_signal, signals)))
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    cpu = time.process_time()
    for _ in range(signals):
        generate_and_publish(stream, publisher)
    publisher.flush(60)
    _flush_spans()          # the generator's export is the generator's, not the dispatcher's
    publish_cpu = time.process_time() - cpu

    consumer = Consumer(settings.kafka_config({"group.id": settings.consumer_group,
                                               "enable.auto.commit": False,
                                               "auto.offset.reset": "earliest"}))
    consumer.subscribe([settings.signals_topic])
    client = redis.Redis.from_url(settings.redis_url)
    dispatcher = Dispatcher(settings, consumer, create_dlq_producer(settings), client)
    dispatcher.use_index(load_index(settings.database_url))
    first = 0
    while not first:    # the first batch pays for joining the group: not timed
        first = dispatcher.run_once()
    handled = first
    wall, cpu = time.perf_counter(), time.process_time()
    while handled < signals:
        handled += dispatcher.run_once()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    timed = signals - first
    consumer.close()
    telemetry.shutdown()
    tasks = sum(client.llen(key) for key in client.scan_iter("pipelines*")
                if client.type(key) == b"list")
    client.flushdb()        # the tasks (no worker runs them) and the locks: the next round's
    if tasks < signals * pipelines_per_signal:
        raise RuntimeError(f"{tasks} tasks queued for {signals * pipelines_per_signal} runs")
    return {"signals_per_s": timed / wall,
            "tasks_per_s": timed * pipelines_per_signal / wall,
            "dispatch_cpu_us": cpu * 1e6 / timed,
            "publish_cpu_us": publish_cpu * 1e6 / signals}


def _flush_spans() -> None:
    """Export what the tracer provider still holds (nothing to do with tracing off)."""
    from opentelemetry import trace

    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if flush is not None:
        flush()


def group_member(expected: int, ready: Path) -> dict[str, float]:
    """One dispatcher of a consumer group (topic and group from the environment): join, say
    so in `ready`, then dispatch until the group has committed `expected` messages."""
    import redis
    from confluent_kafka import TopicPartition

    from services.shared.settings import Settings
    from services.trigger_dispatcher.dispatcher import Dispatcher
    from services.trigger_dispatcher.dlq import create_dlq_producer
    from services.trigger_dispatcher.index import load_index
    from services.trigger_dispatcher.offsets import create_consumer
    from services.trigger_dispatcher.telemetry import DispatcherTelemetry

    settings = Settings(index_refresh_seconds=3600)
    telemetry = DispatcherTelemetry("benchmark")
    consumer = create_consumer(settings)
    consumer.subscribe([settings.signals_topic])
    dispatcher = Dispatcher(settings, consumer, create_dlq_producer(settings),
                            redis.Redis.from_url(settings.redis_url))
    dispatcher.use_index(load_index(settings.database_url))
    while not consumer.assignment():
        dispatcher.run_once()           # joins the group; nothing is published yet
    ready.touch()
    partitions = [TopicPartition(settings.signals_topic, p)
                  for p in range(settings.signal_partitions)]
    handled, last, cpu = 0, time.time(), time.process_time()
    while True:
        batch = dispatcher.run_once()
        if batch:
            handled, last = handled + batch, time.time()
        elif sum(max(0, tp.offset) for tp in consumer.committed(partitions, 10)) >= expected:
            break
    cpu = time.process_time() - cpu
    consumer.close()
    telemetry.shutdown()
    return {"handled": handled, "last": last, "cpu": cpu}


def _bare_span_us(count: int = 20000) -> float:
    """The SDK's cost of a span with no processor: the floor under any tracing (measured in
    the parent, between the rounds, so on the same machine at the same time)."""
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("bare")
    started = time.process_time()
    for _ in range(count):
        tracer.start_span("bare").end()
    return (time.process_time() - started) * 1e6 / count


def _tickers(pipelines_per_signal: int, signals: int) -> list[str]:
    return [f"P{pipelines_per_signal:02d}T{i:05d}" for i in range(signals)]


def _signals(tickers: list[str]) -> list[Any]:
    from services.shared.signals import Signal

    return [Signal(signal_type="mock", source="bench", ticker=t, direction="buy", strength=0.5)
            for t in tickers]


# --- the parent: a room, the interleaved rounds, the table --------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--round", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--member", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--profile-only", choices=list(ALL_MODES),
                        help="only profile the dispatcher in this mode (py-spy), no rounds")
    parser.add_argument("--modes", default=DEFAULT_MODES,
                        help=f"a comma-separated subset of {','.join(ALL_MODES)}, run "
                             "interleaved in this order")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"a comma-separated subset of {','.join(PARTS)}; the results "
                             "of a subset go to <date>-partial.json")
    args = parser.parse_args()
    if args.round:
        print(json.dumps(dispatcher_round(*args.round)))
        return
    if args.member:
        print(json.dumps(group_member(int(args.member[0]), Path(args.member[1]))))
        return
    MODES.clear()
    MODES.update({mode: ALL_MODES[mode] for mode in args.modes.split(",")})
    from tradetrace.stack.scratch import free_redis_url, fresh_database, left_as_found

    with left_as_found():
        env = {**os.environ,
               "TRADETRACE_DATABASE_URL": fresh_database(f"bench_{uuid.uuid4().hex[:8]}"),
               "TRADETRACE_REDIS_URL": free_redis_url(), "TRADETRACE_AGENT_TIME_SCALE": "0",
               # The bench's processes as one service instance (the end-to-end rounds set a
               # namespace of their own instead): each dispatcher round's 2,000 tickers are
               # derived series of its instance, and a new instance per process filled the
               # stack collector's 50,000 streams (the end-to-end rounds then went uncounted).
               "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=benchmark"}
        _create_pipelines(env["TRADETRACE_DATABASE_URL"])
        if args.profile_only:
            RESULTS.mkdir(exist_ok=True)
            profile = RESULTS / f"dispatcher-{args.profile_only}.speedscope.json"
            _run_round({**env, **MODES[args.profile_only]}, *DISPATCH_CASES[0], profile=profile)
            print(f"written: {profile}")
            return
        parts = args.parts.split(",")
        results = {"machine": _machine(), "rounds": args.rounds, "modes": list(MODES),
                   **{part: PARTS[part](env, args.rounds) for part in parts}}
        results["tracing_cost_us"] = tracing_cost(results)
    RESULTS.mkdir(exist_ok=True)
    partial = "" if set(parts) == set(PARTS) else "-partial"
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}{partial}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"\nwritten: {out}")


def _backend_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    return backend_rounds(env, MODES, rounds, _summary)


def _collector_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    return collector_rounds(env, rounds, _summary)


def _worker_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    return worker_rounds(env, MODES, rounds, _summary)


def _create_pipelines(database_url: str) -> None:
    """One pipeline per ticker per dispatcher case (1 or 10 per signal), and the end-to-end
    tickers; each round's signals use each ticker once (no worker releases the locks)."""
    from services.shared.db import Pipeline, TriggerMode, session_scope

    agents = [{"name": "market_data", "params": {"duration_ms": 0}}]
    rows = []
    for per_signal, signals in DISPATCH_CASES:
        rows += [(f"{t}-{n}", [t]) for t in _tickers(per_signal, signals)
                 for n in range(per_signal)]
    rows += [(t, [t]) for t in _e2e_tickers()]
    with session_scope(database_url) as session:
        session.add_all(Pipeline(name=name, tickers=tickers, trigger_mode=TriggerMode.SIGNAL,
                                 agents=agents, enabled=True) for name, tickers in rows)


def _e2e_tickers() -> list[str]:
    return [f"E{i:05d}" for i in range(LATENCY_SIGNALS + BURST_SIGNALS + 1)]


def _dispatcher_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    bare = []
    for per_signal, signals in DISPATCH_CASES:
        samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for _ in range(rounds):
            for mode, variables in MODES.items():        # interleaved: on, off, on, off, ...
                samples[mode].append(_run_round({**env, **variables}, per_signal, signals))
            bare.append(_bare_span_us())
        results[f"{per_signal}_per_signal"] = {"signals": signals,
                                               **_summary(samples)}
    results["bare_span_us"] = {"median": statistics.median(bare), "min": min(bare),
                               "max": max(bare)}
    profile = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}-dispatcher-on.speedscope.json"
    if py_spy():
        RESULTS.mkdir(exist_ok=True)
        _run_round({**env, **MODES["on"]}, *DISPATCH_CASES[0], profile=profile)
        results["profile"] = profile.name
    return results


def _run_round(env: dict[str, str], per_signal: int, signals: int,
               profile: Path | None = None) -> dict[str, float]:
    command = [sys.executable, __file__, "--round", str(per_signal), str(signals)]
    if profile is not None:
        command = [py_spy() or "py-spy", "record", "--format", "speedscope", "--rate", "200",
                   "-o", str(profile), "--", *command]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=True,
                            timeout=600).stdout
    return json.loads(next(line for line in reversed(output.splitlines())
                           if line.startswith("{")))


def _own_topics(env: dict[str, str], name: str) -> dict[str, str]:
    """`env` with a signal topic, DLQ and consumer group of a round's own."""
    run = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    return {**env, "TRADETRACE_SIGNALS_TOPIC": run, "TRADETRACE_DLQ_TOPIC": f"{run}.dlq",
            "TRADETRACE_CONSUMER_GROUP": run}


def _group_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    """One and two dispatcher processes in one consumer group, joined before the signals
    (one pipeline each) are published: signals/s from the first publish to the last batch."""
    per_signal, signals = DISPATCH_CASES[0]
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for _ in range(rounds):
        for mode, variables in MODES.items():
            samples[mode].append({
                f"group_{n}_signals_per_s": _group_round({**env, **variables}, n, signals)
                for n in (1, 2)})
    return {"signals": signals, **_summary(samples)}


def _group_round(env: dict[str, str], dispatchers: int, signals: int) -> float:
    import redis

    from services.shared.settings import Settings
    from services.shared.topics import ensure_topics
    from services.signal_generator.publisher import SignalPublisher

    env = _own_topics(env, "group")
    settings = Settings(signals_topic=env["TRADETRACE_SIGNALS_TOPIC"],
                        dlq_topic=env["TRADETRACE_DLQ_TOPIC"])
    ensure_topics(settings)
    ready = [Path(tempfile.mkdtemp()) / "ready" for _ in range(dispatchers)]
    members = [subprocess.Popen([sys.executable, __file__, "--member", str(signals), str(r)],
                                env=env, stdout=subprocess.PIPE, text=True) for r in ready]
    try:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready):
            if time.monotonic() > deadline or any(m.poll() is not None for m in members):
                raise RuntimeError("the dispatchers did not all join the group")
            time.sleep(0.1)
        publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
        started = time.time()
        for signal in _signals(_tickers(*DISPATCH_CASES[0])):
            publisher.publish(signal)
        publisher.flush(60)
        reports = [json.loads(m.communicate(timeout=600)[0].strip().splitlines()[-1])
                   for m in members]
    finally:
        for member in members:
            member.kill()
    redis.Redis.from_url(env["TRADETRACE_REDIS_URL"]).flushdb()   # tasks and locks
    if sum(r["handled"] for r in reports) < signals:
        raise RuntimeError(f"{dispatchers} dispatchers handled {reports}, not {signals}")
    return signals / (max(r["last"] for r in reports) - started)


def _end_to_end_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for round_number in range(rounds):
        for mode, variables in MODES.items():
            samples[mode].append(_end_to_end_round({**env, **variables}, f"{mode}{round_number}"))
    return {"latency_rate_per_s": LATENCY_RATE, "burst_signals": BURST_SIGNALS,
            **_summary(samples)}


def _horizontal_rounds(env: dict[str, str], rounds: int) -> dict[str, Any]:
    """The end-to-end round with one dispatcher and one worker, and with two of each (the
    dispatchers in one consumer group, the workers on one queue), interleaved: what a second
    process of each buys on this machine."""
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    for round_number in range(rounds):
        for mode, variables in MODES.items():
            figures: dict[str, float] = {}
            for replicas in (1, 2):
                measured = _end_to_end_round({**env, **variables},
                                             f"h{replicas}{mode}{round_number}", replicas)
                figures |= {f"replicas_{replicas}_{key}": measured[key]
                            for key in ("burst_signals_per_s", "worker_cpu_us")}
            samples[mode].append(figures)
    return {"burst_signals": BURST_SIGNALS, **_summary(samples)}


def _end_to_end_round(env: dict[str, str], name: str, replicas: int = 1) -> dict[str, float]:
    """`replicas` dispatchers and workers of this mode; a warm-up signal, the fixed rate, the
    burst. With tracing on, also what the burst's telemetry lost on the way (see `_losses`)."""
    from services.shared.settings import Settings
    from services.signal_generator.publisher import SignalPublisher
    from tests.support.ground_truth import finished_rows
    from tradetrace.platform import Platform
    from tradetrace.stack.ports import free_port

    env = _own_topics(env, name)
    namespace = env["TRADETRACE_SIGNALS_TOPIC"]
    # The round's services by name in the derived metrics (job="<namespace>/worker").
    env |= {"OTEL_RESOURCE_ATTRIBUTES": f"service.namespace={namespace}"}
    settings = Settings(database_url=env["TRADETRACE_DATABASE_URL"],
                        signals_topic=env["TRADETRACE_SIGNALS_TOPIC"])
    tickers = _e2e_tickers()
    services = Platform(env=env, state=Path(tempfile.mkdtemp(prefix="bench-")),
                        backend_port=free_port(), replicas=replicas)
    workers = services.replica_names(WORKER)
    with services.running([*services.replica_names(TRIGGER_DISPATCHER), *workers]):
        publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
        [warm_up] = _signals(tickers[:1])
        publisher.publish(warm_up)
        publisher.flush(10)
        finished_rows(settings, [warm_up.signal_id], 1)
        _group_joined(settings, env["TRADETRACE_CONSUMER_GROUP"], replicas)
        pids = [services.pid(worker) for worker in workers]
        assert all(pids)
        cpu_of_workers = lambda: sum(tree_cpu_seconds(pid) for pid in pids)  # noqa: E731
        worker_cpu = cpu_of_workers()
        steady = _signals(tickers[1:LATENCY_SIGNALS + 1])
        for signal in steady:
            sent = time.perf_counter()
            publisher.publish(signal.model_copy(update={"generated_at": datetime.now(UTC)}))
            time.sleep(max(0.0, 1 / LATENCY_RATE - (time.perf_counter() - sent)))
        publisher.flush(10)
        latencies = sorted(_started(settings, [s.signal_id for s in steady]).values())
        burst = _signals(tickers[LATENCY_SIGNALS + 1:])
        collector_losses = _collector_losses()
        first_generated = datetime.now(UTC)
        for signal in burst:
            publisher.publish(signal.model_copy(update={"generated_at": datetime.now(UTC)}))
        publisher.flush(30)
        last_started = max(_started(settings, [s.signal_id for s in burst], latency=False)
                           .values())
        executions = len(finished_rows(settings, [s.signal_id for s in steady + burst],
                                       len(steady) + len(burst), timeout=180))
        worker_cpu = cpu_of_workers() - worker_cpu
        cut = statistics.quantiles(latencies, n=100)
        figures = {"latency_p50_ms": statistics.median(latencies),
                   "latency_p95_ms": cut[94], "latency_p99_ms": cut[98],
                   "burst_signals_per_s": len(burst) / (last_started
                                                         - first_generated.timestamp()),
                   "worker_cpu_us": worker_cpu * 1e6 / (len(steady) + len(burst))}
        if env.get("OTEL_SDK_DISABLED") == "false" and "OTEL_TRACES_EXPORTER" not in env:
            figures["complete_traces_pct"] = _complete_traces_pct(
                settings, [s.signal_id for s in burst])
            figures |= _losses(namespace, executions + 1, collector_losses)
    import redis

    redis.Redis.from_url(env["TRADETRACE_REDIS_URL"]).flushdb()   # the locks of runs cut short
    return figures


def _group_joined(settings: Any, group: str, members: int, timeout: float = 60) -> None:
    """Wait until the dispatchers' consumer group has `members` members, so that no
    rebalance falls into the burst."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap_servers})
    deadline = time.monotonic() + timeout
    while len(admin.describe_consumer_groups([group])[group].result(10).members) < members:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{members} dispatchers did not join {group} in {timeout:.0f}s")
        time.sleep(0.2)


def _losses(namespace: str, executions: int, collector_before: float,
            timeout: float = 60) -> dict[str, float]:
    """What the round's telemetry lost: spans its services' SDKs dropped (their queue full),
    spans the stack's collector refused or failed to send since `collector_before` (shared
    with whatever else runs), and the derived count of the round's executions minus the
    database's (`executions`, the warm-up's included), once the derived count has caught up
    or `timeout` passed."""
    from tests.support.prometheus import exposed, exposed_sum
    from tradetrace.stack.ports import HOST, port

    derived_url = f"http://{HOST}:{port('collector', 'Prometheus exporter')}/metrics"
    jobs = [f"{namespace}/trigger-dispatcher", f"{namespace}/worker"]
    deadline = time.monotonic() + timeout
    while True:
        samples = exposed(derived_url)
        derived = exposed_sum(samples, "pipeline_executions_total", job=jobs[1])
        reported = all(exposed_sum(samples, "otel_sdk_processor_span_processed_total", job=job)
                       for job in jobs)
        if (derived >= executions and reported) or time.monotonic() > deadline:
            break
        time.sleep(1)
    dropped = sum(exposed_sum(samples, "otel_sdk_processor_span_processed_total", job=job,
                              error_type="queue_full") for job in jobs)
    return {"sdk_dropped_spans": dropped,
            "collector_dropped_spans": _collector_losses() - collector_before,
            "derived_minus_database": derived - executions}


def _collector_losses() -> float:
    """Spans the stack's collector refused, failed to queue or failed to send, so far."""
    from tests.support.prometheus import exposed, exposed_sum
    from tradetrace.stack.ports import HOST, port

    samples = exposed(f"http://{HOST}:{port('collector', 'collector self-metrics')}/metrics")
    return sum(exposed_sum(samples, name) for name in (
        "otelcol_receiver_refused_spans_total", "otelcol_exporter_enqueue_failed_spans_total",
        "otelcol_exporter_send_failed_spans_total"))


def _expected_spans(topic: str) -> tuple[str, ...]:
    """A burst signal's trace: the signal's chain from the dispatcher's process span down (the
    bench publishes without tracing, so that span is its root)."""
    from services.shared.tasks import PIPELINE_TASK

    chain = span_names.signal_chain(topic, PIPELINE_TASK)
    return chain[chain.index(span_names.kafka_process(topic)):]


def _complete_traces_pct(settings: Any, signal_ids: list[str], timeout: float = 60) -> float:
    """The share of the signals whose trace reached Jaeger whole: one root, no span whose
    parent is missing, and every span the trace shape has. Waits (bounded) for the services'
    and the collector's batches to arrive; what is still incomplete then counts as broken."""
    from sqlalchemy import select

    from services.shared.db import Execution, session_scope
    from trace_reader.jaeger import Jaeger, TraceUnavailable
    from tradetrace.stack.components.jaeger import query_url

    with session_scope(settings.database_url) as session:
        trace_ids = set(session.scalars(select(Execution.trace_id).where(
            Execution.signal_id.in_(signal_ids))))
    jaeger = Jaeger(query_url())
    pending = {t for t in trace_ids if t}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for trace_id in sorted(pending):
            try:
                if _whole(jaeger.trace(trace_id), _expected_spans(settings.signals_topic)):
                    pending.discard(trace_id)
            except TraceUnavailable:
                pass                    # not arrived yet
        time.sleep(1)
    return 100.0 * (len(signal_ids) - len(pending) - (len(signal_ids) - len(trace_ids))) \
        / len(signal_ids)


def _whole(trace: Any, expected: tuple[str, ...]) -> bool:
    ids = {s.span_id for s in trace.spans}
    return (len(trace.roots) == 1
            and all(s.parent_id is None or s.parent_id in ids for s in trace.spans)
            and all(trace.named(name) for name in expected))


def _started(settings: Any, signal_ids: list[str], latency: bool = True,
             timeout: float = 180) -> dict[str, float]:
    """Per signal, once every one's execution has started: generation to start in ms (or the
    start as a timestamp when `latency` is False)."""
    from sqlalchemy import select

    from services.shared.db import Execution, session_scope

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(settings.database_url) as session:
            rows = session.execute(select(Execution.signal_id, Execution.started_at,
                                          Execution.signal).where(
                Execution.signal_id.in_(signal_ids), Execution.started_at.is_not(None))).all()
        if len(rows) >= len(signal_ids):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(rows)} of {len(signal_ids)} executions started "
                               f"after {timeout:.0f}s")
        time.sleep(0.2)
    if not latency:
        return {r.signal_id: _aware(r.started_at).timestamp() for r in rows}
    return {r.signal_id: (_aware(r.started_at) - datetime.fromisoformat(
        r.signal["generated_at"])).total_seconds() * 1000 for r in rows}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _summary(samples: dict[str, list[dict[str, float]]],
             ratio: tuple[str, str] = ("on", "off")) -> dict[str, Any]:
    """Per figure: each mode's rounds, median and spread, and the ratio of the medians of the
    two modes of `ratio` (on/off unless told)."""
    summary: dict[str, Any] = {}
    numerator, denominator = ratio
    for key in samples[numerator][0]:
        figure: dict[str, Any] = {}
        for mode, rounds in samples.items():
            values = [r[key] for r in rounds if key in r]
            if not values:
                continue                # measured in one mode only (complete traces)
            figure[mode] = {"median": statistics.median(values), "min": min(values),
                            "max": max(values), "rounds": values}
        below = figure.get(denominator, {}).get("median")
        figure["ratio"] = figure[numerator]["median"] / below if below else None
        summary[key] = figure
    return summary


# Tracing's own cost, in us of CPU per signal (per execution for the worker): where each is
# measured, and its goal (issue 28).
COSTS = {"dispatcher": ("dispatcher", "1_per_signal", "dispatch_cpu_us", 70),
         "generator": ("dispatcher", "1_per_signal", "publish_cpu_us", 35),
         "worker": ("worker", None, "worker_cpu_us_per_execution", 800)}


def tracing_cost(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per service: what tracing costs (on - off), what exporting costs of it (on -
    unexported), and with the stock encoder's mode run, what tracing cost with it."""
    costs: dict[str, dict[str, float | None]] = {}
    for service, (part, case, key, goal) in COSTS.items():
        figures = results.get(part, {})
        figure = (figures.get(case, {}) if case else figures).get(key)
        if not figure or "on" not in figure or "off" not in figure:
            continue
        median = {mode: figure[mode]["median"] for mode in figure if isinstance(
            figure[mode], dict)}
        costs[service] = {
            "cost_us": median["on"] - median["off"],
            "export_us": median["on"] - median["unexported"] if "unexported" in median
            else None,
            "stock_cost_us": median["stock"] - median["off"] if "stock" in median else None,
            "goal_us": goal}
    return costs


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": host.python_version(),
            "system": f"{host.system()} {host.release()}", "processor": host.machine(),
            "when": datetime.now(UTC).isoformat(timespec="seconds")}


LABELS = {
    "signals_per_s": "signals/s", "tasks_per_s": "tasks/s",
    "dispatch_cpu_us": "CPU us/signal", "publish_cpu_us": "generator CPU us/signal",
    "worker_cpu_us": "worker CPU us/signal",
    "worker_cpu_us_per_execution": "worker CPU us/execution",
    "executions_per_s": "executions/s",
    "latency_p50_ms": "latency p50 ms",
    "latency_p95_ms": "latency p95 ms", "latency_p99_ms": "latency p99 ms",
    "burst_signals_per_s": "burst signals/s",
    "complete_traces_pct": "burst: traces whole in Jaeger, %",
    "sdk_dropped_spans": "burst: spans the SDKs dropped",
    "collector_dropped_spans": "burst: spans the collector refused or failed",
    "derived_minus_database": "burst: derived executions minus the database's",
    "group_1_signals_per_s": "one dispatcher, signals/s",
    "group_2_signals_per_s": "two dispatchers, signals/s",
    "replicas_1_burst_signals_per_s": "one dispatcher and worker: burst signals/s",
    "replicas_2_burst_signals_per_s": "two of each: burst signals/s",
    "replicas_1_worker_cpu_us": "one of each: worker CPU us/signal",
    "replicas_2_worker_cpu_us": "two of each: workers' CPU us/signal",
    "get_executions_per_s": "GET /executions per s",
    "post_run_per_s": "POST /pipelines/{id}/run per s",
    "cpu_s_per_10k_spans": "CPU s per 10,000 spans", "peak_rss_mib": "peak RSS MiB",
    "series": "series exposed", "spans": "spans",
}


def _table(results: dict[str, Any]) -> str:
    dispatcher = results.get("dispatcher", {})
    parts = {f"dispatcher, {key.replace('_', ' ')}": figures
             for key, figures in dispatcher.items() if key.endswith("per_signal")}
    for key, part in (("group", "dispatcher group"), ("end_to_end", "end to end"),
                      ("horizontal", "end to end, scaled out"),
                      ("worker", "worker, a backlog"), ("backend", "backend")):
        if key in results:
            parts[part] = results[key]
    lines = [f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
             f"{results['rounds']} interleaved rounds per mode; median (min-max)."]
    if "bare_span_us" in dispatcher:
        bare = dispatcher["bare_span_us"]
        lines[0] += (f" The SDK's bare span: {bare['median']:.1f} us "
                     f"({bare['min']:.1f}-{bare['max']:.1f}).")
    if parts:
        lines += ["", *_rows(parts, list(MODES), "on/off")]
    if results.get("tracing_cost_us"):
        lines += ["", "Tracing's own cost, us of CPU per signal (per execution for the worker):",
                  "", "| service | on - off | of which export (on - unexported) | "
                  "with the stock encoder | goal |", "|---|---:|---:|---:|---:|"]
        for service, cost in results["tracing_cost_us"].items():
            cells = [_number(v) if v is not None else "-" for v in (
                cost["cost_us"], cost["export_us"], cost["stock_cost_us"])]
            lines.append(f"| {service} | {' | '.join(cells)} | <= {cost['goal_us']} |")
    if "collector" in results:
        collector = results["collector"]
        lines += [
            "", f"The collector, our configuration against the plain one (tail sampling's "
            f"decision wait {collector['decision_wait']}); telemetrygen: "
            f"{collector['telemetrygen_spans']:,} spans per round; our traffic: "
            f"{collector['own_signals']:,} signals through the dispatcher.", "",
            *_rows({"collector, telemetrygen": collector["telemetrygen"],
                    "collector, our traffic": collector["our_traffic"]}, ["ours", "plain"],
                   "ours/plain")]
    return "\n".join(lines)


def _rows(parts: dict[str, dict[str, Any]], modes: list[str], ratio: str) -> list[str]:
    """A markdown table: per part and figure, each mode's median (min-max) and the ratio."""
    lines = [f"| part | figure | {' | '.join(modes)} | {ratio} |",
             f"|---|---|{'---:|' * len(modes)}---:|"]
    for part, figures in parts.items():
        for key, figure in figures.items():
            if not isinstance(figure, dict) or (key == "tasks_per_s"
                                                and part.endswith(" 1 per signal")):
                continue
            if key == "publish_cpu_us" and not part.endswith(" 1 per signal"):
                continue        # the same path, on too few signals to say more
            cells = [f"{_number(figure[m]['median'])} ({_number(figure[m]['min'])}-"
                     f"{_number(figure[m]['max'])})" if m in figure else "-" for m in modes]
            shown = f"{figure['ratio']:.2f}" if figure["ratio"] else "-"
            lines.append(f"| {part} | {LABELS[key]} | {' | '.join(cells)} | {shown} |")
    return lines


def _number(value: float) -> str:
    """Three significant digits below 100 (0.312, 17.9), whole numbers above."""
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


PARTS = {"dispatcher": _dispatcher_rounds, "group": _group_rounds,
         "end_to_end": _end_to_end_rounds, "horizontal": _horizontal_rounds,
         "backend": _backend_rounds, "collector": _collector_rounds, "worker": _worker_rounds}

if __name__ == "__main__":
    main()
