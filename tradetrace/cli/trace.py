"""`tradetrace trace`: a signal's trace from Jaeger, printed as a tree with the services' log
lines written inside it and the queue waits between hops."""

from __future__ import annotations

from typing import Annotated

import typer

from trace_reader.jaeger import Jaeger
from trace_reader.logs import trace_logs
from trace_reader.model import Trace
from tradetrace.cli.context import platform, settings
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.stack.components.jaeger import query_url
from tradetrace.trace_tree import render


def find_trace(signal_id: str, executions: int | None) -> Trace:
    """The signal's trace from Jaeger, with the services' log lines written inside it."""
    trace = Jaeger(query_url()).signal_trace(signal_id, executions)
    trace.logs = trace_logs(trace.trace_id, platform().log_paths())
    return trace


def print_trace(trace: Trace) -> None:
    console.print(render(trace), markup=False)
    console.print(f"open it: {settings().trace_url(trace.trace_id)}")


def trace_command(signal_id: Annotated[str, typer.Argument(help="The signal's id.")],
                  as_json: AsJson = False) -> None:
    """Find a signal's trace in Jaeger and print it as a tree, with queue waits between hops."""
    with reported():
        trace = find_trace(signal_id, None)
    if as_json:
        print_json({"trace_id": trace.trace_id, "link": settings().trace_url(trace.trace_id),
                    "spans": [s.as_dict() for s in trace.spans],
                    "logs": [line.as_dict() for line in trace.logs]})
    else:
        print_trace(trace)
