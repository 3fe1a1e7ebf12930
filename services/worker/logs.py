"""The worker's and beat's log lines: JSON with trace and signal ids (tracing/logs.py).

Celery configures the root logger itself unless its `setup_logging` signal has a receiver;
this is that receiver. Worker and beat run the same app module: the program's name on the
command line tells which one is logging.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery.signals import setup_logging

from tracing.logs import configure_logging
from tracing.service_names import BEAT, WORKER


def program() -> str:
    """The service this process is: Celery's `beat` subcommand, or its worker."""
    return BEAT if "beat" in sys.argv[1:] else WORKER


# Celery's own line for every task received and every task that succeeded: at hundreds of
# executions a second they cost more than they tell (each was a JSON line on stderr and, in a
# child, an OTLP log record), and our line per execution (services/worker/execution.py) says
# the outcome with the trace's and the signal's ids. Their warnings and errors still show.
PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


@setup_logging.connect(weak=False)
def json_logs(loglevel: Any = None, **_: Any) -> None:
    configure_logging(program(), level=loglevel if isinstance(loglevel, int) else logging.INFO)
    for name in PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
