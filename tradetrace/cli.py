"""The `tradetrace` command line."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from tradetrace.stack import Stack, StackError
from tradetrace.stack.process import tail

app = typer.Typer(help="Trace-first observability for an event-driven trading platform.",
                  no_args_is_help=True)
stack_app = typer.Typer(help="The native stack: Kafka, collector, Jaeger, Prometheus, Redis, "
                             "PostgreSQL as local processes.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
services_app = typer.Typer(help="The platform's services (backend, worker, beat, dispatcher, "
                                "generator) as local processes on the native stack.",
                           no_args_is_help=True)
app.add_typer(services_app, name="services")
signal_app = typer.Typer(help="Trading signals.", no_args_is_help=True)
app.add_typer(signal_app, name="signal")

Components = Annotated[list[str] | None, typer.Argument(help="Only these components.")]


def _stack(names: list[str] | None) -> Stack:
    stack = Stack()
    return stack.select(names) if names else stack


@contextmanager
def _reported() -> Iterator[None]:
    """A StackError ends the command with its message (which names the component), no traceback."""
    try:
        yield
    except StackError as error:
        _fail(error)


def _fail(error: StackError) -> None:
    typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@stack_app.command()
def install(names: Components = None) -> None:
    """Install or build what is missing, without starting anything (cached after the first run)."""
    with _reported():
        _stack(names).install()


@stack_app.command()
def up(names: Components = None) -> None:
    """Install or build what is missing (cached), start every component, wait until healthy."""
    with _reported():
        _stack(names).up()
    status(names)


@stack_app.command()
def down(names: Components = None) -> None:
    """Stop exactly the processes that `up` started."""
    with _reported():
        stopped = _stack(names).down()
    typer.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack_app.command()
def status(names: Components = None) -> None:
    """Each component with its port, pid and health. Exits 1 if any is not healthy."""
    with _reported():
        rows = _stack(names).status()
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
    with _reported():
        selected = _stack(names).components
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


def _settings():
    """The services' settings as the CLI sees them: the same variables `services up` passes."""
    import os

    from services.shared.settings import Settings
    from tradetrace.platform import default_env

    os.environ.update(default_env())
    return Settings()


ServiceNames = Annotated[list[str] | None, typer.Argument(help="Only these services.")]


@services_app.command("up")
def services_up(names: ServiceNames = None) -> None:
    """Start the services that are not running and wait until each is ready."""
    from tradetrace.platform import Platform

    with _reported():
        started = Platform().up(names)
    typer.echo(f"started: {', '.join(started) if started else 'all were already running'}")


@services_app.command("down")
def services_down(names: ServiceNames = None) -> None:
    """Stop the services started by `services up`."""
    from tradetrace.platform import Platform

    with _reported():
        stopped = Platform().down(names)
    typer.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@services_app.command("status")
def services_status() -> None:
    """Each service with its pid, liveness (its heartbeat's age) and log. Exits 1 if any is
    stopped or not beating."""
    from tradetrace.platform import Platform

    rows = Platform().status()
    for row in rows:
        word = "alive" if row.alive else ("stuck" if row.pid else "stopped")
        state = typer.style(word, fg=typer.colors.GREEN if row.alive else typer.colors.RED)
        beat = "-" if row.heartbeat_age is None else f"{row.heartbeat_age:.1f}s ago"
        typer.echo(f"{row.name:<20} {str(row.pid or '-'):>8}  {state:<8} {beat:>12}  {row.log}")
    if not all(row.alive for row in rows):
        raise typer.Exit(1)


def _print_trace(signal_id: str, executions: int | None) -> None:
    from tradetrace.stack.components.jaeger import query_url
    from tradetrace.traces import Jaeger, render

    with _reported():
        typer.echo(render(Jaeger(query_url()).signal_trace(signal_id, executions)))


@app.command("trace")
def trace_command(signal_id: Annotated[str, typer.Argument(help="The signal's id.")]) -> None:
    """Find a signal's trace in Jaeger and print it as a tree, with queue waits between hops."""
    _print_trace(signal_id, None)


@signal_app.command("emit")
def signal_emit(
    ticker: Annotated[str, typer.Option("--ticker", "-t", help="e.g. AAPL")],
    signal_type: Annotated[str, typer.Option("--type", help="golden_cross or mock")] = "mock",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the executions.")] = 120,
    show_trace: Annotated[bool, typer.Option("--trace", help="Print the signal's trace.")] = False,
) -> None:
    """Publish one signal, wait until the executions it triggered finish, and print them."""
    from tracing import setup_tracing, shutdown_tracing
    from tradetrace import emit

    if signal_type not in ("golden_cross", "mock"):
        _fail(StackError(f"--type must be golden_cross or mock, not {signal_type!r}"))
    settings = _settings()
    provider = setup_tracing("tradetrace-cli")   # the CLI is this signal's source
    with _reported():
        signal = emit.make_signal(ticker.upper(), signal_type)
        emit.publish(settings, signal)
        shutdown_tracing(provider)
        typer.echo(f"signal {signal.signal_id}: {signal.signal_type} {signal.direction} "
                   f"{signal.ticker} strength {signal.strength}")
        outcome = emit.wait_for_dispatch(settings, signal.signal_id)
        typer.echo(f"matched pipelines {outcome['matched']}, enqueued {outcome['enqueued']}, "
                   f"skipped (already running) {outcome['skipped_running']}")
        executions = emit.wait_for_executions(settings, signal.signal_id,
                                              len(outcome["enqueued"]), timeout)
    for e in executions:
        typer.echo(f"  pipeline {e.pipeline_id:>4}  {e.status.value:<10} "
                   f"{(e.duration_seconds or 0):7.3f}s  ${(e.cost_usd or 0):.4f}  "
                   f"trace {e.trace_id or '-'}  {e.error or ''}")
    if show_trace:
        _print_trace(signal.signal_id, len(executions))


@app.command()
def demo(seconds: Annotated[float, typer.Option(help="How long to emit signals.")] = 20) -> None:
    """Seed demo pipelines, start everything, emit signals for a while, print what ran."""
    from services.shared.db import utcnow
    from tradetrace import demo as demo_run
    from tradetrace.platform import Platform

    platform = Platform()
    settings = _settings()
    with _reported():
        Stack().up()
        platform.up(["backend", "worker", "beat", "trigger-dispatcher"])
        ids = demo_run.seed_pipelines(platform.backend_url)
        typer.echo(f"demo pipelines: {ids}")
        since = utcnow()
        platform.up(["signal-generator"])
        typer.echo(f"emitting signals for {seconds:.0f}s ...")
        time.sleep(seconds)
        platform.down(["signal-generator"])
        demo_run.wait_until_drained(settings, since)
    typer.echo(demo_run.format_summary(demo_run.summarize(settings, since)))
    shown = demo_run.latest_traced_signal(settings, since)
    if shown:
        signal_id, executions = shown
        typer.echo(f"\nOne signal end to end (`tradetrace trace {signal_id}`):")
        _print_trace(signal_id, executions)


if __name__ == "__main__":
    app()
