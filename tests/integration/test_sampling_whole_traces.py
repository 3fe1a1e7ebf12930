"""At 10% sampling, every failing or slow signal's trace reaches Jaeger whole; the rest keep
their rate; the derived counts equal the database.

A collector of our binary and config on its own ports (TRACE_SAMPLING_PERCENTAGE=10, a slow
threshold of 5 s so the test stays short) and an isolated platform sending to it. Its pipelines:
- late failure: a transient error on every attempt, the last one after three retries with
  backoff (about 10 s after the signal), so the trace grows long after its first error;
- error after a while: an agent that works 3 s, then fails (its error comes after the
  dispatcher's spans have long been with the collector);
- slow: a 6 s run that succeeds;
- plain: fast successes, of which about 10% are kept.
Ground truth is the executions table (attempts per execution); each trace found in Jaeger has
one root, an unbroken parent chain, and as many `pipeline.execute` spans as the row attempts.
"""

from __future__ import annotations

import time
from pathlib import Path

from services.shared.db import Execution, ExecutionStatus
from services.signal_generator.publisher import SignalPublisher
from tests.support.ground_truth import finished_rows, pipeline_per_ticker, run_wave
from tests.support.isolation import platform_beside
from tests.support.platform import api_client, create_pipeline, signal_for
from tests.support.polling import eventually
from tests.support.prometheus import exposed_sum
from trace_reader.jaeger import Jaeger
from trace_reader.model import Trace, parse_trace
from tracing import span_names
from tracing.service_names import TRIGGER_DISPATCHER, WORKER
from tradetrace.stack.components.collector import CollectorOnOwnPorts

SAMPLING_ENV = {"TRACE_SAMPLING_PERCENTAGE": "10", "TRACE_SLOW_THRESHOLD_MS": "5000",
                "TRACE_DECISION_WAIT": "60s"}
PLAIN_WAVES = 10           # x 10 pipelines: 100 plain signals, about 10 kept
KEPT_PER_KIND = 3

LATE_FAILURE = [{"name": "market_data", "params": {"duration_ms": 200, "transient_failures": 10}}]
ERROR_AFTER_A_WHILE = [{"name": "market_data", "params": {"duration_ms": 3000, "fail": True}}]
SLOW = [{"name": "market_data", "params": {"duration_ms": 6000}}]


def _traces_in_window(traces: Jaeger, window: tuple[float, float], signal_ids: set[str],
                      topic: str) -> dict[str, Trace]:
    """Every trace in the window that holds a span of one of the signals, by signal id,
    whichever service's spans it has (a fragment would show up too)."""
    start, end = (int(t * 1e6) for t in window)
    found: dict[str, Trace] = {}
    for service, operation in ((TRIGGER_DISPATCHER, span_names.kafka_process(topic)),
                               (WORKER, span_names.PIPELINE_EXECUTE)):
        response = traces.http.get("/api/traces", params={
            "service": service, "operation": operation, "start": start, "end": end,
            "limit": 5000})
        for raw in response.json().get("data") or []:
            trace = parse_trace(raw)
            ids = {str(s.tags.get("signal.id")) for s in trace.spans} & signal_ids
            for signal_id in ids:
                found[signal_id] = trace
    return found


def _assert_whole(trace: Trace, execution: Execution, topic: str) -> None:
    """One root (so no parent missing), the dispatcher's spans, and every attempt of the
    execution with its agents."""
    assert len(trace.roots) == 1, [s.label for s in trace.roots]
    assert trace.named(span_names.kafka_process(topic)), "the dispatcher's span is missing"
    runs = trace.named(span_names.PIPELINE_EXECUTE)
    assert len(runs) == execution.attempts, (len(runs), execution.attempts)
    assert all(any(c.name == span_names.AGENT_RUN for c in run.children) for run in runs)


def test_failing_and_slow_traces_are_kept_whole_at_ten_percent(
        platform_env: dict[str, str], tmp_path: Path, traces: Jaeger, ticker: str) -> None:
    collector = CollectorOnOwnPorts(tmp_path / "collector", env=SAMPLING_ENV)
    with platform_beside(collector, platform_env, tmp_path, "tt-sampled") as (services, local):
        window_start = time.time()
        kinds = {"late-failure": LATE_FAILURE, "error-after-a-while": ERROR_AFTER_A_WHILE,
                 "slow": SLOW}
        with api_client(services) as api:
            kept_tickers = {f"{ticker[:5]}{kind[0].upper()}{i}": kind
                            for kind in kinds for i in range(KEPT_PER_KIND)}
            for kept_ticker, kind in kept_tickers.items():
                create_pipeline(api, f"{kind}-{kept_ticker}", [kept_ticker], agents=kinds[kind])
            plain_tickers = list(pipeline_per_ticker(api, local, "plain", ticker, 10))

        publisher = SignalPublisher(local.kafka_bootstrap_servers, local.signals_topic)
        kept_signals = {}
        for kept_ticker, kind in kept_tickers.items():
            signal = signal_for(kept_ticker)
            publisher.publish(signal)
            kept_signals[signal.signal_id] = kind
        assert publisher.flush(30) == 0
        plain = [sid for _ in range(PLAIN_WAVES) for sid in run_wave(local, plain_tickers)]
        executions = {e.signal_id: e for e in finished_rows(
            local, [*kept_signals, *plain], len(kept_signals) + len(plain))}
        failed = sum(e.status == ExecutionStatus.FAILED for e in executions.values())
        assert failed == 2 * KEPT_PER_KIND
        assert all(executions[sid].attempts == local.task_max_retries + 1
                   for sid, kind in kept_signals.items() if kind == "late-failure")

        window = (window_start, time.time() + 1)

        def kept_whole() -> dict[str, Trace] | None:   # a late retry's spans may still travel
            found = _traces_in_window(traces, window, set(executions), local.signals_topic)
            for signal_id, trace in found.items():
                _assert_whole(trace, executions[signal_id], local.signals_topic)
            return found if set(kept_signals) <= set(found) else None

        stored = eventually(kept_whole, "every failing and slow signal's trace whole in Jaeger",
                            timeout=60, interval=2)
        kept_plain = len(set(stored) & set(plain))
        print(f"\n[sampling] at 10%: {len(kept_signals)} failing/slow traces kept whole, "
              f"{kept_plain} of {len(plain)} plain ones, each whole")
        assert 1 <= kept_plain <= 30, "the rest is sampled near 10%"

        for status in ("succeeded", "failed"):
            in_database = sum(e.status.value == status for e in executions.values())
            eventually(lambda s=status, n=in_database: exposed_sum(
                           collector.metrics_url, "pipeline_executions_total", status=s) == n,
                       f"pipeline_executions_total{{status={status}}} = {in_database}",
                       timeout=30)
