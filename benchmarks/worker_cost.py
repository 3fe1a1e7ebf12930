"""The worker's CPU per execution, tracing on, unexported and off, and where it goes.

A worker of each mode (a fresh process per round, modes interleaved, configured as the
platform runs it: prefork, two children, INFO logs) works through EXECUTIONS runs of as many
pipelines, one zero-duration agent each. The runs are queued as the dispatcher queues them
(row, lock, task) from a publisher whose spans are not exported, so the worker continues a
remote trace as in production. Measured: the worker's process tree's CPU from /proc between
the first task published and the last row finished, per execution, and executions per second.

`python benchmarks/worker_cost.py --profile MODE` records the same burst with py-spy
(`~/.cache/tradetrace/pyspy` or PATH) into results/, speedscope and a table of the functions
that take the most of the children's CPU.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from proc import tree_cpu_seconds
from sqlalchemy import func, select

from tracing.service_names import WORKER

EXECUTIONS = 600
RESULTS = Path(__file__).parent / "results"
PY_SPY = [Path.home() / ".cache/tradetrace/pyspy/bin/py-spy"]


def worker_rounds(env: dict[str, str], modes: dict[str, dict[str, str]], rounds: int,
                  summary: Callable[..., dict[str, Any]],
                  executions: int = EXECUTIONS) -> dict[str, Any]:
    pipeline_ids = _pipelines(env["TRADETRACE_DATABASE_URL"], executions)
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, variables in modes.items():
            samples[mode].append(worker_round({**env, **variables}, pipeline_ids))
    return {"executions": executions, **summary(samples)}


def worker_round(env: dict[str, str], pipeline_ids: list[int],
                 profile: Path | None = None) -> dict[str, float]:
    from services.shared.settings import Settings
    from tradetrace.platform import Platform
    from tradetrace.stack.ports import free_port

    settings = Settings(database_url=env["TRADETRACE_DATABASE_URL"],
                        redis_url=env["TRADETRACE_REDIS_URL"])
    platform = Platform(env=env, state=Path(tempfile.mkdtemp(prefix="bench-worker-")),
                        backend_port=free_port())
    with platform.running([WORKER]):
        _wait_finished(settings, _queue(settings, pipeline_ids[:1]))          # warm-up
        worker = platform.pid(WORKER)
        assert worker is not None
        spy = _start_profile(worker, profile) if profile else None
        cpu, started = tree_cpu_seconds(worker), time.perf_counter()
        _wait_finished(settings, _queue(settings, pipeline_ids[1:]))
        cpu, wall = tree_cpu_seconds(worker) - cpu, time.perf_counter() - started
        if spy:
            spy.send_signal(2)
            spy.wait(60)
    redis.Redis.from_url(settings.redis_url).flushdb()
    runs = len(pipeline_ids) - 1
    return {"worker_cpu_us_per_execution": cpu * 1e6 / runs, "executions_per_s": runs / wall}


def _pipelines(database_url: str, executions: int = EXECUTIONS) -> list[int]:
    from services.shared.db import Pipeline, TriggerMode, session_scope

    agents = [{"name": "market_data", "params": {"duration_ms": 0}}]
    prefix = f"worker-bench-{uuid.uuid4().hex[:6]}"
    with session_scope(database_url) as session:
        rows = [Pipeline(name=f"{prefix}-{n}", tickers=[f"WB{n:05d}"], agents=agents,
                         trigger_mode=TriggerMode.MANUAL, enabled=True)
                for n in range(executions + 1)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _queue(settings: Any, pipeline_ids: list[int]) -> list[str]:
    """Queue a run of each pipeline as the dispatcher does: rows and locks, then the tasks in
    one batch, each under a publish span whose context the worker continues."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from services.shared.clients import redis_client
    from services.shared.db import TriggerMode, session_scope
    from services.shared.executions import run_of
    from services.shared.running import queue_single_run, running_locks
    from services.shared.task_batches import pipeline_run_sender

    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        trace.set_tracer_provider(TracerProvider())      # spans made, never exported
    client = redis_client(settings)
    locks = running_locks(client, settings)
    with session_scope(settings.database_url) as session:
        queued = [queue_single_run(session, locks, p, TriggerMode.MANUAL, settings)
                  for p in pipeline_ids]
        runs = [run_of(execution) for execution in queued if execution is not None]
    with trace.get_tracer("benchmark").start_as_current_span("queue"), \
            pipeline_run_sender(settings, client) as send:
        for run in runs:
            send(run)
    return [run.execution_id for run in runs]


def _wait_finished(settings: Any, execution_ids: list[str], timeout: float = 300) -> None:
    from services.shared.db import FINISHED, Execution, session_scope

    deadline = time.monotonic() + timeout
    query = select(func.count()).where(Execution.id.in_(execution_ids),
                                       Execution.status.in_(FINISHED))
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            if session.scalar(query) == len(execution_ids):
                return
        time.sleep(0.05)
    raise TimeoutError(f"{len(execution_ids)} executions not finished in {timeout:.0f}s")


def py_spy() -> str | None:
    """py-spy from the cache (`pip install --target ~/.cache/tradetrace/pyspy py-spy`), the
    virtualenv or PATH; None when there is none."""
    candidates = [*PY_SPY, Path(sys.executable).parent / "py-spy"]
    return next((str(p) for p in candidates if p.exists()), None) or shutil.which("py-spy")


def _py_spy() -> str:
    found = py_spy()
    if not found:
        raise SystemExit("py-spy not found: pip install --target ~/.cache/tradetrace/pyspy "
                         "py-spy")
    return found


def _start_profile(pid: int, out: Path) -> subprocess.Popen[bytes]:
    command = [_py_spy(), "record", "--pid", str(pid), "--subprocesses", "--rate", "250",
               "--format", "raw", "--output", str(out), "--gil", "--full-filenames",
               "--nonblocking"]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)                 # py-spy attaches before the burst starts
    return spy


def hot_functions(collapsed: Path, top: int = 40) -> list[tuple[float, float, str]]:
    """(inclusive %, self %, function) from py-spy's collapsed stacks, the busiest first."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        samples = int(count)
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    return [(100 * n / total, 100 * own[f] / total, f) for f, n in inclusive.most_common(top)]


# Callees that are the traced library's own work, not tracing's, when they run under an
# instrumentation's wrapper (it calls the wrapped function).
PASSED_THROUGH = ("/sqlalchemy/", "/psycopg/", "/redis/", "/kombu/", "/celery/", "/billiard/",
                  "/main/services/")


def _tracing_frame(frames: list[str]) -> str | None:
    """The innermost OpenTelemetry (or `tracing/`) frame of a sample, if the sample is
    tracing's own work: nothing it calls is the traced library's."""
    ours = [i for i, f in enumerate(frames)
            if "/opentelemetry/" in f or "/main/tracing/" in f]
    if not ours:
        return None
    below = frames[ours[-1] + 1:]
    if any(marker in f and "/opentelemetry/" not in f for f in below
           for marker in PASSED_THROUGH):
        return None
    return frames[ours[-1]]


def tracing_share(collapsed: Path, top: int = 30) -> tuple[float, list[tuple[float, str]]]:
    """Tracing's share of the samples, and (% of samples, frame) by the innermost tracing
    frame, the busiest first."""
    frames: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frame = _tracing_frame(stack.split(";"))
        if frame:
            frames[frame] += int(count)
    return (100 * sum(frames.values()) / total,
            [(100 * n / total, frame) for frame, n in frames.most_common(top)])


def _configured(config: str) -> dict[str, str]:
    """The worker's variables for a CONCURRENCY:PREFETCH pair ('' : the settings')."""
    if not config:
        return {}
    concurrency, prefetch = config.split(":")
    return {"TRADETRACE_WORKER_CONCURRENCY": concurrency,
            "TRADETRACE_WORKER_PREFETCH_MULTIPLIER": prefetch}


def main() -> None:
    from fast_path import ALL_MODES, _summary

    from tradetrace.stack.scratch import free_redis_url, fresh_database, left_as_found

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default="on,unexported,off")
    parser.add_argument("--profile", choices=list(ALL_MODES))
    parser.add_argument("--executions", type=int, default=EXECUTIONS)
    parser.add_argument("--configs", default="",
                        help="worker configurations measured against each other, as "
                             "CONCURRENCY:PREFETCH pairs, e.g. 2:1,2:8 (default: the settings')")
    args = parser.parse_args()
    with left_as_found():
        env = {**os.environ,
               "TRADETRACE_DATABASE_URL": fresh_database(f"bench_{uuid.uuid4().hex[:8]}"),
               "TRADETRACE_REDIS_URL": free_redis_url(), "TRADETRACE_AGENT_TIME_SCALE": "0",
               "OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=benchmark"}
        if args.profile:
            RESULTS.mkdir(exist_ok=True)
            out = RESULTS / f"worker-{args.profile}.collapsed.txt"
            figures = worker_round({**env, **ALL_MODES[args.profile]},
                                   _pipelines(env["TRADETRACE_DATABASE_URL"], args.executions),
                                   profile=out)
            print(figures)
            for inclusive, own, frame in hot_functions(out):
                print(f"{inclusive:5.1f} {own:5.1f}  {frame}")
            share, frames = tracing_share(out)
            print(f"\ntracing's own work: {share:.1f}% of the samples; innermost frames:")
            for part, frame in frames:
                print(f"{part:5.1f}  {frame}")
            return
        modes = {f"{mode} {config}".strip(): {**ALL_MODES[mode], **_configured(config)}
                 for mode in args.modes.split(",") for config in args.configs.split(",")}
        names = list(modes)       # the ratio: the first mode's figures over the last's
        results = worker_rounds(env, modes, args.rounds,
                                functools.partial(_summary, ratio=(names[0], names[-1])),
                                args.executions)
    print(results)


if __name__ == "__main__":
    main()
