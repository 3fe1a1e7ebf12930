"""Configuration of every service, from `TRADETRACE_*` environment variables (pydantic-settings).

Defaults point at the native stack on 127.0.0.1; SQLite is the embedded default database.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADETRACE_", extra="ignore")

    database_url: str = "sqlite:///./tradetrace.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    signals_topic: str = "trading-signals"
    dlq_topic: str = "trading-signals.dlq"
    jaeger_ui_url: str = "http://127.0.0.1:16686"

    # backend
    backend_host: str = "127.0.0.1"
    backend_port: int = 8000

    # trigger-dispatcher
    consumer_group: str = "trigger-dispatcher"
    # A dispatcher that dies holds its partitions until this passes; Kafka's default is 45 s.
    consumer_session_timeout_ms: int = Field(10000, ge=6000, le=300000)
    batch_size: int = Field(100, ge=1, le=10000)
    # consume() waits this long for a full batch: the latency a signal pays when traffic is low.
    batch_timeout_seconds: float = Field(0.1, gt=0)
    index_refresh_seconds: float = Field(5.0, gt=0)
    running_lock_seconds: int = Field(600, ge=1)
    dedup_ttl_seconds: int = Field(7 * 24 * 3600, ge=60)
    # How long a commit waits for a restarting broker, and the pause before a failed batch retries.
    commit_retry_seconds: float = Field(60.0, ge=0)
    retry_backoff_seconds: float = Field(1.0, ge=0)

    # worker
    agent_failure_rate: float = Field(0.0, ge=0, le=1)
    agent_time_scale: float = Field(1.0, ge=0)
    task_max_retries: int = Field(3, ge=0)
    periodic_tick_seconds: float = Field(5.0, gt=0)

    # signal-generator
    generator: str = Field("mock", pattern="^(mock|golden_cross)$")
    signals_per_second: float = Field(1.0, gt=0)
    tickers: list[str] = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL"]
    generator_seed: int | None = None


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (a cached factory, not an import-time global)."""
    return Settings()
