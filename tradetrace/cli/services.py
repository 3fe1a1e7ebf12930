"""`tradetrace services`: the platform's services (backend, worker, beat, dispatcher,
generator) as local processes on the native stack."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import platform
from tradetrace.cli.output import AsJson, console, errors, print_json, reported, state
from tradetrace.supervisor import SupervisorState
from tradetrace.systemd_units import DEFAULT_ENV_FILE, write_units

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
    """Each service with its pid, condition (alive, stuck, restarting, crash-looped, stopped),
    restarts and last exit under its supervisor, heartbeat age and log. Exits 1 if any is not
    alive, naming them."""
    rows = platform().status()
    if as_json:
        print_json([{"service": r.name, "pid": r.pid, "state": r.condition,
                     "restarts": r.supervisor.restarts if r.supervisor else 0,
                     "last_exit": r.supervisor.last_exit if r.supervisor else None,
                     "last_exit_at": r.supervisor.last_exit_at if r.supervisor else None,
                     "heartbeat_age_seconds": r.heartbeat_age, "log": str(r.log)}
                    for r in rows])
    else:
        table = Table("service", "pid", "state", "restarts", "last exit", "heartbeat", box=None)
        table.add_column("log", overflow="fold")
        for r in rows:
            beat = "-" if r.heartbeat_age is None else f"{r.heartbeat_age:.1f}s ago"
            supervisor = r.supervisor or SupervisorState()
            table.add_row(r.name, str(r.pid or "-"), state(r.condition, r.alive),
                          str(supervisor.restarts), supervisor.last_exit or "-", beat,
                          str(r.log))
        console.print(table)
    down = [f"{r.name} ({r.condition})" for r in rows if not r.alive]
    if down:
        errors.print(f"not alive: {', '.join(down)}", style="red")
        raise typer.Exit(1)


@app.command("systemd")
def services_systemd(
        directory: Annotated[Path, typer.Argument(help="Where to write the unit files.")],
        env_file: Annotated[Path, typer.Option(help="The services' settings (TRADETRACE_*, "
                                                    "OTEL_*), one VAR=value a line.")]
        = DEFAULT_ENV_FILE,
        user: Annotated[str | None, typer.Option(help="Run the services as this user.")]
        = None) -> None:
    """Write systemd units for a production host: one per service (restarted on failure,
    left down on a crash loop) and a heartbeat watchdog timer for each that beats. Install
    with `cp DIR/* /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now
    tradetrace-*.service tradetrace-*-watchdog.timer`."""
    with reported():
        written = write_units(directory, env_file, user)
    for path in written:
        console.print(str(path))
