"""Liveness (the process answers) and readiness (its database and Redis answer)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import text

from services.backend.deps import RedisDep, SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
def ready(session: SessionDep, redis_client: RedisDep, response: Response) -> dict[str, str]:
    checks = {}
    try:
        session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as error:  # any driver error means not ready
        checks["database"] = f"error: {error.__class__.__name__}"
    try:
        redis_client.ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"error: {error.__class__.__name__}"
    if any(v != "ok" for v in checks.values()):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return checks
