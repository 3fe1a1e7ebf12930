"""Telemetry that outside input cannot steer: a foreign "not sampled" flag, foreign baggage
and tickers no pipeline watches neither erase a signal nor blow up a label's values."""

from __future__ import annotations

import secrets

import httpx

from tests.support.dispatcher import wait_for_index
from tests.support.kafka import produce
from tests.support.platform import create_pipeline, publish_and_follow, signal_for
from tests.support.polling import eventually
from tests.support.prometheus import instant, scalar
from trace_reader.jaeger import Jaeger
from tracing import span_names
from tracing.service_names import TRIGGER_DISPATCHER, WORKER
from tradetrace import emit


def test_a_foreign_not_sampled_flag_loses_no_span_and_no_count(
        api: httpx.Client, settings, traces: Jaeger, prometheus: httpx.Client,
        ticker: str) -> None:
    pipeline = create_pipeline(api, f"unsampled-{ticker}", [ticker])
    wait_for_index(settings)
    foreign = secrets.token_hex(16)
    signal = signal_for(ticker)
    produce(settings.kafka_bootstrap_servers, settings.signals_topic, [
        (signal.ticker.encode(), signal.to_json(), [
            ("traceparent", f"00-{foreign}-{secrets.token_hex(8)}-00".encode()),
            ("baggage", b"signal.id=forged-by-a-stranger")])])
    outcome = emit.wait_for_dispatch(settings, signal.signal_id)
    [execution] = emit.wait_for_executions(settings, signal.signal_id, 1)
    assert outcome["enqueued"] == [pipeline["id"]] and execution.trace_id == foreign

    trace = traces.signal_trace(signal.signal_id, executions=1, timeout=60)
    assert trace.trace_id == foreign                  # the trace id is the producer's
    assert len(trace.named(span_names.AGENT_RUN)) == 2
    assert {s.tags.get("signal.id") for s in trace.spans} == {signal.signal_id}  # not forged
    query = f'sum(pipelines_matched_total{{ticker="{ticker}"}})'
    eventually(lambda: scalar(prometheus, query) == 1, f"{query} = 1", timeout=60)
    query = f'sum(pipeline_executions_total{{pipeline_id="{pipeline["id"]}",status="succeeded"}})'
    eventually(lambda: (scalar(prometheus, query) or 0) >= 1, "the execution counted")


def test_tickers_no_pipeline_watches_count_as_one_label_value(
        api: httpx.Client, settings, prometheus: httpx.Client, ticker: str) -> None:
    """Any producer can write any ticker; the metric's label takes only watched ones."""
    create_pipeline(api, f"watched-{ticker}", [ticker])
    wait_for_index(settings)
    strangers = [f"Q{secrets.token_hex(3).upper()}" for _ in range(3)]
    for stranger in strangers:
        outcome, _ = publish_and_follow(settings, signal_for(stranger))
        assert outcome["matched"] == []
    publish_and_follow(settings, signal_for(ticker))    # handled after the strangers
    query = f'sum(pipelines_matched_total{{ticker="{ticker}"}})'
    eventually(lambda: scalar(prometheus, query) == 1, f"{query} = 1", timeout=60)
    # Flushed after the strangers' spans, so their series would be there by now.
    assert instant(prometheus, f'pipelines_matched_total{{ticker=~"{"|".join(strangers)}"}}') == []
    assert instant(prometheus, 'pipelines_matched_total{ticker="other"}')


def test_the_celery_edge_of_the_service_graph_names_its_messaging_system(
        api: httpx.Client, settings, prometheus: httpx.Client, ticker: str) -> None:
    create_pipeline(api, f"edge-{ticker}", [ticker])
    wait_for_index(settings)
    publish_and_follow(settings, signal_for(ticker))
    edge = ('increase(traces_service_graph_request_total{'
            f'client="{TRIGGER_DISPATCHER}",server="{WORKER}",client_messaging_system="celery",'
            'server_messaging_system="celery"}[2m])')
    eventually(lambda: any(float(s["value"][1]) > 0 for s in instant(prometheus, edge)),
               "the dispatcher -> worker edge with messaging_system=celery", timeout=90,
               interval=2)
