"""What the commands drive: the services' settings as the CLI sees them, the platform's
services as the running profile runs them, live build progress on a terminal."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from services.shared.settings import Settings
from tradetrace.cli.output import console
from tradetrace.errors import CliError
from tradetrace.platform import Platform, default_env
from tradetrace.stack import report
from tradetrace.stack.scale import REPLICAS
from tradetrace.stack.stack import active_profile

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@functools.cache
def settings() -> Settings:
    """The services' settings as the CLI sees them: the same variables `services up` passes."""
    os.environ.update(default_env())
    return Settings()


def window_span(window: str) -> timedelta:
    """A `--window` of the explorer's pages (1h, 6h, 24h, 7d, 30d) as a time span; any other
    is the user's mistake."""
    from services.backend.explorer.objective import WINDOWS

    if window not in WINDOWS:
        raise CliError(f"--window must be one of {', '.join(WINDOWS)}, not {window!r}")
    return WINDOWS[window]


@contextmanager
def database() -> Iterator[Session]:
    """A session on the backend's database, its schema brought up to date first."""
    from services.backend.migrate import upgrade
    from services.shared.db import session_scope

    url = settings().database_url
    upgrade(url)
    with session_scope(url) as session:
        yield session


def platform() -> Platform:
    """The services as the running profile runs them (scale: two dispatchers, two workers)."""
    return Platform(replicas=REPLICAS if active_profile() == "scale" else 1)


def live_progress() -> None:
    """On a terminal, a build shows a spinner with its time, log and last line."""
    if console.is_terminal:
        report.use(report.RichReporter(console))
