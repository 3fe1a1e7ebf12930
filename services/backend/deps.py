"""FastAPI dependencies: settings, a database session per request, Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import redis
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from services.shared.db import session_scope
from services.shared.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(settings: SettingsDep) -> Iterator[Session]:
    with session_scope(settings.database_url) as session:
        yield session


def get_redis(request: Request) -> redis.Redis:
    return request.app.state.redis


# scope="function": commit before the response is sent, so a client that reads right after
# a write sees it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
RedisDep = Annotated[redis.Redis, Depends(get_redis)]
