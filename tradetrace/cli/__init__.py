"""The `tradetrace` command line: a module per sub-app (`stack`, `services`, `signal`, `keys`,
`pipelines`, `dlq`, `dashboards`; `signal diff` in a module of its own) and per root command
(`trace`, `slo`, `blame`, `funnel`, `demo`), sharing what they print with (`output.py`) and
the stack and services they drive (`context.py`).

Tables and live build progress through `rich` on a terminal; `--json` on the status, emit and
trace commands for scripts. A user's mistake (`CliError`) or a stack failure (`StackError`)
ends the command with one red line, never a traceback.

A command that needs the services' own modules (SQLAlchemy, Celery, the tracing SDK) imports
them inside its body: `tradetrace stack status` starts in half the time without them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from tracing.settings import package_version
from tradetrace.cli import (
    blame,
    dashboards,
    demo,
    dlq,
    funnel,
    keys,
    pipelines,
    services,
    signal,
    signal_diff,
    slo,
    stack,
    trace,
)
from tradetrace.cli.output import console

app = typer.Typer(help="Trace-first observability for an event-driven trading platform.",
                  no_args_is_help=True)
app.add_typer(stack.app, name="stack")
app.add_typer(services.app, name="services")
signal.app.command("diff")(signal_diff.signal_diff)
app.add_typer(signal.app, name="signal")
app.add_typer(keys.app, name="keys")
app.add_typer(pipelines.app, name="pipelines")
app.add_typer(dlq.app, name="dlq")
app.add_typer(dashboards.app, name="dashboards")
app.command("trace")(trace.trace_command)
app.command("slo")(slo.slo)
app.command("blame")(blame.blame)
app.command("funnel")(funnel.funnel)
app.command("demo")(demo.demo)


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
