"""`tradetrace funnel`: where the signals of a window stopped, and why, as the explorer's
funnel page counts them (services/backend/explorer/funnel.py, from Kafka, the DLQ, the
dispatcher's records and the executions table)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import database, settings, window_span
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import PlatformError


def funnel(
    window: Annotated[str, typer.Option(help="1h, 6h, 24h, 7d or 30d.")] = "1h",
    ticker: Annotated[str | None, typer.Option(help="Only this ticker's signals.")] = None,
    pipeline: Annotated[int | None, typer.Option(help="Only this pipeline's runs.")] = None,
    as_json: AsJson = False,
) -> None:
    """Messages, signals and runs at each step, and how many stopped after it, and why."""
    from confluent_kafka import KafkaException

    from services.backend.explorer.funnel import build
    from services.shared.clients import redis_client
    from services.shared.db import utcnow

    with reported():
        span = window_span(window)
        current = settings()
        try:
            with database() as session:
                view = build(current, redis_client(current), session,
                             utcnow() - span, ticker, pipeline)
        except (KafkaException, TimeoutError, ValueError) as error:
            raise PlatformError(f"the funnel cannot be counted: {error}") from error
    if as_json:
        print_json(view.as_json())
        return
    table = Table("step", "count", "unit", box=None, title=f"funnel, last {window}")
    for step in view.steps:
        if step.stop and not step.count:
            continue
        table.add_row(("    stopped: " if step.stop else "") + step.label, str(step.count),
                      step.unit)
    console.print(table)
