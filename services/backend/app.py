"""The FastAPI application factory."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse
from opentelemetry.metrics import NoOpMeterProvider

from services.backend.active_requests import track_active_request
from services.backend.api import dlq, executions, health, pipelines
from services.backend.body_limit import BodyLimit
from services.backend.explorer import pages as explorer
from services.shared.clients import INFRASTRUCTURE_ERRORS, redis_client
from services.shared.settings import Settings, get_settings
from tracing import tracing_disabled
from tracing.settings import package_version


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.redis = redis_client(settings)
        yield
        app.state.redis.close()

    app = FastAPI(title="tradetrace backend", version=package_version(),
                  description="Trading pipelines and their executions.", lifespan=lifespan,
                  dependencies=[Depends(track_active_request)])
    app.state.settings = settings
    # A request for another host name (DNS rebinding) gets a 400; a browser page of another
    # origin gets no CORS grant unless the operator lists it.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.include_router(pipelines.router)
    app.include_router(executions.router)
    app.include_router(dlq.router)
    app.include_router(health.router)
    explorer.mount(app)
    for error_class in INFRASTRUCTURE_ERRORS:
        app.add_exception_handler(error_class, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    if not tracing_disabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # No span per ASGI message (http receive/send): they only repeat the request span.
        # Its metrics are off: durations come from spans, requests in flight from
        # track_active_request (which knows the route).
        FastAPIInstrumentor.instrument_app(app, excluded_urls="health,ready",
                                           exclude_spans=["receive", "send"],
                                           meter_provider=NoOpMeterProvider())
    return app


async def _unavailable(_request: Request, error: Exception) -> JSONResponse:
    """The database or Redis is away: say so (503, retry later), not a bare 500."""
    return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content={
        "detail": f"a service the platform depends on is unavailable "
                  f"({error.__class__.__name__}); retry shortly"})


async def _invalid(_request: Request, error: Exception) -> JSONResponse:
    """422 saying what was wrong. FastAPI's own handler echoes each offending input and fails
    (a 500) on a body of bytes that are not UTF-8: such an input is left out here."""
    assert isinstance(error, RequestValidationError)
    errors = [{k: v for k, v in problem.items() if not (k == "input" and isinstance(v, bytes))}
              for problem in error.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})
