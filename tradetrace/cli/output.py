"""What every command prints with: the consoles, `--json`, and an error of ours as one line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from trace_reader.jaeger import TraceUnavailable
from tradetrace.errors import CliError, PlatformError
from tradetrace.stack import StackError

# Long trace lines stay whole; in a pipe or a CI log (no terminal width) tables get room.
console = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True, highlight=False)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]


@contextmanager
def reported() -> Iterator[None]:
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


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def state(text: str, good: bool) -> str:
    return f"[green]{text}[/green]" if good else f"[red]{text}[/red]"
