"""`tradetrace services`: the platform's services (backend, worker, beat, dispatcher,
generator) as local processes on the native stack."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import platform
from tradetrace.cli.output import AsJson, console, print_json, reported, state

app = typer.Typer(help="The platform's services (backend, worker, beat, dispatcher, "
                       "generator) as local processes on the native stack.",
                  no_args_is_help=True)

ServiceNames = Annotated[list[str] | None, typer.Argument(help="Only these services.")]


@app.command("up")
def services_up(names: ServiceNames = None) -> None:
    """Start the services that are not running and wait until each is ready."""
    with reported():
        started = platform().up(names)
    console.print(f"started: {', '.join(started) if started else 'all were already running'}")


@app.command("down")
def services_down(names: ServiceNames = None) -> None:
    """Stop the services started by `services up`."""
    with reported():
        stopped = platform().down(names)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command("status")
def services_status(as_json: AsJson = False) -> None:
    """Each service with its pid, liveness (its heartbeat's age) and log. Exits 1 if any is
    stopped or not beating."""
    rows = platform().status()
    words = {r.name: "alive" if r.alive else ("stuck" if r.pid else "stopped") for r in rows}
    if as_json:
        print_json([{"service": r.name, "pid": r.pid, "state": words[r.name],
                     "heartbeat_age_seconds": r.heartbeat_age, "log": str(r.log)}
                    for r in rows])
    else:
        table = Table("service", "pid", "state", "heartbeat", box=None)
        table.add_column("log", overflow="fold")
        for r in rows:
            beat = "-" if r.heartbeat_age is None else f"{r.heartbeat_age:.1f}s ago"
            table.add_row(r.name, str(r.pid or "-"), state(words[r.name], r.alive), beat,
                          str(r.log))
        console.print(table)
    if not all(row.alive for row in rows):
        raise typer.Exit(1)
