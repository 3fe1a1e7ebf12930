"""The DLQ from the operator's side, on the real stack: parked messages listed, shown and
redriven from the CLI and from the API, each once, with the park and the redrive in one
trace; a read key lists and cannot redrive.

Ground truth is Kafka (the DLQ's entries, read back) and the database (the executions).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import httpx

from services.shared import redrive
from services.shared.clients import redis_client
from services.shared.db import ApiRole
from services.shared.topics import ensure_topics
from tests.support.dispatcher import wait_for_index
from tests.support.dlq import parked_entry
from tests.support.ground_truth import publish_signals, wait_all_finished
from tests.support.kafka import produce
from tests.support.own_dispatcher import run_own_dispatcher
from tests.support.platform import api_client, create_pipeline
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger, TraceUnavailable
from trace_reader.model import Span, Trace
from tracing import span_names
from tracing.service_names import BACKEND, CLI, TRIGGER_DISPATCHER
from tradetrace.platform import Platform


def _cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradetrace.cli", "dlq", *args],
                          env={**os.environ, **platform.env}, capture_output=True, text=True,
                          timeout=120)


def _trace_with(settings, trace_id: str, spans: int) -> Trace:
    traces = Jaeger(settings.jaeger_query_url)

    def whole() -> Trace | None:
        try:
            found = traces.trace(trace_id)
        except TraceUnavailable:
            return None
        return found if len(found.spans) >= spans else None
    return eventually(whole, f"trace {trace_id} with {spans} spans", timeout=60)


def _park_then_redrive(trace: Trace, redriver: str) -> tuple[Span, Span, Span]:
    """The dispatcher's failed process span, the redrive's send span as its child (by
    `redriver`), and the dispatcher's process span of the redriven message below that."""
    by_id = {s.span_id: s for s in trace.spans}
    [redrive] = [s for s in trace.spans if s.service == redriver
                 and s.name == span_names.kafka_send(str(s.tags.get("messaging.destination.name")))]
    park = by_id[redrive.parent_id or ""]
    [again] = [s for s in trace.spans if s.parent_id == redrive.span_id]
    assert (park.service, park.failed) == (TRIGGER_DISPATCHER, True)
    assert again.service == TRIGGER_DISPATCHER and again.name == park.name
    return park, redrive, again


def test_a_poison_message_redriven_from_the_cli_is_parked_again_with_both_reasons(
        settings, platform: Platform) -> None:
    key = f"poison-{uuid.uuid4().hex[:8]}".encode()
    [(partition, offset)] = produce(settings.kafka_bootstrap_servers, settings.signals_topic,
                                    [(key, b"{not a signal", [])])
    first = parked_entry(settings, settings.signals_topic, partition, offset)
    assert first.key == key and first.value == b"{not a signal"

    listed = _cli(platform, "list", "--reason", "Invalid JSON", "--json", "--limit", "1000")
    assert listed.returncode == 0, listed.stderr
    assert first.id in {row["id"] for row in json.loads(listed.stdout)}
    shown = _cli(platform, "show", first.id, "--json")
    assert json.loads(shown.stdout)["value"] == "{not a signal"

    sent = _cli(platform, "redrive", first.id, "--json")
    assert sent.returncode == 0, sent.stderr
    [out] = json.loads(sent.stdout)
    again = _cli(platform, "redrive", first.id)
    assert again.returncode == 2 and "was redriven at" in again.stderr

    second = parked_entry(settings, settings.signals_topic, out["sent"]["partition"],
                    out["sent"]["offset"])
    print(f"\n[dlq] poison {first.id} redriven to {out['sent']['partition']}:"
          f"{out['sent']['offset']}, parked again as {second.id}: {second.reasons}")
    assert second.reasons == [first.reason, first.reason]
    assert (second.key, second.value) == (key, b"{not a signal")
    assert second.trace_id == first.trace_id == out["sent"]["trace_id"]
    _park_then_redrive(_trace_with(settings, first.trace_id or "", 3), CLI)


def test_a_signal_parked_for_a_fixed_cause_redriven_by_a_write_key_runs_once(
        api: httpx.Client, settings, platform: Platform, ticker: str) -> None:
    """A dispatcher with a bug reached by the signal's ticker parks it (in the platform's DLQ,
    from a source topic of the test's own); with the bug fixed, the API's redrive runs it
    once, and a second redrive is refused."""
    own = settings.model_copy(update={"signals_topic": f"dlq-src-{uuid.uuid4().hex[:8]}",
                                      "consumer_group": f"dlq-src-{uuid.uuid4().hex[:8]}"})
    ensure_topics(own)
    pipeline = create_pipeline(api, f"redrive-{ticker}", [ticker])
    wait_for_index(settings)
    [signal_id] = publish_signals(own, [ticker])
    run_own_dispatcher(platform.env, own.signals_topic, own.consumer_group, 1, bug=ticker)
    client = redis_client(settings)
    [entry] = redrive.read_parked(settings, client, ticker=ticker)
    assert entry.signal_id == signal_id and entry.reason.startswith("dispatch failed")
    assert not _executions(settings, signal_id)

    path = f"/dlq/{entry.partition}/{entry.offset}"
    with api_client(platform, ApiRole.READ) as reader:
        listed = reader.get("/dlq", params={"ticker": ticker})
        assert listed.status_code == 200
        assert [row["id"] for row in listed.json()] == [entry.id]
        assert reader.get(path).json()["signal_id"] == signal_id
        refused = reader.post(f"{path}/redrive")
        assert refused.status_code == 403, refused.text

    response = api.post(f"{path}/redrive")
    assert response.status_code == 200, response.text
    assert api.post(f"{path}/redrive").status_code == 409
    run_own_dispatcher(platform.env, own.signals_topic, own.consumer_group, 1)   # fixed

    [execution] = wait_all_finished(settings, [signal_id], 1)
    assert execution.pipeline_id == pipeline["id"]
    trace = _trace_with(settings, response.json()["sent"]["trace_id"], 5)
    _, redrive_span, _ = _park_then_redrive(trace, BACKEND)
    assert redrive_span.tags.get("tradetrace.dlq.reason") == entry.reason
    assert execution.trace_id == trace.trace_id       # the run is in the park's trace
    print(f"\n[dlq] signal {signal_id} parked ({entry.reason[:40]}), redriven by the API, "
          f"1 execution; trace {trace.trace_id}: {len(trace.spans)} spans")


def _executions(settings, signal_id: str) -> list:
    from sqlalchemy import select

    from services.shared.db import Execution, session_scope

    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Execution.id).where(
            Execution.signal_id == signal_id)))
