"""The signal diff in a real browser and `tradetrace signal diff` on the session's platform: a
signal held in the task queue (its worker stopped) against its pipeline's typical run, and
against another signal of the same pipeline."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

from services.shared.db import ExecutionStatus
from services.signal_generator.publisher import SignalPublisher
from tests.integration.explorer.conftest import LOADED, NAVIGATION, insert_finished_runs, screenshot
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import rows, wait_all_finished
from tests.support.platform import create_pipeline, signal_for
from tests.support.polling import eventually
from tracing.service_names import WORKER
from tradetrace.platform import Platform


def _page_differences(page, pipeline_id: int) -> dict[str, float]:
    """Each segment's difference as the page shows it: {step: ms longer on side a}."""
    return {row.get_attribute("data-step"): float(row.get_attribute("data-difference"))
            for row in page.locator(f"#pipeline-{pipeline_id} tbody tr").all()}


def _cli(platform: Platform, *args: str) -> dict:
    shown = subprocess.run([sys.executable, "-m", "tradetrace.cli", "signal", "diff", *args,
                            "--json"], env={**os.environ, **platform.env},
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_a_signal_held_in_the_task_queue_differs_most_from_typical_there(
        api, settings, page, platform: Platform, ticker: str) -> None:
    pipeline = create_pipeline(api, f"diff-{ticker}", [ticker])
    wait_for_index(settings)
    publisher = SignalPublisher(settings.kafka_bootstrap_servers, settings.signals_topic)
    usual = []
    for _ in range(3):
        signal = signal_for(ticker)
        publisher.publish(signal)
        assert publisher.flush(15) == 0
        wait_all_finished(settings, [signal.signal_id], 1)
        usual.append(signal.signal_id)
    with platform.stopped([WORKER]):        # started again however the block ends
        held = signal_for(ticker)           # generated now: the worker's stop is not its wait
        publisher.publish(held)
        assert publisher.flush(15) == 0
        eventually(lambda: [e for e in rows(settings, [held.signal_id])
                            if e.status == ExecutionStatus.QUEUED],
                   "the held signal's run in the queue", timeout=60)
    wait_all_finished(settings, [held.signal_id], 1)

    page.goto(f"/explorer/signals/{held.signal_id}")
    page.locator("#compare-typical").click()
    page.wait_for_url(f"**/explorer/signals/{held.signal_id}/diff")
    section = page.locator(f"#pipeline-{pipeline['id']}")
    assert section.get_attribute("data-largest") == "in_queue"
    drawn = _page_differences(page, pipeline["id"])
    assert drawn["in_queue"] > 1000          # a worker's start at least; typical: a few ms
    screenshot(page, "diff-typical")
    page.goto(f"/explorer/signals/{held.signal_id}/diff?window=1h")
    drawn = _page_differences(page, pipeline["id"])
    printed = _cli(platform, held.signal_id, "--window", "1h")
    [figures] = printed["pipelines"]
    assert figures["largest"] == "in_queue" and figures["b"]["label"] == "median of 4 runs"
    steps = {step["name"]: step for step in figures["steps"]}
    assert {name: step["difference_ms"] for name, step in steps.items()} == drawn

    # Against one of the usual signals: the same segments, and their spans by path.
    page.fill("#compare input[name=with]", usual[0])
    page.locator("#compare button").click()
    page.wait_for_url(f"**/diff?with={usual[0]}**")
    assert page.locator(f"#pipeline-{pipeline['id']}").get_attribute("data-largest") \
        == "in_queue"
    agent_path = f"worker: agent.run [market_data] (pipeline {pipeline['id']})"
    assert page.locator(f'#spans tr[data-step="{agent_path}"]').count() == 1
    screenshot(page, "diff-signals")
    against = _cli(platform, held.signal_id, usual[0])
    assert against["spans_problem"] is None
    assert {step["name"] for step in against["spans"]} == set(
        page.locator("#spans tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.step)"))
    print(f"\n[diff] held signal: in_queue {steps['in_queue']['a_ms']:.0f} ms against a "
          f"typical {steps['in_queue']['b_ms']:.1f} ms; {len(against['spans'])} span paths "
          f"against a usual signal")


def test_the_diff_page_against_10000_runs_loads_in_under_300_ms(api, settings, page,
                                                                ticker: str) -> None:
    from sqlalchemy import select

    from services.shared.db import Execution, session_scope

    pipeline = create_pipeline(api, f"diff-load-{ticker}", [ticker])
    insert_finished_runs(settings.database_url, pipeline["id"], ticker, 10_000)
    with session_scope(settings.database_url) as session:
        slowest = session.scalar(select(Execution.signal_id)
                                 .where(Execution.pipeline_id == pipeline["id"])
                                 .order_by((Execution.started_at - Execution.queued_at).desc())
                                 .limit(1))
    timings = []
    for _ in range(9):
        page.goto(f"/explorer/signals/{slowest}/diff?window=1h", wait_until="load")
        page.wait_for_function(LOADED)
        timings.append(page.evaluate(NAVIGATION))
    section = page.locator(f"#pipeline-{pipeline['id']}")
    assert section.get_attribute("data-largest") == "in_queue"    # 257 ms against 3 (conftest)
    assert "median of 10000 runs" in section.inner_text()
    loads = [t["load"] for t in timings]
    print(f"\ndiff page against 10,000 runs: loads {[round(x) for x in loads]} ms; backend "
          f"parts {[{k: round(v) for k, v in t['backend'].items()} for t in timings[:3]]}")
    assert statistics.median(loads) < 300, loads
