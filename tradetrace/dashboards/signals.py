"""Signal Generation Deep Dive: what the generators emit, how fast Kafka takes it, and what
the dispatcher matched for each ticker."""

from __future__ import annotations

from grafana_foundation_sdk.builders import heatmap, piechart, stat, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard

from tradetrace.dashboards.parts import TICKER, bar_chart, dashboard, panel, query, ticker_variable


def build() -> Dashboard:
    return dashboard(
        "signals", "tradetrace / Signal Generation Deep Dive",
        "What the generators emit, how fast Kafka takes it, and which pipelines each ticker "
        "matched.",
        [ticker_variable()],
    ).with_panel(panel(
        piechart.Panel(), "Signals by type", "short", 8, 8,
        [query("sum by (signal_type) (increase(signals_generated_total[1h]))",
               "{{signal_type}}")],
    )).with_panel(panel(
        bar_chart(), "Signals by source", "short",
        8, 8,
        [query("sum by (source) (increase(signals_generated_total[1h]))", "{{source}}",
               instant=True)],
    )).with_panel(panel(
        stat.Panel(), "Kafka publishes / s: acknowledged and failed", "ops", 8, 8,
        [query("sum(rate(kafka_publish_success_total[5m]))", "acknowledged"),
         query("sum(rate(kafka_publish_failure_total[5m]))", "failed")],
    )).with_panel(panel(
        heatmap.Panel(), "Kafka publish duration (until the delivery report)", "s", 12, 8,
        [query("sum by (le) (rate(kafka_publish_duration_seconds_bucket[5m]))", "{{le}}",
               heatmap=True)],
    )).with_panel(panel(
        timeseries.Panel(), "Signal generation timeline", "short", 12, 8,
        [query("sum by (signal_type) (rate(signals_generated_total[1m])) * 60",
               "{{signal_type}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Signal generation duration (p95)", "s", 12, 8,
        [query("histogram_quantile(0.95, sum by (le, signal_type) "
               "(rate(signal_generation_duration_seconds_bucket[5m])))", "{{signal_type}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Pipelines matched / s, by ticker", "ops", 12, 8,
        [query(f"sum by (ticker) (rate(pipelines_matched_total{{{TICKER}}}[5m]))",
               "{{ticker}}")],
        "Pipelines the dispatcher matched to each ticker's signals; a ticker no pipeline "
        "watches is counted as \"other\".",
    ))
