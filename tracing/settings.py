"""What tracing reads of the `TRADETRACE_*` variables, the first layer of the settings.

The services' `Settings` (services/shared/settings.py) extends this class, so a service has
one settings object holding both; tracing, which sits below the services, reads only this
part. The standard `OTEL_*` variables are read where OpenTelemetry reads them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

Profile = Literal["local", "aws", "azure", "gcp"]


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADETRACE_", extra="ignore")

    # `aws`, `azure` or `gcp` switches the defaults that differ in that cloud (tracing/profile.py).
    profile: Profile = "local"
    # deployment.environment.name on every span and metric (local, compose, staging, ...).
    environment: str = "local"
    # Baggage in the headers of a consumed Kafka message is dropped unless trusted: any
    # producer can write to a topic (tracing/kafka.py, extract_context).
    trust_incoming_baggage: bool = False
    # Log lines: JSON with trace_id, span_id, service.name, signal.id (tracing/logs.py), or
    # the same facts as text for a terminal.
    log_format: Literal["json", "text"] = "json"
    # How exported spans and log records are serialized: our wire encoder (tracing/otlp/, the
    # same bytes at a fraction of the CPU) or the stock one, should ours ever be in doubt.
    otlp_encoder: Literal["wire", "stock"] = "wire"


def package_version() -> str:
    """The installed package's version, the one source of `service.version` and `--version`."""
    try:
        return version("tradetrace")
    except PackageNotFoundError:
        return "0.0.0"
