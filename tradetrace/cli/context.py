"""What the commands drive: the services' settings as the CLI sees them, the platform's
services as the running profile runs them, live build progress on a terminal."""

from __future__ import annotations

import functools
import os

from services.shared.settings import Settings
from tradetrace.cli.output import console
from tradetrace.platform import Platform, default_env
from tradetrace.stack import report
from tradetrace.stack.scale import REPLICAS
from tradetrace.stack.stack import active_profile


@functools.cache
def settings() -> Settings:
    """The services' settings as the CLI sees them: the same variables `services up` passes."""
    os.environ.update(default_env())
    return Settings()


def platform() -> Platform:
    """The services as the running profile runs them (scale: two dispatchers, two workers)."""
    return Platform(replicas=REPLICAS if active_profile() == "scale" else 1)


def live_progress() -> None:
    """On a terminal, a build shows a spinner with its time, log and last line."""
    if console.is_terminal:
        report.use(report.RichReporter(console))
