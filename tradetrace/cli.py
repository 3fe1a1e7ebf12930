"""The `tradetrace` command line.

Tables and live build progress through `rich` on a terminal; `--json` on the status, emit and
trace commands for scripts. A user's mistake (`CliError`) or a stack failure (`StackError`)
ends the command with one red line, never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.shared.settings import Settings
from trace_reader.jaeger import TraceUnavailable
from tracing.settings import package_version
from tradetrace.errors import CliError, PlatformError
from tradetrace.stack import Stack, StackError, report
from tradetrace.stack.process import tail
from tradetrace.stack.stack import PROFILES, active_profile, components, record_profile

if TYPE_CHECKING:
    from tradetrace.platform import Platform

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
keys_app = typer.Typer(help="API keys of the backend (read, or write: read and change).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")

# Long trace lines stay whole; in a pipe or a CI log (no terminal width) tables get room.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False)

Components = Annotated[list[str] | None, typer.Argument(help="Only these components.")]
ServiceNames = Annotated[list[str] | None, typer.Argument(help="Only these services.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
Profile = Annotated[str, typer.Option(
    "--profile", help=f"The stack's shape: {' or '.join(PROFILES)} (see the README, Scaling).")]


def _show_version(value: bool) -> None:
    if value:
        console.print(f"tradetrace {package_version()}")
        raise typer.Exit()


@app.callback()
def main(
    _version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                           help="Print the version and exit.")] = False,
) -> None:
    """Trace-first observability for an event-driven trading platform."""


@contextmanager
def _reported() -> Iterator[None]:
    """An error of ours ends the command with its message, which says what to do: exit 2 for
    the user's mistake, 1 for the stack's or the platform's failure."""
    try:
        yield
    except CliError as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(2) from None
    except (StackError, PlatformError, TraceUnavailable) as error:
        errors.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        raise typer.Exit(1) from None


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def _state(text: str, good: bool) -> str:
    return f"[green]{text}[/green]" if good else f"[red]{text}[/red]"


def _stack(names: list[str] | None, profile: str | None = None) -> Stack:
    """The running profile's stack (or `profile`'s), or the named components of it."""
    stack = Stack(components(profile=profile))
    return stack.select(names) if names else stack


def _platform() -> Platform:
    """The services as the running profile runs them (scale: two dispatchers, two workers)."""
    from tradetrace.platform import Platform
    from tradetrace.stack.scale import REPLICAS

    return Platform(replicas=REPLICAS if active_profile() == "scale" else 1)


def _live_progress() -> None:
    """On a terminal, a build shows a spinner with its time, log and last line."""
    if console.is_terminal:
        report.use(report.RichReporter(console))


@stack_app.command()
def install(names: Components = None, profile: Profile = "single") -> None:
    """Install or build what is missing, without starting anything (cached after the first run)."""
    _live_progress()
    with _reported():
        _stack(names, profile).install()


@stack_app.command()
def up(names: Components = None, profile: Profile = "single") -> None:
    """Install or build what is missing (cached), start every component, wait until healthy.
    `--profile scale`: an agent collector, two gateways behind Kafka, Jaeger on Cassandra
    (and `services up` then runs two dispatchers and two workers)."""
    _live_progress()
    with _reported():
        record_profile(profile)
        _stack(names, profile).up()
    status(names)


@stack_app.command()
def down(names: Components = None) -> None:
    """Stop exactly the processes that `up` started."""
    with _reported():
        stopped = _stack(names).down()
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack_app.command()
def status(names: Components = None, as_json: AsJson = False) -> None:
    """Each component with its port, pid and health. Exits 1 if any is not healthy."""
    with _reported():
        rows = _stack(names).status()
    if as_json:
        _print_json([{"component": r.name, "port": r.port, "pid": r.pid, "state": r.state,
                      "healthy": r.healthy, "log": str(r.log)} for r in rows])
    else:
        table = Table("component", "port", "pid", "state", box=None)
        table.add_column("log", overflow="fold")
        for r in rows:
            table.add_row(r.name, str(r.port), str(r.pid or "-"), _state(r.state, r.healthy),
                          str(r.log))
        console.print(table)
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@stack_app.command()
def logs(
    names: Components = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="Lines per component.")] = 40,
    follow: Annotated[bool, typer.Option("--follow", "-f",
                                         help="Keep printing new lines.")] = False,
) -> None:
    """The tail of each component's log file."""
    with _reported():
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


@functools.cache
def _settings() -> Settings:
    """The services' settings as the CLI sees them: the same variables `services up` passes."""
    import os

    from tradetrace.platform import default_env

    os.environ.update(default_env())
    return Settings()


@services_app.command("up")
def services_up(names: ServiceNames = None) -> None:
    """Start the services that are not running and wait until each is ready."""
    with _reported():
        started = _platform().up(names)
    console.print(f"started: {', '.join(started) if started else 'all were already running'}")


@services_app.command("down")
def services_down(names: ServiceNames = None) -> None:
    """Stop the services started by `services up`."""
    with _reported():
        stopped = _platform().down(names)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@services_app.command("status")
def services_status(as_json: AsJson = False) -> None:
    """Each service with its pid, liveness (its heartbeat's age) and log. Exits 1 if any is
    stopped or not beating."""
    rows = _platform().status()
    words = {r.name: "alive" if r.alive else ("stuck" if r.pid else "stopped") for r in rows}
    if as_json:
        _print_json([{"service": r.name, "pid": r.pid, "state": words[r.name],
                      "heartbeat_age_seconds": r.heartbeat_age, "log": str(r.log)}
                     for r in rows])
    else:
        table = Table("service", "pid", "state", "heartbeat", box=None)
        table.add_column("log", overflow="fold")
        for r in rows:
            beat = "-" if r.heartbeat_age is None else f"{r.heartbeat_age:.1f}s ago"
            table.add_row(r.name, str(r.pid or "-"), _state(words[r.name], r.alive), beat,
                          str(r.log))
        console.print(table)
    if not all(row.alive for row in rows):
        raise typer.Exit(1)


def _find_trace(signal_id: str, executions: int | None):
    """The signal's trace from Jaeger, with the services' log lines written inside it."""
    from trace_reader.jaeger import Jaeger
    from trace_reader.logs import trace_logs
    from tradetrace.stack.components.jaeger import query_url

    trace = Jaeger(query_url()).signal_trace(signal_id, executions)
    trace.logs = trace_logs(trace.trace_id, _platform().log_paths())
    return trace


def _print_trace(trace) -> None:
    from tradetrace.trace_tree import render

    console.print(render(trace), markup=False)
    console.print(f"open it: {_settings().trace_url(trace.trace_id)}")


@app.command("trace")
def trace_command(signal_id: Annotated[str, typer.Argument(help="The signal's id.")],
                  as_json: AsJson = False) -> None:
    """Find a signal's trace in Jaeger and print it as a tree, with queue waits between hops."""
    with _reported():
        trace = _find_trace(signal_id, None)
    if as_json:
        _print_json({"trace_id": trace.trace_id, "link": _settings().trace_url(trace.trace_id),
                     "spans": [s.as_dict() for s in trace.spans],
                     "logs": [line.as_dict() for line in trace.logs]})
    else:
        _print_trace(trace)


def _new_signal(ticker: str, signal_type: str):
    from tradetrace import emit

    if signal_type not in ("golden_cross", "mock"):
        raise CliError(f"--type must be golden_cross or mock, not {signal_type!r}")
    try:
        return emit.make_signal(ticker.upper(), signal_type)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        raise CliError(f"not a valid signal ({problems})") from None


@signal_app.command("emit")
def signal_emit(
    ticker: Annotated[str, typer.Option("--ticker", "-t", help="e.g. AAPL")],
    signal_type: Annotated[str, typer.Option("--type", help="golden_cross or mock")] = "mock",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the executions.")] = 120,
    show_trace: Annotated[bool, typer.Option("--trace", help="Print the signal's trace.")] = False,
    as_json: AsJson = False,
) -> None:
    """Publish one signal, wait until the executions it triggered finish, and print them."""
    from services.backend.executions_view import execution_out
    from tracing import setup_tracing, shutdown_tracing
    from tradetrace import emit

    with _reported():
        signal = _new_signal(ticker, signal_type)
        settings = _settings()
        provider = setup_tracing("tradetrace-cli")   # the CLI is this signal's source
        emit.publish(settings, signal)
        shutdown_tracing(provider)
        outcome = emit.wait_for_dispatch(settings, signal.signal_id)
        executions = emit.wait_for_executions(settings, signal.signal_id,
                                              len(outcome["enqueued"]), timeout)
        trace = _find_trace(signal.signal_id, len(executions)) if show_trace else None
    shown = [execution_out(e, settings) for e in executions]      # as the API shows them
    if as_json:
        _print_json({"signal": signal.model_dump(mode="json"), "dispatch": outcome,
                     "executions": [out.model_dump(mode="json") for out in shown],
                     "trace": trace and {"trace_id": trace.trace_id,
                                         "link": settings.trace_url(trace.trace_id)}})
        return
    console.print(f"signal {signal.signal_id}: {signal.signal_type} {signal.direction} "
                  f"{signal.ticker} strength {signal.strength}")
    console.print(f"matched pipelines {outcome['matched']}, enqueued {outcome['enqueued']}, "
                  f"skipped (already running) {outcome['skipped_running']}")
    table = Table("pipeline", "status", "duration", "cost", "trace", "error", box=None)
    for out in shown:
        status = out.status.value
        table.add_row(str(out.pipeline_id), _state(status, status == "succeeded"),
                      f"{(out.duration_seconds or 0):.3f}s", f"${(out.cost_usd or 0):.4f}",
                      out.trace_url or "-", out.error or "")
    console.print(table)
    if trace is not None:
        _print_trace(trace)


def _key_session():
    from services.backend.migrate import upgrade
    from services.shared.db import session_scope

    settings = _settings()
    upgrade(settings.database_url)
    return session_scope(settings.database_url)


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="read, or write (read and change).")] = "read",
    name: Annotated[str, typer.Option(help="Who or what uses it.")] = "cli",
) -> None:
    """Create a key; it is printed once (only its hash is kept)."""
    from services.shared.api_keys import create_key
    from services.shared.db import ApiRole

    with _reported():
        try:
            chosen = ApiRole(role)
        except ValueError:
            raise CliError(f"--role must be read or write, not {role!r}") from None
        with _key_session() as session:
            row, key = create_key(session, chosen, name)
            key_id = row.id
        console.print(f"key {key_id} ({chosen.value}, {name}); shown once, keep it:")
        print(key)
        console.print("use it: [bold]export TRADETRACE_API_KEY=<key>[/], or send "
                      "`Authorization: Bearer <key>`")


@keys_app.command("list")
def keys_list(as_json: AsJson = False) -> None:
    """Every key: id, name, role, prefix, created, revoked (never the key)."""
    from services.shared.api_keys import list_keys

    with _reported(), _key_session() as session:
        rows: list[dict[str, Any]] = [
            {"id": k.id, "name": k.name, "role": k.role.value, "prefix": k.prefix,
             "created_at": k.created_at.isoformat(),
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
            for k in list_keys(session)]
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "name", "role", "prefix", "created", "revoked", box=None)
    for row in rows:
        table.add_row(str(row["id"]), row["name"], row["role"], f"{row['prefix']}...",
                      row["created_at"][:19], (row["revoked_at"] or "")[:19])
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke a key: the next request with it gets a 401."""
    from services.shared.api_keys import revoke_key

    with _reported(), _key_session() as session:
        if revoke_key(session, key_id) is None:
            raise CliError(f"no key {key_id}")
    console.print(f"key {key_id} revoked")


@app.command()
def demo(seconds: Annotated[float, typer.Option(help="How long to emit signals.")] = 20) -> None:
    """Seed demo pipelines, start everything, emit signals for a while, print what ran."""
    from services.shared.db import utcnow
    from tradetrace import demo as demo_run
    from tradetrace.stack.paths import state_dir

    _live_progress()
    platform = _platform()
    with _reported():
        settings = _settings()
        Stack().up()
        platform.up(["backend", *platform.replica_names("worker"), "beat",
                     *platform.replica_names("trigger-dispatcher")])
        key = settings.api_key or demo_run.demo_key(settings)
        ids = demo_run.seed_pipelines(platform.backend_url, key)
        console.print(f"demo pipelines: {ids}")
        if not settings.api_key:
            key_file = state_dir() / demo_run.DEMO_KEY_FILE
            console.print(f"the API's write key for the demo is in {key_file} (0600):\n"
                          f"  export TRADETRACE_API_KEY=$(cat {key_file})\n"
                          f"  curl -H \"Authorization: Bearer $TRADETRACE_API_KEY\" "
                          f"{platform.backend_url}/pipelines")
        since = utcnow()
        platform.up(["signal-generator"])
        console.print(f"emitting signals for {seconds:.0f}s ...")
        time.sleep(seconds)
        platform.down(["signal-generator"])
        demo_run.wait_until_drained(settings, since)
        console.print(demo_run.format_summary(demo_run.summarize(settings, since)),
                      markup=False)
        shown = demo_run.latest_traced_signal(settings, since)
        if shown:
            signal_id, executions = shown
            console.print(f"\nOne signal end to end (`tradetrace trace {signal_id}`):")
            _print_trace(_find_trace(signal_id, executions))
        console.print(f"\nThe signal explorer: {settings.explorer_base_url()}/signals "
                      f"(sign in with an API key, the demo's above)")


if __name__ == "__main__":
    app()
