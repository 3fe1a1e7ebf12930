"""The backend's requests per second with its instrumentation on and off.

A backend of each mode (fresh process per round, modes interleaved) in the benchmark's room,
driven by a client of CONCURRENCY threads on the same machine: REQUESTS `GET /executions`
(the API's default page of 100 rows, from a table the other benchmarks filled), then
REQUESTS `POST /pipelines/{id}/run`, one per pipeline (no worker runs them: the tasks and the
pipelines' locks are dropped with the room's Redis database after each round).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import redis

from tracing.service_names import BACKEND

REQUESTS = 1000
CONCURRENCY = 4


def backend_rounds(env: dict[str, str], modes: dict[str, dict[str, str]], rounds: int,
                   summary: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    key, pipeline_ids = _prepare(env["TRADETRACE_DATABASE_URL"])
    samples: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, variables in modes.items():
            samples[mode].append(backend_round({**env, **variables}, key, pipeline_ids))
    return {"requests": REQUESTS, "concurrency": CONCURRENCY, **summary(samples)}


def backend_round(env: dict[str, str], key: str, pipeline_ids: list[int]) -> dict[str, float]:
    from tradetrace.platform import Platform
    from tradetrace.stack.ports import free_port

    platform = Platform(env=env, state=Path(tempfile.mkdtemp(prefix="bench-backend-")),
                        backend_port=free_port())
    with platform.running([BACKEND]), httpx.Client(
            base_url=platform.backend_url, timeout=30,
            headers={"Authorization": f"Bearer {key}"}) as client:
        _requests_per_s(client, "GET", ["/executions"] * 50)          # warm-up, not counted
        figures = {
            "get_executions_per_s": _requests_per_s(client, "GET", ["/executions"] * REQUESTS),
            "post_run_per_s": _requests_per_s(
                client, "POST", [f"/pipelines/{p}/run" for p in pipeline_ids]),
        }
    redis.Redis.from_url(env["TRADETRACE_REDIS_URL"]).flushdb()   # the runs' tasks and locks
    return figures


def _requests_per_s(client: httpx.Client, method: str, paths: list[str]) -> float:
    def call(path: str) -> None:
        response = client.request(method, path)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(call, paths))
    return len(paths) / (time.perf_counter() - started)


def _prepare(database_url: str) -> tuple[str, list[int]]:
    """A write key and REQUESTS pipelines to run by hand, in the room's database."""
    from services.shared.api_keys import create_key
    from services.shared.db import ApiRole, Pipeline, TriggerMode, session_scope

    agents = [{"name": "market_data", "params": {"duration_ms": 0}}]
    with session_scope(database_url) as session:
        key = create_key(session, ApiRole.WRITE, "bench")[1]
        pipelines = [Pipeline(name=f"bench-run-{i}", tickers=[f"R{i:05d}"], agents=agents,
                              trigger_mode=TriggerMode.MANUAL, enabled=True)
                     for i in range(REQUESTS)]
        session.add_all(pipelines)
        session.flush()
        return key, [p.id for p in pipelines]
