"""`tradetrace signal diff A [B]`: signal A against signal B, or against the typical run of
each pipeline it ran, step by step, as the explorer's diff page shows it
(services/backend/explorer/diff.py)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import database, window_span
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError


def signal_diff(
    signal_id: Annotated[str, typer.Argument(help="The signal to explain (side a).")],
    other: Annotated[str | None, typer.Argument(
        help="The signal to compare it with (side b); omitted: its pipelines' typical "
             "runs.")] = None,
    window: Annotated[str, typer.Option(help="The typical run's window: 1h, 6h, 24h, 7d or "
                                             "30d.")] = "24h",
    as_json: AsJson = False,
) -> None:
    """Each segment (waits included) and each span path, on both sides, and how much longer
    it took on side a; the step that differs most is marked."""
    from services.backend.explorer.diff import TYPICAL, build
    from tradetrace.stack.components.jaeger import query_url

    with reported():
        window_span(window)
        with database() as session:
            view = build(session, signal_id, other or TYPICAL, window, query_url())
        if view is None:
            raise CliError(f"no finished run of signal {signal_id}"
                           + (f" or of signal {other}" if other else ""))
    if as_json:
        print_json(view.as_json())
        return
    against = f"signal {view.b}" if other else f"the typical run (last {window})"
    console.print(f"signal {view.a} (a) against {against} (b)")
    for pipeline in view.pipelines:
        largest = pipeline.largest
        table = Table("segment", "a ms", "b ms", "a longer by", box=None,
                      title=f"pipeline {pipeline.pipeline_id} ({pipeline.name})")
        for step in pipeline.steps:
            mark = " <- differs most" if largest and step.name == largest.name else ""
            table.add_row(step.name + mark, _ms(step.a_ms), _ms(step.b_ms),
                          f"{step.difference_ms:+.1f}")
        console.print(table)
    if not view.spans:
        console.print(f"no spans compared: {view.spans_problem}")
        return
    spans = Table("span path", "a ms", "b ms", "a longer by", "spans a / b", "", box=None,
                  title="spans by path")
    for step in view.spans:
        note = (f"only in {step.only}" if step.only else
                ("failed in a" if step.a_failed else "failed in b") if step.status_changed
                else "")
        spans.add_row(step.name, _ms(step.a_ms), _ms(step.b_ms), f"{step.difference_ms:+.1f}",
                      f"{step.a_count or 0} / {step.b_count or 0}", note)
    console.print(spans)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
