"""`tradetrace demo`: seed demo pipelines, start everything, emit signals for a while, and
print what ran and one signal end to end."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from tracing.service_names import BACKEND, BEAT, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace.cli.context import live_progress, platform, settings
from tradetrace.cli.output import console, reported
from tradetrace.cli.trace import find_trace, print_trace
from tradetrace.stack import Stack
from tradetrace.stack.paths import state_dir


def demo(seconds: Annotated[float, typer.Option(help="How long to emit signals.")] = 20) -> None:
    """Seed demo pipelines, start everything, emit signals for a while, print what ran."""
    from services.shared.db import utcnow
    from tradetrace import demo as demo_run

    live_progress()
    services = platform()
    with reported():
        current = settings()
        Stack().up()
        services.up([BACKEND, *services.replica_names(WORKER), BEAT,
                     *services.replica_names(TRIGGER_DISPATCHER)])
        key = current.api_key or demo_run.demo_key(current)
        ids = demo_run.seed_pipelines(services.backend_url, key)
        console.print(f"demo pipelines: {ids}")
        if not current.api_key:
            key_file = state_dir() / demo_run.DEMO_KEY_FILE
            console.print(f"the API's write key for the demo is in {key_file} (0600):\n"
                          f"  export TRADETRACE_API_KEY=$(cat {key_file})\n"
                          f"  curl -H \"Authorization: Bearer $TRADETRACE_API_KEY\" "
                          f"{services.backend_url}/pipelines")
        since = utcnow()
        services.up([SIGNAL_GENERATOR])
        console.print(f"emitting signals for {seconds:.0f}s ...")
        time.sleep(seconds)
        services.down([SIGNAL_GENERATOR])
        demo_run.wait_until_drained(current, since)
        console.print(demo_run.format_summary(demo_run.summarize(current, since)),
                      markup=False)
        shown = demo_run.latest_traced_signal(current, since)
        if shown:
            signal_id, executions = shown
            console.print(f"\nOne signal end to end (`tradetrace trace {signal_id}`):")
            print_trace(find_trace(signal_id, executions))
        console.print(f"\nThe signal explorer: {current.explorer_base_url()}/signals "
                      f"(sign in with an API key, the demo's above)")
