"""A flood of outside values cannot grow the metrics without limit.

Anyone who can produce to the signals topic chooses a ticker; anyone with a write key can
create pipelines. A platform and collector of the test's own take 1,000 pipelines (one ticker
each, one signal each) and 10,000 signals for tickers no pipeline watches. Afterwards the
collector exposes one `ticker` series per watched ticker plus one `other` (not 11,000), its
series in all stay under SERIES_BOUND, and its resident memory under RSS_BOUND_MIB.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import Counter
from pathlib import Path

from services.signal_generator.publisher import SignalPublisher
from tests.support.dispatcher import wait_for_index
from tests.support.ground_truth import wait_all_finished
from tests.support.isolation import platform_beside
from tests.support.platform import api_client, signal_for
from tests.support.polling import eventually
from tests.support.prometheus import exposed, exposed_sum
from tradetrace.stack.components.collector import CollectorOnOwnPorts

PIPELINES = 1_000
UNKNOWN_TICKERS = 10_000
# Measured 59,850-62,034 series and 180-208 MiB after this workload (2026-12-07, with the six
# hops of latency from origin per pipeline, and each pipeline's failed runs counted at 0 from
# its first run; most series are histogram buckets per pipeline: a pipeline is a label by
# design, and span_metrics' buckets vary by ~2,000 with how many pipelines it has flushed when
# read); the bounds leave room, not 10x. Without the folding of unknown tickers it would be
# 11,001 ticker values, not 1,001.
SERIES_BOUND = 66_000
RSS_BOUND_MIB = 300


def test_ten_thousand_tickers_and_a_thousand_pipelines_keep_series_bounded(
        platform_env: dict[str, str], tmp_path: Path) -> None:
    collector = CollectorOnOwnPorts(tmp_path / "collector")
    with platform_beside(collector, platform_env, tmp_path, "tt-flood") as (services, local):
        watched = [f"W{i:04d}" for i in range(PIPELINES)]
        with api_client(services) as api:
            for ticker in watched:
                response = api.post("/pipelines", json={
                    "name": f"flood-{ticker}", "tickers": [ticker],
                    "agents": [{"name": "market_data", "params": {"duration_ms": 0}}]})
                assert response.status_code == 201, response.text
        wait_for_index(local)
        publisher = SignalPublisher(local.kafka_bootstrap_servers, local.signals_topic)
        sent = []
        for ticker in watched + [f"U{secrets.token_hex(4).upper()}" for _ in
                                 range(UNKNOWN_TICKERS)]:
            signal = signal_for(ticker)
            publisher.publish(signal)
            sent.append(signal.signal_id)
            if len(sent) % 1000 == 0:
                publisher.producer.poll(0)    # serve delivery reports as we go
        assert publisher.flush(60) == 0
        started = time.monotonic()
        derived = collector.metrics_url
        eventually(lambda: exposed_sum(derived, "signals_consumed_total") == len(sent),
                   f"{len(sent)} signals consumed (derived count)", timeout=240, interval=3)
        wait_all_finished(local, sent[:PIPELINES], PIPELINES, timeout=240)
        eventually(lambda: exposed_sum(derived, "pipeline_executions_total") == PIPELINES,
                   "every execution counted", timeout=60, interval=3)

        series = exposed(derived)
        tickers = {m.group(1) for line in series if line.startswith("pipelines_matched_total{")
                   if (m := re.search(r'ticker="([^"]*)"', line))}
        by_name = Counter(re.split(r"[{ ]", line, maxsplit=1)[0] for line in series)
        rss = exposed_sum(collector.self_metrics_url, "otelcol_process_memory_rss_bytes") / 2**20
        print(f"\n[cardinality] {len(sent)} signals ({UNKNOWN_TICKERS} unknown tickers), "
              f"{PIPELINES} pipelines in {time.monotonic() - started:.0f}s: {len(series)} "
              f"series, {len(tickers)} ticker values, collector RSS {rss:.0f} MiB; largest: "
              f"{by_name.most_common(3)}")
        assert tickers == set(watched) | {"other"}
        assert len(series) < SERIES_BOUND
        assert rss < RSS_BOUND_MIB
