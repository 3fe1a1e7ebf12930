"""System Overview: signals in, pipelines run, how well, how far behind."""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.dashboard import Dashboard

from tradetrace.dashboards.parts import PIPELINE, dashboard, panel, pipeline_variable, query

EXECUTIONS = f"pipeline_executions_total{{{PIPELINE}}}"


def build() -> Dashboard:
    return dashboard(
        "overview", "tradetrace / System Overview",
        "Signals in, pipelines run, how well, how far behind.",
        [pipeline_variable()],
    ).with_panel(panel(
        stat.Panel(), "Signals generated / min", "short", 5, 5,
        [query("sum(rate(signals_generated_total[5m])) * 60")],
    )).with_panel(panel(
        stat.Panel(), "Pipeline executions / min", "short", 5, 5,
        [query(f"sum(rate({EXECUTIONS}[5m])) * 60")],
    )).with_panel(panel(
        stat.Panel(), "Execution success rate", "percentunit", 5, 5,
        [query(f'sum(rate(pipeline_executions_total{{status="succeeded",{PIPELINE}}}[5m])) '
               f"/ sum(rate({EXECUTIONS}[5m]))")],
    )).with_panel(panel(
        stat.Panel(), "Time to dispatch (p95, from spans)", "s", 5, 5,
        [query("tradetrace:kafka_consumer_lag_seconds:p95_5m")],
    )).with_panel(panel(
        stat.Panel(), "Active pipelines (ran in the last 30 min)", "short", 4, 5,
        [query(f"count(count by (pipeline_id) ({EXECUTIONS}))")],
        "Pipelines whose execution counter the collector still exposes: it keeps a series 30 "
        "minutes after its last update (metric_expiration). increase() would miss a pipeline "
        "that ran once, as a derived counter's first sample is its first value.",
    )).with_panel(panel(
        stat.Panel(), "Oldest unhandled signal (from the broker)", "s", 6, 5,
        [query("max(kafka_consumer_group_lag_age_seconds)")],
        "Age of the oldest signal the dispatcher has not committed, read from the broker by "
        "the backend: it keeps rising when the dispatcher is down.",
    )).with_panel(panel(
        stat.Panel(), "Signals waiting for the dispatcher (from the broker)", "short", 6, 5,
        [query("sum(kafka_consumer_group_lag)")],
        "Published but not yet committed by the dispatcher's consumer group.",
    )).with_panel(panel(
        timeseries.Panel(), "Signals and executions", "short", 24, 8,
        [query("sum by (signal_type) (rate(signals_generated_total[5m])) * 60",
               "signals {{signal_type}}"),
         query(f"sum by (status) (rate({EXECUTIONS}[5m])) * 60", "executions {{status}}")],
    ))
