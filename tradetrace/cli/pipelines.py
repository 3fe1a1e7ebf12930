"""`tradetrace pipelines objective`: a pipeline's latency objective, shown or set.

The rest of a pipeline is the API's (`POST/PATCH /pipelines`, which take the same two fields);
the objective is here too because it is what an operator tunes when an alert fires. The
values are checked by the API's own schema, so the two cannot disagree on what is valid.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from tradetrace.cli.context import database, settings
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError

app = typer.Typer(help="Pipelines: their latency objectives.", no_args_is_help=True)


@app.command("objective")
def pipelines_objective(
    pipeline_id: Annotated[int, typer.Argument(help="The pipeline's id.")],
    start_within_ms: Annotated[int | None, typer.Option(
        help="Its runs should start within this many ms of their origin...")] = None,
    target: Annotated[float | None, typer.Option(
        help="...for this share of them, e.g. 0.99.")] = None,
    default: Annotated[bool, typer.Option(
        "--default", help="Clear both: the platform's objective applies.")] = False,
    as_json: AsJson = False,
) -> None:
    """Show a pipeline's latency objective, or set it (a value left out keeps its own)."""
    from services.backend.schemas import PipelineUpdate
    from services.shared.db import Pipeline, may_name_a_pipeline
    from services.shared.objectives import objective_for

    with reported():
        changes: dict[str, Any]
        if default:
            if start_within_ms is not None or target is not None:
                raise CliError("--default clears the objective; give no value with it")
            changes = {"latency_objective_ms": None, "latency_objective_target": None}
        else:
            changes = {key: value for key, value in (("latency_objective_ms", start_within_ms),
                                                     ("latency_objective_target", target))
                       if value is not None}
        try:
            PipelineUpdate.model_validate(changes)
        except ValidationError as error:
            raise CliError("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                     for e in error.errors())) from None
        with database() as session:
            pipeline = session.get(Pipeline, pipeline_id) \
                if may_name_a_pipeline(pipeline_id) else None
            if pipeline is None:
                raise CliError(f"no pipeline {pipeline_id}")
            for field, value in changes.items():
                setattr(pipeline, field, value)
            own = (pipeline.latency_objective_ms, pipeline.latency_objective_target)
            name = pipeline.name
    effective = objective_for(*own, settings().default_objective())
    shown = {"pipeline_id": pipeline_id, "name": name,
             "start_within_ms": effective.start_within_ms, "target": effective.target,
             "own": {"start_within_ms": own[0], "target": own[1]}}
    if as_json:
        print_json(shown)
        return
    whose = "its own" if all(v is not None for v in own) else \
        "the platform's" if all(v is None for v in own) else "partly the platform's"
    console.print(f"pipeline {pipeline_id} ({name}): {effective.target:.4g} of its runs start "
                  f"within {effective.start_within_ms} ms of their origin ({whose})")
