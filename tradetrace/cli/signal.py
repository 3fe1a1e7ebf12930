"""`tradetrace signal emit`: publish one signal as its source, wait for what it triggered, and
print the executions (and, asked, its trace)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from tracing.service_names import CLI
from tradetrace.cli.context import settings
from tradetrace.cli.output import AsJson, console, print_json, reported, state
from tradetrace.cli.trace import find_trace, print_trace
from tradetrace.errors import CliError

if TYPE_CHECKING:
    from services.shared.signals import Signal

app = typer.Typer(help="Trading signals.", no_args_is_help=True)

SIGNAL_TYPES = ("golden_cross", "mock")


def _new_signal(ticker: str, signal_type: str) -> Signal:
    from tradetrace import emit

    if signal_type not in SIGNAL_TYPES:
        raise CliError(f"--type must be {' or '.join(SIGNAL_TYPES)}, not {signal_type!r}")
    try:
        return emit.make_signal(ticker.upper(), signal_type)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in error.errors())
        raise CliError(f"not a valid signal ({problems})") from None


@app.command("emit")
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

    with reported():
        signal = _new_signal(ticker, signal_type)
        current = settings()
        provider = setup_tracing(CLI)   # the CLI is this signal's source
        emit.publish(current, signal)
        shutdown_tracing(provider)
        outcome = emit.wait_for_dispatch(current, signal.signal_id)
        executions = emit.wait_for_executions(current, signal.signal_id,
                                              len(outcome["enqueued"]), timeout)
        trace = find_trace(signal.signal_id, len(executions)) if show_trace else None
    shown = [execution_out(e, current) for e in executions]      # as the API shows them
    if as_json:
        print_json({"signal": signal.model_dump(mode="json"), "dispatch": outcome,
                    "executions": [out.model_dump(mode="json") for out in shown],
                    "trace": trace and {"trace_id": trace.trace_id,
                                        "link": current.trace_url(trace.trace_id)}})
        return
    console.print(f"signal {signal.signal_id}: {signal.signal_type} {signal.direction} "
                  f"{signal.ticker} strength {signal.strength}")
    console.print(f"matched pipelines {outcome['matched']}, enqueued {outcome['enqueued']}, "
                  f"skipped (already running) {outcome['skipped_running']}")
    table = Table("pipeline", "status", "duration", "cost", "trace", "error", box=None)
    for out in shown:
        status = out.status.value
        table.add_row(str(out.pipeline_id), state(status, status == "succeeded"),
                      f"{(out.duration_seconds or 0):.3f}s", f"${(out.cost_usd or 0):.4f}",
                      out.trace_url or "-", out.error or "")
    console.print(table)
    if trace is not None:
        print_trace(trace)
