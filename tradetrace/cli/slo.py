"""`tradetrace slo`: the pipelines' latency objectives over a window, as the explorer's
objective page shows them (services/backend/explorer/objective.py, from the executions
table): every pipeline in one table, or one pipeline with its late runs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer
from rich.table import Table

from tradetrace.cli.context import database, settings, window_span
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError


def slo(
    pipeline_id: Annotated[int | None, typer.Argument(
        help="One pipeline (with its late runs); all of them when left out.")] = None,
    window: Annotated[str, typer.Option(help="1h, 6h, 24h, 7d or 30d.")] = "24h",
    as_json: AsJson = False,
) -> None:
    """Latency objectives: runs, misses, error budget left and burn rate per pipeline."""
    from sqlalchemy import select

    from services.backend.explorer.objective import build
    from services.shared.db import Pipeline

    with reported():
        window_span(window)
        default = settings().default_objective()
        with database() as session:
            ids = [pipeline_id] if pipeline_id is not None else list(
                session.scalars(select(Pipeline.id).order_by(Pipeline.id)))
            views = [view for view in (build(session, i, default, window) for i in ids)
                     if view is not None]
        if pipeline_id is not None and not views:
            raise CliError(f"no pipeline {pipeline_id}")
    if as_json:
        print_json([_as_dict(view, late=pipeline_id is not None) for view in views])
        return
    table = Table("id", "pipeline", "objective", "runs", "missed", "budget left", "burn rate",
                  "p99 start", box=None, title=f"latency objectives, last {window}")
    for view in views:
        table.add_row(str(view.pipeline_id), view.name,
                      f"{view.objective.target:.4g} within {view.objective.start_within_ms} ms"
                      + ("" if view.own else " (default)"),
                      str(view.runs), str(view.misses), _percent(view.budget_left),
                      "-" if view.burn_rate is None else f"{view.burn_rate:.2f}",
                      "-" if view.p99_start_ms is None else f"{view.p99_start_ms:.1f} ms")
    console.print(table)
    if pipeline_id is not None and views and views[0].late:
        _print_late(views[0])


def _as_dict(view: Any, late: bool) -> dict[str, Any]:
    shown = {"pipeline_id": view.pipeline_id, "name": view.name, "window": view.window,
             "start_within_ms": view.objective.start_within_ms, "target": view.objective.target,
             "own": view.own, "runs": view.runs, "misses": view.misses,
             "allowed": view.allowed, "budget_left": view.budget_left,
             "burn_rate": view.burn_rate, "p50_start_ms": view.p50_start_ms,
             "p99_start_ms": view.p99_start_ms, "mean_hops_ms": view.mean_hops_ms,
             "skewed": view.skewed}
    if late:
        shown["late"] = [asdict(run) for run in view.late]
    return shown


def _print_late(view: Any) -> None:
    from services.backend.explorer.objective import HOPS

    table = Table("signal / run", "ticker", "status", "start from origin", *HOPS, box=None,
                  title="late runs, slowest first (ms)")
    for run in view.late:
        table.add_row(run.signal_id or run.execution_id, run.ticker or "", run.status,
                      f"{run.start_ms:.1f} ms", *(f"{ms:.1f}" for ms in run.hops_ms.values()))
    console.print(table)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"
