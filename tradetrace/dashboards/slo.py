"""Latency objectives: per pipeline, its objective, the error budget left, the burn rates, and
where its time from origin goes; the late runs themselves are on the explorer's objective
page, which the dashboard links to."""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.builders.common import GraphThresholdsStyleConfig
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    TextBoxVariable,
    ThresholdsConfig,
)
from grafana_foundation_sdk.models.common import GraphThresholdsStyleMode
from grafana_foundation_sdk.models.dashboard import DashboardLinkType, Threshold, ThresholdsMode

from services.shared.settings import Settings
from tradetrace.dashboards.parts import (
    PIPELINE,
    dashboard,
    hop_means_panel,
    panel,
    pipeline_variable,
    query,
)


def _explorer_variable() -> TextBoxVariable:
    default = Settings.model_construct().explorer_base_url()      # no environment read
    return (TextBoxVariable("explorer").label("Explorer")
            .description("The explorer's address (TRADETRACE_EXPLORER_URL's default here)")
            .default_value(default))


def _thresholds(*steps: tuple[float | None, str]) -> ThresholdsConfig:
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=value, color=color) for value, color in steps])


def _burn(window: str) -> str:
    return f"tradetrace:latency_objective_burn_rate:rate{window}{{{PIPELINE}}}"


def _start_from_origin(quantile: str) -> str:
    return (f"histogram_quantile({quantile}, sum by (le, trigger_mode) "
            "(rate(execution_start_from_origin_seconds_bucket[5m])))")


def build() -> Dashboard:
    return dashboard(
        "slo", "tradetrace / Latency objectives",
        "Per pipeline: its latency objective, the error budget left, the burn rates, and where "
        "its time from origin goes; the late runs themselves are on the explorer's objective "
        "page.",
        [pipeline_variable(), _explorer_variable()], time_from="now-6h",
    ).link(
        DashboardLink("Late runs, slowest first (explorer)").type(DashboardLinkType.LINK)
        .target_blank(True).url("${explorer}/pipelines/${pipeline}/objective?window=6h")
        .tooltip("One pipeline's late runs with their hops, each opening its signal")
    ).with_panel(panel(
        stat.Panel().decimals(2), "Objective: share of runs that must start in time",
        "percentunit", 6, 5,
        [query(f"1 - sum by (pipeline_id) (latency_objective_allowed_misses_total{{{PIPELINE}}})"
               " / sum by (pipeline_id) "
               f"(latency_objective_executions_total{{{PIPELINE}}})", "pipeline {{pipeline_id}}")],
        "The target each run was judged against (1 - the misses allowed per run): the "
        "pipeline's own, or the platform's default. The threshold in ms is the explorer's "
        "objective page's.",
    )).with_panel(panel(
        stat.Panel().decimals(1).thresholds(_thresholds((None, "red"), (0, "orange"),
                                                        (0.25, "green"))),
        "Error budget left (30 days)", "percentunit", 6, 5,
        [query("1 - sum by (pipeline_id) "
               f"(increase(latency_objective_misses_total{{{PIPELINE}}}[30d])) "
               "/ sum by (pipeline_id) "
               f"(increase(latency_objective_allowed_misses_total{{{PIPELINE}}}[30d]))",
               "pipeline {{pipeline_id}}")],
        "1 - misses / misses allowed over 30 days: 100% spent nothing, 0% spent it all, below "
        "0 overspent. A counter's first sample is not counted (Prometheus is not started "
        "with created-timestamp-zero-ingestion, an experimental feature).",
    )).with_panel(panel(
        timeseries.Panel().thresholds(_thresholds((None, "green"), (6, "orange"),
                                                  (14.4, "red")))
        .thresholds_style(GraphThresholdsStyleConfig().mode(GraphThresholdsStyleMode.LINE)),
        "Burn rate", "none", 12, 10,
        [query(_burn(window), f"{{{{pipeline_id}}}} {window}")
         for window in ("5m", "30m", "1h", "6h")],
        "Misses over the misses allowed (1 spends the budget exactly over its period). "
        "LatencyObjectiveFastBurn fires above 14.4 over 1h and 5m, LatencyObjectiveSlowBurn "
        "above 6 over 6h and 30m (prometheus/rules/alerts.yml).",
    )).with_panel(panel(
        timeseries.Panel(), "Share of runs that started late", "percentunit", 12, 5,
        [query("sum by (pipeline_id) "
               f"(rate(latency_objective_misses_total{{{PIPELINE}}}[5m])) "
               "/ sum by (pipeline_id) "
               f"(rate(latency_objective_executions_total{{{PIPELINE}}}[5m]))",
               "pipeline {{pipeline_id}}")],
        "Of the runs finished in the last 5 minutes, the share that started later after their "
        "origin than the objective allows.",
    )).with_panel(hop_means_panel(
        "Where its time from origin goes (mean per hop)", 12,
        " The late runs, slowest first with their hops, are on the explorer's objective page "
        "(the dashboard's link).",
    )).with_panel(panel(
        timeseries.Panel(), "Start from origin, platform-wide percentiles", "s", 12, 8,
        [query(_start_from_origin("0.5"), "p50 {{trigger_mode}}"),
         query(_start_from_origin("0.99"), "p99 {{trigger_mode}}")],
        "The distribution is kept platform-wide by trigger (a bucketed histogram per pipeline "
        "would multiply the collector's series); per pipeline, the mean per hop beside it and "
        "the explorer's p50/p99 from the executions table.",
    ))
