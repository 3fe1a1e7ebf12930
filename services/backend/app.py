"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager

import redis
from fastapi import Depends, FastAPI
from opentelemetry.metrics import NoOpMeterProvider

from services.backend.active_requests import track_active_request
from services.backend.api import executions, health, pipelines
from services.shared.settings import Settings, get_settings
from tracing import tracing_disabled


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.redis = redis.Redis.from_url(settings.redis_url)
        yield
        app.state.redis.close()

    app = FastAPI(title="tradetrace backend", version="0.1.0",
                  description="Trading pipelines and their executions.", lifespan=lifespan,
                  dependencies=[Depends(track_active_request)])
    app.state.settings = settings
    app.include_router(pipelines.router)
    app.include_router(executions.router)
    app.include_router(health.router)
    if not tracing_disabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # No span per ASGI message (http receive/send): they only repeat the request span.
        # Its metrics are off: durations come from spans, requests in flight from
        # track_active_request (which knows the route).
        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready",
                                           exclude_spans=["receive", "send"],
                                           meter_provider=NoOpMeterProvider())
    return app
