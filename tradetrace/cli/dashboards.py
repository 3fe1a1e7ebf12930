"""`tradetrace dashboards`: render the Grafana dashboards from their Python modules."""

from __future__ import annotations

import typer

from tradetrace.cli.output import console, reported
from tradetrace.errors import CliError

app = typer.Typer(help="The Grafana dashboards, generated from tradetrace/dashboards/.",
                  no_args_is_help=True)


@app.command("build")
def dashboards_build() -> None:
    """Write grafana/dashboards/*.json from their modules (what compose provisions)."""
    from tradetrace.dashboards import DIRECTORY, write

    changed = write()
    console.print(f"{len(changed)} of the dashboards in {DIRECTORY} changed"
                  + "".join(f"\n  {path.name}" for path in changed))


@app.command("check")
def dashboards_check() -> None:
    """Exit 1 when a file in grafana/dashboards/ is not what its module renders."""
    from tradetrace.dashboards import stale

    with reported():
        if differ := stale():
            raise CliError(f"dashboards not generated from their modules: {', '.join(differ)}"
                           " (run `tradetrace dashboards build`)")
        console.print("every dashboard is what its module renders")
