"""The signal explorer in a real browser, on the session's platform and the real stack."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import httpx

from services.shared.tasks import PIPELINE_TASK
from tests.integration.explorer.conftest import LOADED, NAVIGATION, insert_finished_runs, screenshot
from tests.support.platform import (
    FAST,
    create_pipeline,
    publish_and_follow,
    run_generator,
    signal_for,
)
from tests.support.polling import eventually
from trace_reader.jaeger import Jaeger, TraceUnavailable
from tracing import span_names
from tradetrace import emit
from tradetrace.platform import Platform


def _traced(traces: Jaeger, signal_id: str, executions: int) -> None:
    """Wait until Jaeger holds the signal's whole trace (the page reads it from there)."""
    traces.signal_trace(signal_id, executions, timeout=60)


def _assert_nested_chain(page, chain: tuple[str, ...]) -> None:
    """The waterfall holds the signal's trace shape: each span of the chain drawn one level
    below the one before it (the rows are the trace walked depth first)."""
    rows = page.locator("#waterfall details").evaluate_all(
        "rows => rows.map(r => [r.dataset.spanName, Number(r.dataset.depth)])")
    found: list[tuple[str, int]] = []
    for name, depth in rows:
        if len(found) < len(chain) and name == chain[len(found)] and (
                not found or depth == found[-1][1] + 1):
            found.append((name, depth))
    assert [name for name, _ in found] == list(chain), rows


def _signal_that_ran_all(settings, ticker: str, pipelines: int):
    """A signal that ran every one of the ticker's pipelines: the dispatcher learns new
    pipelines on its next index refresh, and a pipeline still running skips a signal, so
    signals are sent (each followed to its end) until one matched them all."""
    for _ in range(10):
        signal = signal_for(ticker)
        outcome, executions = publish_and_follow(settings, signal)
        if len(outcome["enqueued"]) == pipelines:
            return signal, executions
    raise AssertionError(f"no signal of {ticker} ran all {pipelines} pipelines in 10 tries")


def _generated_signal_that_ran(platform_env, state: Path, settings, ticker: str) -> str:
    """A signal of the real generator (its trace starts there, before Kafka) that ran: the
    generator may publish a few, and those that come while the pipeline runs are skipped."""
    for message in run_generator(platform_env, state, [ticker], count=1, per_second=4):
        signal_id = json.loads(message.value())["signal_id"]
        outcome = emit.wait_for_dispatch(settings, signal_id)
        if outcome["enqueued"]:
            emit.wait_for_executions(settings, signal_id, len(outcome["enqueued"]))
            return signal_id
    raise AssertionError("no generated signal was enqueued")


def test_the_signals_page_lists_emitted_signals(api, settings, page, ticker: str) -> None:
    create_pipeline(api, f"explorer-list-{ticker}", [ticker])
    outcomes: dict[str, dict] = {}

    def publish() -> dict:
        signal = signal_for(ticker)
        outcomes[signal.signal_id] = publish_and_follow(settings, signal)[0]
        return outcomes[signal.signal_id]

    # Until the dispatcher's index knows the new pipeline, a signal matches nothing.
    eventually(lambda: publish()["enqueued"], "a signal running the new pipeline", timeout=30)
    for _ in range(3):
        publish()

    page.goto(f"/explorer/signals?ticker={ticker}")
    rows = page.locator("#signals tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.signalId)")) == sorted(
        outcomes)                                         # every one, whatever it ran
    for signal_id, outcome in outcomes.items():
        row = page.locator(f"tr[data-signal-id='{signal_id}']").inner_text()
        if outcome["enqueued"]:
            assert "1 succeeded" in row and "1 / 1 / 0 / 0" in row   # matched/enqueued/...
        elif outcome["skipped_running"]:
            assert "1 / 0 / 1 / 0" in row and "skipped, already running" in row
        else:
            assert "0 / 0 / 0 / 0" in row and "no pipeline matched" in row
    screenshot(page, "signals")

    lonely = signal_for(ticker + "X")                     # a ticker no pipeline watches
    emit.publish(settings, lonely)
    emit.wait_for_dispatch(settings, lonely.signal_id)
    page.goto(f"/explorer/signals?ticker={ticker}X")
    assert "no pipeline matched" in page.locator(
        f"tr[data-signal-id='{lonely.signal_id}']").inner_text()

    for signal_id in outcomes:                           # a search opens the signal's page,
        page.fill("header input[name=q]", signal_id)     # one that ran or was skipped
        page.press("header input[name=q]", "Enter")
        page.wait_for_url(f"**/explorer/signals/{signal_id}")


def test_a_failing_signal_shows_its_waterfall_with_the_error_and_the_waits(
        api, settings, platform_env, page, traces: Jaeger, ticker: str, tmp_path: Path) -> None:
    create_pipeline(api, f"explorer-fail-{ticker}", [ticker], agents=[
        {"name": "market_data", "params": FAST},
        {"name": "risk_check", "params": {**FAST, "fail": True}}])
    _signal_that_ran_all(settings, ticker, 1)     # the dispatcher knows the pipeline now
    signal_id = _generated_signal_that_ran(platform_env, tmp_path, settings, ticker)
    _traced(traces, signal_id, 1)

    page.goto(f"/explorer/signals/{signal_id}")
    assert page.title() == f"Signal {signal_id} · tradetrace explorer"
    failed = page.locator("#waterfall details.failed")
    assert failed.count() >= 1
    agent = page.locator(f"#waterfall details.failed[data-span-name='{span_names.AGENT_RUN}']")
    agent.locator("summary").click()                       # its attributes open on click
    assert "risk_check: configured to fail" in agent.locator(".error-message").inner_text()
    assert agent.locator(".attributes").is_visible()
    assert page.locator("#waterfall .wait.kafka").count() == 1
    assert page.locator("#waterfall .wait.celery").count() >= 1
    # The critical path: the span that ended last and its ancestors, at least the dispatcher's
    # process span (it ends after its batch's commit) under the signal's root.
    assert page.locator("#waterfall .bar.critical").count() >= 2
    _assert_nested_chain(page, span_names.signal_chain(settings.signals_topic, PIPELINE_TASK))
    assert "failed" in page.locator("#executions").inner_text()
    assert "configured to fail" in page.locator("#executions").inner_text()
    assert "market_data → risk_check" in page.locator("#executions").inner_text()
    # The services' log lines of this trace, the dispatcher's for the signal among them.
    assert f"signal {signal_id} ({ticker}): matched" in page.locator("#logs").inner_text()
    screenshot(page, "signal-failed")

    # The list's filters: by status (failed: this signal) and a time range that excludes it.
    page.goto(f"/explorer/signals?ticker={ticker}&status=failed")
    assert page.locator(f"tr[data-signal-id='{signal_id}']").count() == 1
    page.goto(f"/explorer/signals?ticker={ticker}&status=succeeded")
    assert page.locator("#no-signals").is_visible()
    page.goto(f"/explorer/signals?ticker={ticker}&until=2000-01-01T00:00")
    assert page.locator("#no-signals").is_visible()


def test_pages_escape_what_comes_from_a_signal_or_a_span(api, settings, page, traces: Jaeger,
                                                         ticker: str) -> None:
    hostile = f"<script>window.pwned=1</script>{ticker}"
    create_pipeline(api, hostile, [ticker])
    signal, _ = _signal_that_ran_all(settings, ticker, 1)
    _traced(traces, signal.signal_id, 1)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"/explorer/signals/{signal.signal_id}")
    assert hostile in page.locator("#executions").inner_text()      # shown as text
    assert page.locator("script").count() == 0
    assert page.evaluate("() => window.pwned") is None
    assert dialogs == []


def test_the_pages_want_a_read_key_and_the_cookie_opens_no_write_route(
        platform: Platform, read_key: str) -> None:
    with httpx.Client(base_url=platform.backend_url, timeout=10) as anonymous:
        assert anonymous.get("/explorer/dlq").status_code == 303
        away = anonymous.get("/explorer/signals?ticker=X")
        assert away.status_code == 303
        assert away.headers["location"] == "/explorer/login?next=/explorer/signals%3Fticker%3DX"
        wrong = anonymous.post("/explorer/login", data={"key": "tt_not-a-key"})
        assert wrong.status_code == 401
        elsewhere = anonymous.post("/explorer/login",
                                   data={"key": read_key, "next": "https://evil.example/"})
        assert elsewhere.status_code == 303
        assert elsewhere.headers["location"] == "/explorer/signals"      # no open redirect
        cookie = elsewhere.cookies
    with httpx.Client(base_url=platform.backend_url, timeout=10, cookies=cookie) as browser:
        assert browser.get("/explorer/signals").status_code == 200
        assert browser.post("/pipelines", json={"name": "x", "tickers": ["X"],
                                                "agents": []}).status_code == 401
        assert browser.post("/dlq/0/0/redrive").status_code == 401


def test_the_dlq_page_lists_a_parked_message_with_its_reason_source_and_trace(
        settings, page, traces: Jaeger) -> None:
    """A poison message parked by the platform's dispatcher shows on the DLQ page with its
    reason, source offset and age, and its trace link opens the park's trace."""
    from urllib.parse import urlencode

    from tests.support.dlq import parked_entry
    from tests.support.kafka import produce

    [(partition, offset)] = produce(settings.kafka_bootstrap_servers, settings.signals_topic,
                                    [(None, b"[1, 2, 3]", [])])
    entry = parked_entry(settings, settings.signals_topic, partition, offset)
    page.goto(f"/explorer/dlq?{urlencode({'reason': entry.reason[:24]})}")
    row = page.locator(f'#dlq tr[data-entry="{entry.id}"]')
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == entry.id and entry.reason in cells[3]
    assert cells[4] == f"{settings.signals_topic}/{partition}:{offset}"
    screenshot(page, "dlq")

    def in_jaeger() -> bool:
        try:
            return bool(traces.trace(entry.trace_id or "").spans)
        except TraceUnavailable:
            return False
    eventually(in_jaeger, "the park's trace in Jaeger")
    row.locator("a.trace").click()
    page.wait_for_url(f"**/explorer/traces/{entry.trace_id}")
    assert page.locator("#waterfall details").count() >= 1


def test_a_signal_with_twenty_executions_loads_in_under_300_ms(
        api, settings, page, traces: Jaeger, ticker: str) -> None:
    for n in range(20):
        create_pipeline(api, f"explorer-load-{ticker}-{n}", [ticker])
    signal, executions = _signal_that_ran_all(settings, ticker, 20)
    assert len(executions) == 20
    _traced(traces, signal.signal_id, 20)

    timings = []
    for _ in range(9):
        page.goto(f"/explorer/signals/{signal.signal_id}", wait_until="load")
        page.wait_for_function(LOADED)
        timings.append(page.evaluate(NAVIGATION))
    assert page.locator("#executions tbody tr").count() == 20
    spans = page.locator("#waterfall details").count()
    loads = [t["load"] for t in timings]
    print(f"\nsignal page, 20 executions, {spans} spans: loads {[round(x) for x in loads]} ms; "
          f"server {[round(t['server']) for t in timings]} ms; backend parts "
          f"{[{k: round(v) for k, v in t['backend'].items()} for t in timings[:3]]}")
    assert statistics.median(loads) < 300, loads


def test_an_exemplar_on_a_latency_chart_opens_the_page_of_its_trace(
        api, settings, page, traces: Jaeger, ticker: str) -> None:
    # A slow run, as an operator would open from a latency chart: the chart keeps the slowest
    # exemplar of each slot of its axis, and this one outlasts the other tests' runs.
    create_pipeline(api, f"explorer-red-{ticker}", [ticker],
                    agents=[{"name": "market_data", "params": {"duration_ms": 3000}}])
    signal, [execution] = _signal_that_ran_all(settings, ticker, 1)
    _traced(traces, signal.signal_id, 1)
    url = "/explorer/red?service=worker&span=pipeline.execute&window=15m"
    ours = page.locator(f"a.exemplar[data-trace-id='{execution.trace_id}']")

    def exemplar_shown() -> bool:      # Prometheus scrapes the collector every few seconds
        page.goto(url)
        return ours.count() == 1
    eventually(exemplar_shown, f"an exemplar of trace {execution.trace_id}", timeout=90)
    assert page.locator("#red-charts figure").count() == 3
    assert page.locator("#span-table tbody tr").count() >= 1
    assert page.locator("#service-graph .node").count() >= 2
    screenshot(page, "red")

    ours.click()
    page.wait_for_url(f"**/explorer/signals/{signal.signal_id}")
    assert page.locator("#waterfall details").count() >= 5


def test_a_pipelines_objective_page_lists_its_late_runs_slowest_first_in_under_300_ms(
        api, settings, page, ticker: str) -> None:
    """10,000 runs of one pipeline finished in the window, 2% of them started late against
    its objective (50 ms): the page counts them as the database holds them, lists the late
    ones slowest first, each opening its signal, and loads in under 300 ms."""
    pipeline = create_pipeline(api, f"objective-{ticker}", [ticker], latency_objective_ms=50,
                               latency_objective_target=0.99)
    late_ms = insert_finished_runs(settings.database_url, pipeline["id"], ticker, 10_000)
    path = f"/explorer/pipelines/{pipeline['id']}/objective?window=1h"
    timings = []
    for _ in range(9):
        page.goto(path, wait_until="load")
        page.wait_for_function(LOADED)
        timings.append(page.evaluate(NAVIGATION))
    summary = {cell.get_attribute("data-key"): cell.inner_text()
               for cell in page.locator("#summary td[data-key]").all()}
    assert (summary["runs"], summary["misses"]) == ("10000", str(len(late_ms)))
    assert summary["burn-rate"] == f"{len(late_ms) / 100:.2f}"      # 200 of 100 allowed: 2.00
    starts = [float(v) for v in page.locator("#late tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.startMs)")]
    assert starts == sorted(late_ms, reverse=True)[:50]
    cells = page.locator("#late tbody tr").first.locator("td").all_inner_texts()
    assert cells[5:7] == ["1.0", "1.0"]         # its hops: in Kafka, in the dispatcher
    page.locator("#late tbody tr a").first.click()
    page.wait_for_url("**/explorer/signals/**")
    loads = [t["load"] for t in timings]
    print(f"\nobjective page, 10,000 runs: loads {[round(x) for x in loads]} ms; backend parts "
          f"{[{k: round(v) for k, v in t['backend'].items()} for t in timings[:3]]}")
    assert statistics.median(loads) < 300, loads
