"""Telemetry away: Jaeger down for a minute, Prometheus down, the collector refusing spans.

Telemetry must never cost an execution, and the metrics derived from spans must still count
every signal: they are the operator's only view of the business. Asserted from the executions
table, from Prometheus's counts for tickers only the test uses, and from the collector's own
refusal counters.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.support.collector_overlays import TRIPPED_LIMITER
from tests.support.ground_truth import Recovery, pipeline_per_ticker, run_wave
from tests.support.isolation import platform_beside
from tests.support.platform import api_client
from tests.support.polling import eventually
from tests.support.prometheus import exposed_sum, scalar
from trace_reader.jaeger import Jaeger
from trace_reader.model import Trace, parse_trace
from tracing import span_names
from tracing.attributes import PIPELINES_MATCHED
from tracing.service_names import WORKER
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CONFIG, CollectorOnOwnPorts
from tradetrace.stack.ports import HOST, port

JAEGER_OUTAGE_SECONDS = 60
SELF_METRICS = f"http://{HOST}:{port('collector', 'collector self-metrics')}/metrics"


def _whole(trace: Trace) -> bool:
    """The dispatcher's process span (it carries the match) and the run's two agents: spans
    that reach Jaeger in different batches (and, after an outage, in whatever order the
    exporter's queue drains)."""
    return any(PIPELINES_MATCHED in s.tags for s in trace.spans) and len(
        trace.named(span_names.AGENT_RUN)) == 2


def _stored_runs(traces: Jaeger, window: tuple[float, float],
                 expected: set[str]) -> dict[str, Trace] | None:
    """The traces Jaeger holds of the worker's runs in the window, by signal id, once every
    expected signal is among them, whole (None before)."""
    start, end = window
    response = traces.http.get("/api/traces", params={
        "service": WORKER, "operation": span_names.PIPELINE_EXECUTE,
        "start": int(start * 1e6), "end": int(end * 1e6), "limit": 10 * len(expected)})
    found = {}
    for raw in response.json().get("data") or []:
        trace = parse_trace(raw)
        for run in trace.named(span_names.PIPELINE_EXECUTE):
            if _whole(trace):
                found[str(run.tags.get("signal.id"))] = trace
    return found if expected <= set(found) else None


def _assert_counted(prometheus: httpx.Client, tickers: list[str], per_ticker: int) -> None:
    """pipelines_matched_total, derived from the dispatcher's spans, counts every signal."""
    for ticker in tickers:
        query = f'sum(pipelines_matched_total{{ticker="{ticker}"}})'
        eventually(lambda q=query: scalar(prometheus, q) == per_ticker,
                   f"{query} = {per_ticker}", timeout=60)


def test_jaeger_away_for_a_minute_costs_no_execution_and_no_count(
        api: httpx.Client, settings, stack: Stack, prometheus: httpx.Client, traces: Jaeger,
        ticker: str, recovered: Recovery, restore) -> None:
    """Signals keep flowing for a full minute without Jaeger: each runs once, each is counted
    (the derived metrics do not wait on the trace store), and every trace of that minute,
    queued in the collector meanwhile, reaches Jaeger whole once it is back."""
    pipelines = pipeline_per_ticker(api, settings, "jaeger", ticker, 3)
    tickers = list(pipelines)
    sent: list[str] = []
    window_start = time.time()
    with stack.select(["jaeger"]).stopped():
        down_at = time.monotonic()
        while time.monotonic() - down_at < JAEGER_OUTAGE_SECONDS:
            sent += run_wave(settings, tickers)
    waves = len(sent) // len(tickers)
    print(f"\n[faults] Jaeger away {time.monotonic() - down_at:.0f}s: {len(sent)} signals, "
          f"{len(sent)} executions, 0 duplicates")
    _assert_counted(prometheus, tickers, waves)
    window = (window_start, time.time())
    eventually(lambda: _stored_runs(traces, window, set(sent)),
               f"the {len(sent)} traces of the outage in Jaeger, whole", timeout=120, interval=3)
    recovered(pipelines[tickers[0]], tickers[0], "Jaeger away for a minute")


def test_spans_queued_for_jaeger_survive_a_collector_restart(
        api: httpx.Client, settings, stack: Stack, prometheus: httpx.Client, traces: Jaeger,
        ticker: str, recovered: Recovery, restore) -> None:
    """The spans waiting for Jaeger are on disk: a collector restarted in the middle of a
    Jaeger outage delivers them once Jaeger is back, with the spans of signals that ran after
    the restart; the derived counts of both halves are exact."""
    pipelines = pipeline_per_ticker(api, settings, "requeue", ticker, 6)
    tickers = list(pipelines)
    before, after = tickers[:3], tickers[3:]
    window_start = time.time()
    with stack.select(["jaeger"]).stopped():
        sent = run_wave(settings, before)
        _assert_counted(prometheus, before, 1)        # every span of the wave in the collector
        eventually(lambda: exposed_sum(SELF_METRICS, "otelcol_exporter_queue_size",
                                       exporter="otlp_grpc/jaeger") > 0,
                   "spans queued for Jaeger", timeout=30)
        with stack.select(["collector"]).stopped():
            pass
        sent += run_wave(settings, after)
        _assert_counted(prometheus, after, 1)
    window = (window_start, time.time())
    eventually(lambda: _stored_runs(traces, window, set(sent)),
               f"the {len(sent)} traces from both sides of the restart in Jaeger, whole",
               timeout=120, interval=3)
    recovered(pipelines[tickers[0]], tickers[0], "collector restarted while Jaeger was away")


def test_prometheus_away_costs_no_execution_and_no_count(
        api: httpx.Client, settings, stack: Stack, prometheus: httpx.Client, ticker: str,
        recovered: Recovery, restore) -> None:
    """The counters live in the collector: once Prometheus scrapes again, nothing is missing."""
    pipelines = pipeline_per_ticker(api, settings, "prometheus", ticker, 5)
    tickers = list(pipelines)
    started = time.monotonic()
    with stack.select(["prometheus"]).stopped():
        sent = run_wave(settings, tickers)
    print(f"\n[faults] Prometheus away: {len(sent)} signals, {len(sent)} executions in "
          f"{time.monotonic() - started:.1f}s")
    _assert_counted(prometheus, tickers, 1)
    recovered(pipelines[tickers[0]], tickers[0], "Prometheus away")


def test_collector_refusing_spans_costs_no_execution(platform_env: dict[str, str],
                                                     tmp_path: Path, ticker: str) -> None:
    """A burst meets a collector whose memory limiter refuses data: the services drop their
    spans after their exporters' retries, and every signal still runs its pipelines once."""
    overlay = tmp_path / "tripped-limiter.yaml"
    overlay.write_text(TRIPPED_LIMITER)
    collector = CollectorOnOwnPorts(tmp_path / "collector", configs=(CONFIG, overlay))
    with platform_beside(collector, platform_env, tmp_path, "tt-limited") as (services, local):
        with api_client(services) as api:
            tickers = list(pipeline_per_ticker(api, local, "limited", ticker, 10))
        started = time.monotonic()
        sent = [signal_id for _ in range(5) for signal_id in run_wave(local, tickers)]
        refused = exposed_sum(collector.self_metrics_url, "otelcol_receiver_refused_spans_total")
        print(f"\n[faults] collector memory limiter tripped: {len(sent)} signals, {len(sent)} "
              f"executions in {time.monotonic() - started:.1f}s, {refused:.0f} spans refused")
        assert refused > 0, "the limiter never refused: the test did not test anything"
