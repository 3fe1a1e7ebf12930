"""`tradetrace stack`: the native stack (Kafka, collector, Jaeger, Prometheus, Redis,
PostgreSQL) as local processes."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import live_progress
from tradetrace.cli.output import AsJson, console, print_json, reported, state
from tradetrace.stack import Stack
from tradetrace.stack.process import tail
from tradetrace.stack.stack import PROFILES, components, record_profile

app = typer.Typer(help="The native stack: Kafka, collector, Jaeger, Prometheus, Redis, "
                       "PostgreSQL as local processes.", no_args_is_help=True)

Components = Annotated[list[str] | None, typer.Argument(help="Only these components.")]
Profile = Annotated[str, typer.Option(
    "--profile", help=f"The stack's shape: {' or '.join(PROFILES)} (see the README, Scaling).")]


def _stack(names: list[str] | None, profile: str | None = None) -> Stack:
    """The running profile's stack (or `profile`'s), or the named components of it."""
    stack = Stack(components(profile=profile))
    return stack.select(names) if names else stack


@app.command()
def install(names: Components = None, profile: Profile = "single") -> None:
    """Install or build what is missing, without starting anything (cached after the first run)."""
    live_progress()
    with reported():
        _stack(names, profile).install()


@app.command()
def up(names: Components = None, profile: Profile = "single") -> None:
    """Install or build what is missing (cached), start every component, wait until healthy.
    `--profile scale`: an agent collector, two gateways behind Kafka, Jaeger on Cassandra
    (and `services up` then runs two dispatchers and two workers)."""
    live_progress()
    with reported():
        record_profile(profile)
        _stack(names, profile).up()
    status(names)


@app.command()
def down(names: Components = None) -> None:
    """Stop exactly the processes that `up` started."""
    with reported():
        stopped = _stack(names).down()
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command()
def status(names: Components = None, as_json: AsJson = False) -> None:
    """Each component with its port, pid and health. Exits 1 if any is not healthy."""
    with reported():
        rows = _stack(names).status()
    if as_json:
        print_json([{"component": r.name, "port": r.port, "pid": r.pid, "state": r.state,
                     "healthy": r.healthy, "log": str(r.log)} for r in rows])
    else:
        table = Table("component", "port", "pid", "state", box=None)
        table.add_column("log", overflow="fold")
        for r in rows:
            table.add_row(r.name, str(r.port), str(r.pid or "-"), state(r.state, r.healthy),
                          str(r.log))
        console.print(table)
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@app.command()
def logs(
    names: Components = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per component.")] = 40,
    follow: Annotated[bool, typer.Option("--follow", "-f",
                                         help="Keep printing new lines.")] = False,
) -> None:
    """The tail of each component's log file."""
    with reported():
        selected = _stack(names).components
    for component in selected:
        console.print(f"[bold]==> {component.name}: {component.log_path}[/bold]")
        console.print(tail(component.log_path, lines), markup=False)
    if follow:
        _follow([c.log_path for c in selected])


def _follow(paths: list[Path]) -> None:
    """Print lines appended to the logs until interrupted, like `tail -f` over several files."""
    offsets = {p: p.stat().st_size if p.exists() else 0 for p in paths}
    try:
        while True:
            for path, offset in offsets.items():
                if path.exists() and path.stat().st_size > offset:
                    with open(path, "rb") as handle:
                        handle.seek(offset)
                        chunk = handle.read()
                    offsets[path] = offset + len(chunk)
                    sys.stdout.write(chunk.decode("utf-8", errors="replace"))
                    sys.stdout.flush()
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
