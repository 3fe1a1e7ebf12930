"""`tradetrace blame PIPELINE`: where a pipeline's time from origin goes, for its median and
its p99 run, as the explorer's blame page shows it (services/backend/explorer/blame.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import database, window_span
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError


def blame(
    pipeline_id: Annotated[int, typer.Argument(help="The pipeline's id.")],
    window: Annotated[str, typer.Option(help="1h, 6h, 24h, 7d or 30d.")] = "24h",
    as_json: AsJson = False,
) -> None:
    """Each segment of the p50 and p99 runs' time from origin: Kafka, the dispatcher, the
    task queue, retries, the claim, each agent, the rest."""
    from services.backend.explorer.blame import build

    with reported():
        window_span(window)
        with database() as session:
            view = build(session, pipeline_id, window)
        if view is None:
            raise CliError(f"no pipeline {pipeline_id}")
    if as_json:
        print_json(view.as_json())
        return
    console.print(f"pipeline {view.pipeline_id} ({view.name}), last {window}: "
                  f"{view.runs} finished runs")
    for run in view.blamed:
        table = Table("segment", "ms", "share", box=None,
                      title=f"{run.percentile}: {run.end_ms:.1f} ms end to end, signal "
                            f"{run.signal_id or '-'}")
        for segment in run.segments:
            mark = " <- largest" if segment.name == run.largest.name else ""
            table.add_row(segment.name + mark, f"{segment.ms:.1f}",
                          f"{run.share(segment) * 100:.1f}%")
        console.print(table)
