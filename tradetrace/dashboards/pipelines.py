"""Pipeline Execution Analysis: how long pipelines take, how they end, what they cost, where
their time from origin goes, and which agent takes the time."""

from __future__ import annotations

from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.builders.common import StackingConfig
from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.models.common import StackingMode

from tradetrace.dashboards.parts import (
    PIPELINE,
    bar_chart,
    dashboard,
    hop_means_panel,
    panel,
    pipeline_variable,
    query,
)


def _duration(quantile: str) -> str:
    return (f"histogram_quantile({quantile}, sum by (le) "
            f"(rate(pipeline_execution_duration_seconds_bucket{{{PIPELINE}}}[5m])))")


def _from_origin(metric: str, quantile: str) -> str:
    return (f"histogram_quantile({quantile}, sum by (le) "
            f'(rate({metric}_bucket{{trigger_mode="signal"}}[5m])))')


def build() -> Dashboard:
    return dashboard(
        "pipelines", "tradetrace / Pipeline Execution Analysis",
        "How long pipelines take, how they end, what they cost, and which agent takes the "
        "time. Agents and the distribution from origin are platform-wide; the rest follows "
        "the pipeline variable.",
        [pipeline_variable()],
    ).with_panel(panel(
        timeseries.Panel(), "Execution duration P50 / P95 / P99", "s", 12, 8,
        [query(_duration("0.50"), "p50"), query(_duration("0.95"), "p95"),
         query(_duration("0.99"), "p99")],
    )).with_panel(panel(
        timeseries.Panel().stacking(StackingConfig().mode(StackingMode.NORMAL)),
        "Executions by status", "ops", 12, 8,
        [query(f"sum by (status) (rate(pipeline_executions_total{{{PIPELINE}}}[5m]))",
               "{{status}}")],
    )).with_panel(panel(
        timeseries.Panel(), "Cost per execution", "currencyUSD", 8, 8,
        [query(f"sum(rate(pipeline_execution_cost_usd_sum{{{PIPELINE}}}[5m])) "
               f"/ sum(rate(pipeline_execution_cost_usd_count{{{PIPELINE}}}[5m]))")],
    )).with_panel(panel(
        bar_chart(),
        "Agent mean duration (all pipelines)", "s", 8, 8,
        [query("sum by (agent_name) (rate(agent_run_duration_seconds_sum[5m])) "
               "/ sum by (agent_name) (rate(agent_run_duration_seconds_count[5m]))",
               "{{agent_name}}", instant=True)],
    )).with_panel(panel(
        timeseries.Panel(), "Agent runs by outcome (all pipelines)", "ops", 8, 8,
        [query("sum by (agent_name, agent_outcome) (rate(agent_runs_total[5m]))",
               "{{agent_name}} {{agent_outcome}}")],
    )).with_panel(panel(
        timeseries.Panel(), "pipeline.execute spans (exemplars open the trace)", "ms", 24, 8,
        [query("histogram_quantile(0.95, sum by (le) (rate(traces_span_metrics_duration_"
               f'milliseconds_bucket{{span_name="pipeline.execute",{PIPELINE}}}[5m])))',
               "p95")],
    )).with_panel(panel(
        timeseries.Panel(),
        "Latency from origin: signal generated to run started / ended (P50 / P99, all "
        "pipelines)", "s", 8, 8,
        [query(_from_origin("execution_start_from_origin_seconds", "0.50"), "started p50"),
         query(_from_origin("execution_start_from_origin_seconds", "0.99"), "started p99"),
         query(_from_origin("execution_end_from_origin_seconds", "0.50"), "ended p50"),
         query(_from_origin("execution_end_from_origin_seconds", "0.99"), "ended p99")],
        "Per finished execution, from its signal's generation (services/worker/origin.py); "
        "runs whose clocks disagree are in execution_origin_skew_total, not here.",
    )).with_panel(
        hop_means_panel("Where the time from origin goes (mean per hop)", 8),
    ).with_panel(panel(
        bar_chart(),
        "Slowest pipelines: mean time from origin to end (top 10)", "s", 8, 8,
        [query(f"topk(10, sum by (pipeline_id) (rate(execution_hop_seconds_total{{{PIPELINE}}}"
               f"[5m])) / sum by (pipeline_id) (rate(executions_timed_from_origin_total"
               f"{{{PIPELINE}}}[5m])))", "pipeline {{pipeline_id}}", instant=True)],
        "Per pipeline, the time its finished runs spent in all hops from their origin, over "
        "how many they were.",
    )).with_panel(panel(
        timeseries.Panel(), "Latency objectives: burn rate over 1 hour (top 10 pipelines)",
        "none", 24, 8,
        [query(f"topk(10, tradetrace:latency_objective_burn_rate:rate1h{{{PIPELINE}}})",
               "pipeline {{pipeline_id}}")],
        "Misses over the misses each pipeline's objective allows (prometheus/rules/"
        "recording.yml): 1 spends the budget exactly over its period; LatencyObjectiveFastBurn "
        "pages above 14.4 (and over 5 minutes), LatencyObjectiveSlowBurn above 6 over 6 hours.",
    ))
