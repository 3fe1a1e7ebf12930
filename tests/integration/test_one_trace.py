"""One signal, one trace: through Kafka and Celery, checked in the real Jaeger."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time

import httpx

from services.shared.db import Execution, session_scope
from services.shared.tasks import PIPELINE_TASK
from tests.support.dispatcher import wait_for_index
from tests.support.kafka import produce
from tests.support.platform import (
    FAST,
    create_pipeline,
    publish_and_follow,
    run_generator,
    signal_for,
)
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger
from trace_reader.logs import trace_logs
from trace_reader.model import Span, Trace, parse_trace
from tracing import span_names
from tracing.service_names import BACKEND, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace import emit
from tradetrace.trace_tree import render

PUBLISH, RUN = span_names.celery_publish(PIPELINE_TASK), span_names.celery_run(PIPELINE_TASK)


def _ancestry(trace: Trace, span: Span) -> list[str]:
    by_id = {s.span_id: s for s in trace.spans}
    names = [span.name]
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        names.append(span.name)
    assert span.parent_id is None, f"{span.name} has a parent outside the trace"
    return names[::-1]


def _execution_trace_ids(settings, signal_id: str) -> set[str]:
    with session_scope(settings.database_url) as session:
        return {e.trace_id for e in session.query(Execution).filter_by(signal_id=signal_id)}


def test_each_generated_signal_is_one_unbroken_trace(api: httpx.Client, settings, platform_env,
                                                     platform, traces: Jaeger, ticker: str,
                                                     tmp_path) -> None:
    tickers = [ticker + "A", ticker + "B", ticker + "C"]
    pipeline_ids = {t: {create_pipeline(api, f"{name}-{t}", [t])["id"] for name in ("x", "y")}
                    for t in tickers}
    wait_for_index(settings)
    signals = [json.loads(m.value()) for m in run_generator(
        platform_env, platform.state.parent, tickers, count=5, per_second=4, seed=7)]
    assert len(signals) >= 5

    ran = 0
    for signal in signals:
        signal_id = signal["signal_id"]
        outcome = emit.wait_for_dispatch(settings, signal_id)
        executions = emit.wait_for_executions(settings, signal_id, len(outcome["enqueued"]))
        trace = traces.signal_trace(signal_id, executions=len(executions))

        assert traces.trace_ids_for_signal(signal_id) == [trace.trace_id], "one trace per signal"
        assert all(s.tags.get("signal.id") == signal_id for s in trace.spans)
        services = {s.service for s in trace.spans}
        process_name = span_names.kafka_process(settings.signals_topic)
        [process] = trace.named(process_name)
        chain = list(span_names.signal_chain(settings.signals_topic, PIPELINE_TASK))
        assert _ancestry(trace, process) == chain[:chain.index(process_name) + 1]
        assert process.tags["pipelines.matched"] == len(outcome["matched"])
        assert process.tags["pipelines.enqueued"] == len(outcome["enqueued"])
        if not outcome["enqueued"]:   # its pipelines were still running: skipped, and said so
            assert process.tags["pipelines.skipped_running"] == len(outcome["skipped_running"])
            assert WORKER not in services
            continue
        ran += 1
        assert {SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER} <= services
        agent_runs = trace.named(span_names.AGENT_RUN)
        assert len(agent_runs) == 2 * len(outcome["enqueued"])
        assert all(_ancestry(trace, s) == chain for s in agent_runs)
        runs = trace.named(span_names.PIPELINE_EXECUTE)
        assert sorted(s.tags["pipeline.id"] for s in runs) == sorted(outcome["enqueued"])
        assert set(outcome["enqueued"]) <= pipeline_ids[signal["ticker"]]
        assert _execution_trace_ids(settings, signal_id) == {trace.trace_id}
    assert ran >= 3, f"only {ran} of {len(signals)} signals ran pipelines"


def test_foreign_and_garbage_contexts_in_one_batch_keep_their_own_traces(
        api: httpx.Client, settings, platform, traces: Jaeger, ticker: str) -> None:
    for kind in "WGNL":  # one pipeline per message: none is skipped as already running
        create_pipeline(api, f"mixed-{ticker}{kind}", [ticker + kind])
    wait_for_index(settings)
    foreign_trace, foreign_parent = secrets.token_hex(16), secrets.token_hex(8)
    lower_trace = secrets.token_hex(16)
    messages = {
        "W": [("traceparent", f"00-{foreign_trace}-{foreign_parent}-01".encode())],
        "G": [("traceparent", b"\xff\xfenot-utf8"), ("tracestate", b"garbage")],
        "N": [],
        "L": [("TraceParent", f"00-{lower_trace}-{secrets.token_hex(8)}-01".encode())],
    }
    signals = {kind: signal_for(ticker + kind) for kind in messages}
    with platform.stopped([TRIGGER_DISPATCHER]):     # so that all four arrive in one batch
        produce(settings.kafka_bootstrap_servers, settings.signals_topic,
                [(signals[kind].ticker.encode(), signals[kind].to_json(), headers)
                 for kind, headers in messages.items()])

    trace_ids = {}
    for kind, signal in signals.items():
        emit.wait_for_dispatch(settings, signal.signal_id)
        [execution] = emit.wait_for_executions(settings, signal.signal_id, 1)
        trace_ids[kind] = execution.trace_id
    assert trace_ids["W"] == foreign_trace
    assert trace_ids["L"] == lower_trace             # header name in another case
    assert len(set(trace_ids.values())) == 4         # garbage and none: two new traces

    processes = {}
    for kind, signal in signals.items():
        trace = traces.signal_trace(signal.signal_id, executions=1)
        [process] = [s for s in trace.spans if s.name.startswith("process ")]
        processes[kind] = process
    assert processes["W"].parent_id == foreign_parent
    assert processes["G"].parent_id is None and processes["N"].parent_id is None
    assert processes["G"].tags["tradetrace.trace_context"] == "invalid"
    assert processes["N"].tags["tradetrace.trace_context"] == "missing"
    assert "tradetrace.trace_context" not in processes["W"].tags


def test_retried_task_stays_in_the_signal_trace(api: httpx.Client, settings, platform,
                                                traces: Jaeger, ticker: str) -> None:
    create_pipeline(api, f"retry-trace-{ticker}", [ticker], agents=[
        {"name": "market_data", "params": {**FAST, "transient_failures": 1}}])
    wait_for_index(settings)
    signal = signal_for(ticker)
    outcome, [execution] = publish_and_follow(settings, signal)
    assert execution.attempts == 2

    trace = traces.signal_trace(signal.signal_id, executions=2)
    runs = trace.named(RUN)
    assert len(runs) == 2
    assert len(trace.named(PUBLISH)) == 2   # first + retry
    assert execution.trace_id == trace.trace_id
    failed_agent = [s for s in trace.named(span_names.AGENT_RUN) if s.failed]
    assert len(failed_agent) == 1
    assert failed_agent[0].tags["agent.outcome"] == "transient_failure"


def test_manual_run_is_one_trace_from_the_request_to_the_agents(api: httpx.Client, settings,
                                                                traces: Jaeger,
                                                                ticker: str) -> None:
    pipeline = create_pipeline(api, f"manual-trace-{ticker}", [ticker])
    queued = api.post(f"/pipelines/{pipeline['id']}/run").json()
    # No Jaeger UI natively: the link opens the trace's page in the explorer.
    assert queued["trace_url"] == (f"{str(api.base_url).rstrip('/')}/explorer/traces/"
                                   f"{queued['trace_id']}")

    def whole_trace_arrived():
        """Each service exports on its own schedule: the backend's request span may reach
        Jaeger after the worker's agents, so wait for both ends of the trace."""
        trace = traces.trace(queued["trace_id"])
        servers = [s for s in trace.spans if s.kind == "server"]
        return trace if servers and len(trace.named(span_names.AGENT_RUN)) == 2 else None

    trace = eventually(whole_trace_arrived, "the manual run's request and agents in Jaeger")
    [server] = [s for s in trace.spans if s.kind == "server"]
    assert server.service == BACKEND
    assert server.tags["http.route"] == "/pipelines/{pipeline_id}/run"
    for agent in trace.named(span_names.AGENT_RUN):
        chain = _ancestry(trace, agent)
        assert chain[0] == server.name
        assert chain[-4:] == [PUBLISH, RUN, span_names.PIPELINE_EXECUTE, span_names.AGENT_RUN]
    body = api.get(f"/executions/{queued['id']}").json()
    assert body["trace_id"] == queued["trace_id"]


def test_a_signals_log_lines_carry_its_trace_and_show_in_its_tree(
        api: httpx.Client, settings, platform, traces: Jaeger, ticker: str) -> None:
    """Every service logs JSON lines with trace_id, span_id, service.name and signal.id; the
    dispatcher's and the worker's lines for one signal are found by its trace id and shown by
    `tradetrace trace` inside the spans that wrote them."""
    pipeline = create_pipeline(api, f"logs-{ticker}", [ticker])
    wait_for_index(settings)
    signal = signal_for(ticker)
    publish_and_follow(settings, signal)
    trace = traces.signal_trace(signal.signal_id, executions=1)

    lines = eventually(lambda: [line for line in trace_logs(trace.trace_id, platform.log_paths())
                                if line.service in (TRIGGER_DISPATCHER, WORKER)],
                       "the signal's log lines", timeout=30)
    spans = {s.span_id: s for s in trace.spans}
    dispatched = next(line for line in lines if line.service == TRIGGER_DISPATCHER)
    assert dispatched.message.startswith(f"signal {signal.signal_id} ({ticker}): matched")
    assert spans[dispatched.span_id].name == span_names.kafka_process(settings.signals_topic)
    run = next(line for line in lines if line.service == WORKER
               and f"of pipeline {pipeline['id']}: succeeded" in line.message)
    assert spans[run.span_id].name in (span_names.PIPELINE_EXECUTE, RUN)

    cli = subprocess.run(
        [sys.executable, "-m", "tradetrace.cli", "trace", signal.signal_id, "--json"],
        env={**os.environ, "TRADETRACE_STATE_DIR": str(platform.state.parent)},
        capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    shown = json.loads(cli.stdout)
    assert shown["trace_id"] == trace.trace_id
    assert {(line["service"], line["span_id"]) for line in shown["logs"]} >= {
        (TRIGGER_DISPATCHER, dispatched.span_id), (WORKER, run.span_id)}
    times = [line["time"] for line in shown["logs"]]
    assert times == sorted(times)
    tree = render(Trace(trace.trace_id, trace.spans, lines))
    assert f"| trigger-dispatcher: {dispatched.message}" in tree
    assert f"| worker: {run.message}" in tree


def test_at_a_low_rate_a_signal_waits_in_kafka_only_milliseconds(platform, settings,
                                                                 traces: Jaeger,
                                                                 ticker: str) -> None:
    """One signal every 300 ms: the dispatcher takes each as soon as it is fetched, not after
    its batch timeout (200 ms in the tests). The wait is the process span's message age."""
    from services.signal_generator.publisher import SignalPublisher
    from tests.support.platform import signal_for
    from tracing.attributes import MESSAGE_AGE_MS

    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    started, sent = time.time(), []
    for _ in range(10):
        signal = signal_for(ticker)
        publisher.publish(signal)
        assert publisher.flush(10) == 0
        sent.append(signal.signal_id)
        time.sleep(0.3)

    def ages() -> dict[str, float] | None:
        found = traces.http.get("/api/traces", params={
            "service": TRIGGER_DISPATCHER,
            "operation": span_names.kafka_process(settings.signals_topic),
            "start": int(started * 1e6), "limit": 500}).json()["data"] or []
        by_signal = {str(s.tags.get("signal.id")): float(s.tags[MESSAGE_AGE_MS])
                     for raw in found for s in parse_trace(raw).spans
                     if MESSAGE_AGE_MS in s.tags}
        return by_signal if set(sent) <= set(by_signal) else None

    waits = sorted(eventually(ages, "the 10 signals' process spans", timeout=30)[s]
                   for s in sent)
    print(f"\n[latency] wait in Kafka at 3 signals/s: median {waits[5]:.1f} ms, "
          f"max {waits[-1]:.1f} ms")
    assert waits[5] < 20
