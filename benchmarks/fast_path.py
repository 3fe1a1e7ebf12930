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
   the last started); with tracing on, the share of the burst's traces that reached Jaeger
   whole (one root, no missing parent, every span of the trace shape), through the stack's
   collector with its tail sampling (at 100% unless TRACE_SAMPLING_PERCENTAGE is set).

Writes `benchmarks/results/<date>.json` and prints the table the README shows.

    .venv/bin/python benchmarks/fast_path.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform as host
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracing import span_names

# "unexported": spans (and log records) made as with tracing on, then dropped: the difference
# to "on" is what exporting costs the process (encoding, on the same two cores and GIL).
MODES = {"on": {"OTEL_SDK_DISABLED": "false"},
         "unexported": {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "none",
                        "OTEL_LOGS_EXPORTER": "none"},
         "off": {"OTEL_SDK_DISABLED": "true"}}
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

    from services.shared.settings import Settings
    from services.shared.topics import ensure_topics
    from services.signal_generator.emitting import generate_and_publish
    from services.signal_generator.publisher import SignalPublisher
    from services.trigger_dispatcher.dispatcher import Dispatcher, create_dlq_producer
    from services.trigger_dispatcher.index import load_index
    from tracing import setup_tracing, shutdown_tracing
    from tracing.instrumentation import instrument_libraries

    run = uuid.uuid4().hex[:8]
    settings = Settings(signals_topic=f"bench-{run}", dlq_topic=f"bench-{run}.dlq",
                        consumer_group=f"bench-{run}", index_refresh_seconds=3600)
    provider = setup_tracing("benchmark")
    instrument_libraries(celery=True)
    ensure_topics(settings)
    stream = iter(_signals(_tickers(pipelines_per_signal, signals)))
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    cpu = time.process_time()
    for _ in range(signals):
        generate_and_publish(stream, publisher)
    publisher.flush(60)
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
    shutdown_tracing(provider)
    tasks = sum(client.llen(key) for key in client.scan_iter("pipelines*")
                if client.type(key) == b"list")
    client.flushdb()        # the tasks (no worker runs them) and the locks: the next round's
    if tasks < signals * pipelines_per_signal:
        raise RuntimeError(f"{tasks} tasks queued for {signals * pipelines_per_signal} runs")
    return {"signals_per_s": timed / wall,
            "tasks_per_s": timed * pipelines_per_signal / wall,
            "dispatch_cpu_us": cpu * 1e6 / timed,
            "publish_cpu_us": publish_cpu * 1e6 / signals}


def group_member(expected: int, ready: Path) -> dict[str, float]:
    """One dispatcher of a consumer group (topic and group from the environment): join, say
    so in `ready`, then dispatch until the group has committed `expected` messages."""
    import redis
    from confluent_kafka import TopicPartition

    from services.shared.settings import Settings
    from services.trigger_dispatcher.dispatcher import (
        Dispatcher,
        create_consumer,
        create_dlq_producer,
    )
    from services.trigger_dispatcher.index import load_index
    from tracing import setup_tracing, shutdown_tracing
    from tracing.instrumentation import instrument_libraries

    settings = Settings(index_refresh_seconds=3600)
    provider = setup_tracing("benchmark")
    instrument_libraries(celery=True)
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
    shutdown_tracing(provider)
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
    parser.add_argument("--profile-only", choices=list(MODES),
                        help="only profile the dispatcher in this mode (py-spy), no rounds")
    args = parser.parse_args()
    if args.round:
        print(json.dumps(dispatcher_round(*args.round)))
        return
    if args.member:
        print(json.dumps(group_member(int(args.member[0]), Path(args.member[1]))))
        return
    from tradetrace.stack.scratch import free_redis_url, fresh_database, left_as_found

    with left_as_found():
        env = {**os.environ,
               "TRADETRACE_DATABASE_URL": fresh_database(f"bench_{uuid.uuid4().hex[:8]}"),
               "TRADETRACE_REDIS_URL": free_redis_url(), "TRADETRACE_AGENT_TIME_SCALE": "0"}
        _create_pipelines(env["TRADETRACE_DATABASE_URL"])
        if args.profile_only:
            RESULTS.mkdir(exist_ok=True)
            profile = RESULTS / f"dispatcher-{args.profile_only}.speedscope.json"
            _run_round({**env, **MODES[args.profile_only]}, *DISPATCH_CASES[0], profile=profile)
            print(f"written: {profile}")
            return
        results = {"machine": _machine(), "rounds": args.rounds,
                   "dispatcher": _dispatcher_rounds(env, args.rounds),
                   "group": _group_rounds(env, args.rounds),
                   "end_to_end": _end_to_end_rounds(env, args.rounds)}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{datetime.now(UTC):%Y-%m-%d}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(_table(results))
    print(f"\nwritten: {out}")


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
    if shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists():
        RESULTS.mkdir(exist_ok=True)
        _run_round({**env, **MODES["on"]}, *DISPATCH_CASES[0], profile=profile)
        results["profile"] = profile.name
    return results


def _run_round(env: dict[str, str], per_signal: int, signals: int,
               profile: Path | None = None) -> dict[str, float]:
    command = [sys.executable, __file__, "--round", str(per_signal), str(signals)]
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--format", "speedscope", "--rate", "200", "-o", str(profile),
                   "--", *command]
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


def _end_to_end_round(env: dict[str, str], name: str) -> dict[str, float]:
    """A dispatcher and a worker of this mode; a warm-up signal, the fixed rate, the burst."""
    from services.shared.settings import Settings
    from services.signal_generator.publisher import SignalPublisher
    from tradetrace.platform import Platform
    from tradetrace.stack.ports import free_port

    env = _own_topics(env, name)
    settings = Settings(database_url=env["TRADETRACE_DATABASE_URL"],
                        signals_topic=env["TRADETRACE_SIGNALS_TOPIC"])
    tickers = _e2e_tickers()
    services = Platform(env=env, state=Path(tempfile.mkdtemp(prefix="bench-")),
                        backend_port=free_port())
    with services.running(["trigger-dispatcher", "worker"]):
        publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
        [warm_up] = _signals(tickers[:1])
        publisher.publish(warm_up)
        publisher.flush(10)
        _started(settings, [warm_up.signal_id])
        steady = _signals(tickers[1:LATENCY_SIGNALS + 1])
        for signal in steady:
            sent = time.perf_counter()
            publisher.publish(signal.model_copy(update={"generated_at": datetime.now(UTC)}))
            time.sleep(max(0.0, 1 / LATENCY_RATE - (time.perf_counter() - sent)))
        publisher.flush(10)
        latencies = sorted(_started(settings, [s.signal_id for s in steady]).values())
        burst = _signals(tickers[LATENCY_SIGNALS + 1:])
        first_generated = datetime.now(UTC)
        for signal in burst:
            publisher.publish(signal.model_copy(update={"generated_at": datetime.now(UTC)}))
        publisher.flush(30)
        last_started = max(_started(settings, [s.signal_id for s in burst], latency=False)
                           .values())
        exported = env.get("OTEL_SDK_DISABLED") == "false" and "OTEL_TRACES_EXPORTER" not in env
        completeness = _complete_traces_pct(settings, [s.signal_id for s in burst]) \
            if exported else None
    import redis

    redis.Redis.from_url(env["TRADETRACE_REDIS_URL"]).flushdb()   # the locks of runs cut short
    cut = statistics.quantiles(latencies, n=100)
    figures = {"latency_p50_ms": statistics.median(latencies), "latency_p95_ms": cut[94],
               "latency_p99_ms": cut[98],
               "burst_signals_per_s": len(burst) / (last_started - first_generated.timestamp())}
    if completeness is not None:
        figures["complete_traces_pct"] = completeness
    return figures


# A burst signal's trace (the bench publishes without tracing: the dispatcher's span is its root).
EXPECTED_SPANS = ("process ", span_names.PIPELINES_MATCH, "apply_async/tradetrace.execute_pipeline",
                  "run/tradetrace.execute_pipeline", span_names.PIPELINE_EXECUTE,
                  span_names.AGENT_RUN)


def _complete_traces_pct(settings: Any, signal_ids: list[str], timeout: float = 60) -> float:
    """The share of the signals whose trace reached Jaeger whole: one root, no span whose
    parent is missing, and every span the trace shape has. Waits (bounded) for the services'
    and the collector's batches to arrive; what is still incomplete then counts as broken."""
    from sqlalchemy import select

    from services.shared.db import Execution, session_scope
    from tradetrace.errors import PlatformError
    from tradetrace.stack.components.jaeger import query_url
    from tradetrace.traces import Jaeger

    with session_scope(settings.database_url) as session:
        trace_ids = set(session.scalars(select(Execution.trace_id).where(
            Execution.signal_id.in_(signal_ids))))
    jaeger = Jaeger(query_url())
    pending = {t for t in trace_ids if t}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for trace_id in sorted(pending):
            try:
                if _whole(jaeger.trace(trace_id)):
                    pending.discard(trace_id)
            except PlatformError:
                pass                    # not arrived yet
        time.sleep(1)
    return 100.0 * (len(signal_ids) - len(pending) - (len(signal_ids) - len(trace_ids))) \
        / len(signal_ids)


def _whole(trace: Any) -> bool:
    ids = {s.span_id for s in trace.spans}
    names = [s.name for s in trace.spans]
    return (len(trace.roots) == 1
            and all(s.parent_id is None or s.parent_id in ids for s in trace.spans)
            and all(any(n.startswith(e) for n in names) for e in EXPECTED_SPANS))


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


def _summary(samples: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per figure: each mode's rounds, median and spread, and the on/off ratio of medians."""
    summary: dict[str, Any] = {}
    for key in samples["on"][0]:
        figure: dict[str, Any] = {}
        for mode, rounds in samples.items():
            values = [r[key] for r in rounds if key in r]
            if not values:
                continue                # measured in one mode only (complete traces)
            figure[mode] = {"median": statistics.median(values), "min": min(values),
                            "max": max(values), "rounds": values}
        off = figure.get("off", {}).get("median")
        figure["on_off"] = figure["on"]["median"] / off if off else None
        summary[key] = figure
    return summary


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": host.python_version(),
            "system": f"{host.system()} {host.release()}", "processor": host.machine(),
            "when": datetime.now(UTC).isoformat(timespec="seconds")}


LABELS = {
    "signals_per_s": "signals/s", "tasks_per_s": "tasks/s",
    "dispatch_cpu_us": "CPU us/signal", "publish_cpu_us": "generator CPU us/signal",
"latency_p50_ms": "latency p50 ms",
    "latency_p95_ms": "latency p95 ms", "latency_p99_ms": "latency p99 ms",
    "burst_signals_per_s": "burst signals/s",
    "complete_traces_pct": "burst: traces whole in Jaeger, %",
    "group_1_signals_per_s": "one dispatcher, signals/s",
    "group_2_signals_per_s": "two dispatchers, signals/s",
}


def _table(results: dict[str, Any]) -> str:
    dispatcher = results["dispatcher"]
    bare = dispatcher["bare_span_us"]
    lines = [f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}, "
             f"{results['rounds']} interleaved rounds per mode; median (min-max). The SDK's "
             f"bare span: {bare['median']:.1f} us ({bare['min']:.1f}-{bare['max']:.1f}).",
             "", f"| part | figure | {' | '.join(f'tracing {m}' for m in MODES)} | on/off |",
             f"|---|---|{'---:|' * len(MODES)}---:|"]
    parts = {f"dispatcher, {key.replace('_', ' ')}": figures
             for key, figures in dispatcher.items() if key.endswith("per_signal")}
    parts["dispatcher group"] = results["group"]
    parts["end to end"] = results["end_to_end"]
    for part, figures in parts.items():
        for key, figure in figures.items():
            if not isinstance(figure, dict) or (key == "tasks_per_s"
                                                and part.endswith(" 1 per signal")):
                continue
            if key == "publish_cpu_us" and not part.endswith(" 1 per signal"):
                continue        # the same path, on too few signals to say more
            cells = [f"{figure[m]['median']:.1f} ({figure[m]['min']:.0f}-{figure[m]['max']:.0f})"
                     if m in figure else "-" for m in MODES]
            ratio = f"{figure['on_off']:.2f}" if figure["on_off"] else "-"
            lines.append(f"| {part} | {LABELS[key]} | {' | '.join(cells)} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
