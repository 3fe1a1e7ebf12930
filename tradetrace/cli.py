"""The `tradetrace` command line."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from tradetrace.stack import Stack, StackError
from tradetrace.stack.process import tail

app = typer.Typer(help="Trace-first observability for an event-driven trading platform.",
                  no_args_is_help=True)
stack_app = typer.Typer(help="The native stack: Kafka, collector, Jaeger, Prometheus, Redis, "
                             "PostgreSQL as local processes.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")

Components = Annotated[list[str] | None, typer.Argument(help="Only these components.")]


def _stack(names: list[str] | None) -> Stack:
    stack = Stack()
    return stack.select(names) if names else stack


def _fail(error: StackError) -> None:
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@stack_app.command()
def install(names: Components = None) -> None:
    """Install or build what is missing, without starting anything (cached after the first run)."""
    try:
        _stack(names).install()
    except StackError as error:
        _fail(error)


@stack_app.command()
def up(names: Components = None) -> None:
    """Install or build what is missing (cached), start every component, wait until healthy."""
    try:
        _stack(names).up()
    except StackError as error:
        _fail(error)
    status(names)


@stack_app.command()
def down(names: Components = None) -> None:
    """Stop exactly the processes that `up` started."""
    try:
        stopped = _stack(names).down()
    except StackError as error:
        _fail(error)
    typer.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack_app.command()
def status(names: Components = None) -> None:
    """Each component with its port, pid and health. Exits 1 if any is not healthy."""
    try:
        rows = _stack(names).status()
    except StackError as error:
        _fail(error)
    typer.echo(f"{'component':<12}{'port':>6}  {'pid':>8}  {'state':<10} log")
    for row in rows:
        colour = typer.colors.GREEN if row.healthy else typer.colors.RED
        pid = str(row.pid) if row.pid else "-"
        typer.echo(f"{row.name:<12}{row.port:>6}  {pid:>8}  "
                   + typer.style(f"{row.state:<10}", fg=colour) + f" {row.log}")
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@stack_app.command()
def logs(
    names: Components = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per component.")] = 40,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
) -> None:
    """The tail of each component's log file."""
    try:
        selected = _stack(names).components
    except StackError as error:
        _fail(error)
    for component in selected:
        typer.secho(f"==> {component.name}: {component.log_path}", bold=True)
        typer.echo(tail(component.log_path, lines))
    if follow:
        _follow([c.log_path for c in selected])


def _follow(paths) -> None:
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


if __name__ == "__main__":
    app()
