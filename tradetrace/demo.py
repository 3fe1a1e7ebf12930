"""The demo: a handful of pipelines, signals for a while, and a summary of what ran."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import redis
from sqlalchemy import func, select

from services.shared import redis_keys
from services.shared.api_keys import create_key, find_key
from services.shared.db import ApiRole, Execution, ExecutionStatus, Pipeline, session_scope
from services.shared.settings import Settings
from tradetrace.errors import PlatformError
from tradetrace.stack.paths import state_dir

DEMO_KEY_FILE = "demo-api-key"   # in the state directory

ALL_AGENTS = [{"name": "market_data"}, {"name": "indicators"},
              {"name": "risk_check", "params": {"min_strength": 0.2}},
              {"name": "order_decision", "params": {"quantity": 25}}]

DEMO_PIPELINES: list[dict[str, Any]] = [
    {"name": "demo-momentum-megacaps", "tickers": ["AAPL", "MSFT"], "agents": ALL_AGENTS},
    {"name": "demo-semis-breakout", "tickers": ["NVDA"], "agents": ALL_AGENTS},
    {"name": "demo-risk-watch", "tickers": ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"],
     "agents": [{"name": "market_data"}, {"name": "risk_check", "params": {"min_strength": 0.5}}]},
    {"name": "demo-flaky-feed", "tickers": ["AMZN", "GOOGL"],
     "agents": [{"name": "market_data", "params": {"failure_rate": 0.3}},
                {"name": "order_decision"}]},
    {"name": "demo-periodic-rebalance", "tickers": ["AAPL"], "trigger_mode": "periodic",
     "interval_seconds": 10, "agents": [{"name": "market_data"}, {"name": "order_decision"}]},
    {"name": "demo-disabled-experiment", "tickers": ["AAPL"], "enabled": False,
     "agents": ALL_AGENTS},
]


def demo_key(settings: Settings) -> str:
    """The demo's write key: kept in the state directory (0600) so later runs and the reader
    use the same one; created (and the file written) when missing or no longer valid."""
    path = state_dir() / DEMO_KEY_FILE
    with session_scope(settings.database_url) as session:
        if path.is_file() and find_key(session, path.read_text().strip()) is not None:
            return path.read_text().strip()
        _, key = create_key(session, ApiRole.WRITE, "demo")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(key + "\n")
    return key


def seed_pipelines(backend_url: str, key: str) -> list[int]:
    """Create the demo pipelines through the API (those that exist already are kept)."""
    with httpx.Client(base_url=backend_url, timeout=10,
                      headers={"Authorization": f"Bearer {key}"}) as api:
        existing = {p["name"]: p["id"] for p in api.get("/pipelines").raise_for_status().json()}
        ids = []
        for spec in DEMO_PIPELINES:
            if spec["name"] not in existing:
                response = api.post("/pipelines", json=spec)
                if response.status_code != 201:
                    raise PlatformError(f"seeding {spec['name']}: {response.status_code} "
                                        f"{response.text}")
                existing[spec["name"]] = response.json()["id"]
            ids.append(existing[spec["name"]])
        return ids


@dataclass(frozen=True)
class Summary:
    executions: dict[tuple[str, str], int]   # (pipeline name, status) -> count
    cost_usd: float
    dispatcher: dict[str, int]


def summarize(settings: Settings, since) -> Summary:
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Pipeline.name, Execution.status, func.count(), func.sum(Execution.cost_usd))
            .join(Pipeline, Pipeline.id == Execution.pipeline_id)
            .where(Execution.queued_at >= since)
            .group_by(Pipeline.name, Execution.status)).all()
    stats = redis.Redis.from_url(settings.redis_url, decode_responses=True).hgetall(
        redis_keys.DISPATCHER_STATS)
    return Summary({(name, status.value): count for name, status, count, _ in rows},
                   round(sum(cost or 0 for *_, cost in rows), 6),
                   {str(k): int(v) for k, v in stats.items()})


def wait_until_drained(settings: Settings, since, timeout: float = 60.0) -> None:
    """Wait until no execution started since `since` is still queued or running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            busy = session.scalar(select(func.count()).where(
                Execution.queued_at >= since,
                Execution.status.in_([ExecutionStatus.QUEUED, ExecutionStatus.RUNNING])))
        if not busy:
            return
        time.sleep(0.5)


def latest_traced_signal(settings: Settings, since) -> tuple[str, int] | None:
    """The most recent demo signal that ran pipelines, and how many: the one to show."""
    with session_scope(settings.database_url) as session:
        row = session.execute(
            select(Execution.signal_id, func.count(), func.max(Execution.queued_at))
            .where(Execution.queued_at >= since, Execution.signal_id.is_not(None))
            .group_by(Execution.signal_id)
            .order_by(func.count().desc(), func.max(Execution.queued_at).desc())
            .limit(1)).first()
    return (row[0], row[1]) if row else None


def format_summary(summary: Summary) -> str:
    by_status: Counter[str] = Counter()
    lines = ["executions by pipeline and status:"]
    for (name, status), count in sorted(summary.executions.items()):
        lines.append(f"  {name:<28} {status:<10} {count:>5}")
        by_status[status] += count
    lines.append("  total: " + ", ".join(f"{s} {c}" for s, c in sorted(by_status.items()))
                 + f"; cost ${summary.cost_usd:.4f}")
    lines.append("dispatcher (since it first ran): " + ", ".join(
        f"{k} {v}" for k, v in sorted(summary.dispatcher.items())))
    return "\n".join(lines)
