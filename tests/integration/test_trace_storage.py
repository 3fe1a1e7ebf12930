"""Traces are kept on disk (Jaeger's Badger store in the stack's state): a restart keeps them."""

from __future__ import annotations

import httpx

from tests.support.dispatcher import wait_for_index
from tests.support.platform import create_pipeline, publish_and_follow, signal_for
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger, TraceUnavailable
from tradetrace.stack import Stack


def test_a_signals_trace_outlives_a_jaeger_restart(api: httpx.Client, settings, stack: Stack,
                                                   traces: Jaeger, ticker: str) -> None:
    create_pipeline(api, f"kept-{ticker}", [ticker])
    wait_for_index(settings)
    signal = signal_for(ticker)
    publish_and_follow(settings, signal)
    before = traces.signal_trace(signal.signal_id, executions=1)

    with stack.select(["jaeger"]).stopped():
        pass                                    # stopped, then started again

    after = eventually(lambda: _or_none(traces, before.trace_id), "the trace after the restart")
    assert sorted(s.span_id for s in after.spans) == sorted(s.span_id for s in before.spans)


def _or_none(traces: Jaeger, trace_id: str):
    try:
        return traces.trace(trace_id)
    except (TraceUnavailable, httpx.HTTPError):     # Jaeger still starting, or the trace is gone
        return None
