"""The platform's database: SQLAlchemy 2 models for pipelines and executions, and sessions."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import sqlalchemy
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes even for timezone-aware columns (they hold UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def aware_if_any(moment: datetime | None) -> datetime | None:
    """`aware` for a column that may be empty."""
    return None if moment is None else aware(moment)


class Base(DeclarativeBase):
    pass


def _values(members: type[enum.Enum]) -> list[str]:
    """Store an enum's values (what the API speaks), not its member names."""
    return [str(m.value) for m in members]


class TriggerMode(str, enum.Enum):
    SIGNAL = "signal"
    PERIODIC = "periodic"
    MANUAL = "manual"


class ExecutionStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # Its worker died mid-run (the lease ran out): published again, or failed by rule.
    ABANDONED = "abandoned"


FINISHED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED)
# The largest id a pipeline can have (PostgreSQL's INTEGER); a larger one names no pipeline,
# and the database refuses to compare against it rather than find nothing.
MAX_PIPELINE_ID = 2**31 - 1


def may_name_a_pipeline(pipeline_id: int) -> bool:
    """Whether the id is one a pipeline can have (else do not ask the database)."""
    return 0 < pipeline_id <= MAX_PIPELINE_ID


class Pipeline(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tickers: Mapped[list[str]] = mapped_column(JSON)
    trigger_mode: Mapped[TriggerMode] = mapped_column(
        Enum(TriggerMode, native_enum=False, length=16, values_callable=_values))
    interval_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Its runs should start within this many ms of their origin, for this share of them
    # (services/worker/origin.py); None: the platform's default (Settings).
    latency_objective_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_objective_target: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 onupdate=utcnow)


class ApiRole(str, enum.Enum):
    READ = "read"        # pipelines and executions
    WRITE = "write"      # also create, change, delete and run pipelines


class ApiKey(Base):
    """A key to the backend's API. Only its SHA-256 is stored (the key is 256 random bits:
    a slow hash adds nothing); `prefix` names it in listings without revealing it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[ApiRole] = mapped_column(
        Enum(ApiRole, native_enum=False, length=16, values_callable=_values))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Execution(Base):
    __tablename__ = "executions"
    # One execution per pipeline and signal: a redelivered signal cannot run a pipeline twice.
    __table_args__ = (UniqueConstraint("pipeline_id", "signal_id", name="uq_execution_signal"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"),
                                             index=True)
    status: Mapped[ExecutionStatus] = mapped_column(
        Enum(ExecutionStatus, native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]), index=True)
    trigger_mode: Mapped[TriggerMode] = mapped_column(
        Enum(TriggerMode, native_enum=False, length=16, values_callable=_values))
    signal_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    ticker: Mapped[str | None] = mapped_column(String(16), nullable=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                index=True)
    # When the dispatcher received the signal's message (a signal's run; migration 0006).
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # What the finished run's own time went to (services/shared/latency.py, `RunTimings`).
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    trace_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # What it takes to run it again (the reaper republishes from these): the signal as
    # dispatched and the running lock's token.
    signal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    lock_token: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The Celery task (message) running it: a redelivery of the same message takes over.
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Owned by a worker (running) or by the queue (queued) until then; past it, the reaper acts.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True),
                                                              nullable=True, index=True)


@lru_cache
def engine_for(url: str, pre_ping: bool = True) -> Engine:
    """One engine (and connection pool) per database URL, ping choice and process.

    `pre_ping` tests each connection with a round trip as it leaves the pool, so that one the
    database dropped (a restart) is replaced instead of failing the caller's statement. A
    caller that retries a failed statement anyway (the worker's tasks) can save that round
    trip: SQLAlchemy invalidates the pool's older connections on the first disconnect it sees.
    """
    engine = sqlalchemy.create_engine(url, pool_pre_ping=pre_ping,
                                      connect_args=_timeouts(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    _observe_pool(engine)
    return engine


def _timeouts(url: str) -> dict[str, Any]:
    """A hung PostgreSQL fails a call instead of hanging the service (the process's settings)."""
    if not url.startswith("postgresql"):
        return {}
    from services.shared.settings import get_settings

    settings = get_settings()
    return {"connect_timeout": settings.database_connect_timeout_seconds,
            "options": f"-c statement_timeout={settings.database_statement_timeout_seconds * 1000}"}


def _observe_pool(engine: Engine) -> None:
    """The connection pool's size and connections in use, read when metrics are exported."""
    from tracing.metrics import observe_gauge

    pool = engine.pool
    if not hasattr(pool, "checkedout"):
        return
    observe_gauge("db.pool.size", lambda: [(pool.size(), {})], "{connection}",  # type: ignore[attr-defined]
                  "Connections the pool keeps")
    observe_gauge("db.active_connections", lambda: [(pool.checkedout(), {})], "{connection}",
                  "Connections checked out of the pool")


def _sqlite_foreign_keys(dbapi_connection: Any, _record: object) -> None:
    """SQLite ignores ON DELETE CASCADE unless told otherwise, per connection."""
    dbapi_connection.execute("PRAGMA foreign_keys=ON")


@lru_cache
def _session_factory(url: str, pre_ping: bool) -> sessionmaker[Session]:
    return sessionmaker(engine_for(url, pre_ping), expire_on_commit=False)


@contextmanager
def session_scope(url: str, pre_ping: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on error (`pre_ping`: engine_for)."""
    session = _session_factory(url, pre_ping)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
