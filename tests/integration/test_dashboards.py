"""Every panel query of every dashboard returns data from the real Prometheus, with its
variables at "All" and at a chosen service, pipeline and ticker.

Grafana cannot run here; its dashboards are only queries against Prometheus, so running each
query after real traffic (failures included) is what stands in for opening them.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest
import yaml

from tests.support.dashboards import panel_queries, with_variables
from tests.support.dispatcher import wait_for_index
from tests.support.platform import (
    FAST,
    create_pipeline,
    run_generator,
    run_to_the_end,
    settings_from_env,
)
from tests.support.polling import eventually
from tests.support.prometheus import instant
from tracing.service_names import WORKER
from tradetrace.dashboards import model
from tradetrace.stack.paths import REPO_ROOT

CHOSEN, ALL = "chosen", "all"


PANEL_QUERIES = [
    pytest.param(stem, expr, mode, id=f"{stem}:{title}:{ref}:{mode}")
    for stem, title, ref, expr in panel_queries()
    for mode in (ALL, CHOSEN)
    if mode == ALL or "$" in expr           # a query with no variable is one query
]


@pytest.fixture(scope="module")
def traffic(api: httpx.Client, platform, platform_env) -> dict[str, str]:
    """Signals from the real generator, runs that succeed and fail, HTTP requests; returns
    the values a user picks for the dashboards' variables: the pipeline that ran from
    signals, its ticker and the worker."""
    import secrets

    tickers = [f"D{secrets.token_hex(3).upper()}", f"E{secrets.token_hex(3).upper()}"]
    succeeding = create_pipeline(api, f"dash-ok-{tickers[0]}", tickers)
    failing = create_pipeline(api, f"dash-fail-{tickers[1]}", [tickers[1]], agents=[
        {"name": "market_data", "params": {**FAST, "fail": True}}])
    wait_for_index(settings_from_env(platform_env))
    for _ in range(4):
        run_to_the_end(api, failing["id"])
    run_generator(platform_env, platform.state.parent, tickers, count=8, per_second=4)
    return {"pipeline": str(succeeding["id"]), "ticker": tickers[0], "service": WORKER}


@pytest.mark.parametrize(("stem", "expr", "mode"), PANEL_QUERIES)
def test_panel_query_returns_data(stem: str, expr: str, mode: str, traffic: dict[str, str],
                                  prometheus: httpx.Client) -> None:
    query = with_variables(expr, model(stem), traffic if mode == CHOSEN else None)
    eventually(lambda: instant(prometheus, query), f"data for {query}", timeout=90, interval=2)


SPAN_LATENCY_QUERIES = [
    pytest.param(stem, expr, id=f"{stem}:{title}:{ref}")
    for stem, title, ref, expr in panel_queries()
    if "traces_span_metrics_duration_milliseconds_bucket" in expr
]


@pytest.mark.parametrize(("stem", "expr"), SPAN_LATENCY_QUERIES)
def test_a_span_latency_panel_has_exemplars_that_name_a_trace(
        stem: str, expr: str, traffic: dict[str, str], prometheus: httpx.Client) -> None:
    """What Grafana asks for a panel's exemplars (the whole query, at the chosen values)
    answers with points that carry a trace id: a point opens its trace."""
    query = with_variables(expr, model(stem), traffic)

    def traced() -> list[dict]:
        data = prometheus.get("/api/v1/query_exemplars", params={
            "query": query, "start": time.time() - 3600, "end": time.time()}).json()["data"]
        return [e for series in data for e in series["exemplars"] if e["labels"].get("trace_id")]

    eventually(traced, f"exemplars with a trace id for {query}", timeout=90, interval=2)


def test_a_chosen_value_narrows_what_a_panel_shows(traffic: dict[str, str],
                                                   prometheus: httpx.Client) -> None:
    """The filters select: at "All" the executions panel shows the failing pipeline's runs
    too, at the chosen pipeline only its own."""
    dashboard = model("pipelines")
    [expr] = [t["expr"] for p in dashboard["panels"] if p["title"] ==
              "Executions by status" for t in p["targets"]]
    counted = expr.replace("sum by (status)", "count by (pipeline_id)")

    def pipelines(chosen: dict[str, str] | None) -> set[str]:
        query = with_variables(counted, dashboard, chosen)
        return {row["metric"]["pipeline_id"] for row in instant(prometheus, query)}

    eventually(lambda: len(pipelines(None)) >= 2, "both of the test's pipelines at All",
               timeout=90, interval=2)
    assert pipelines(traffic) == {traffic["pipeline"]}


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "or",
                "and", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions,
    keywords, label names (inside {} or by/without/on/ignoring lists) or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)                   # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)                             # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)                             # ranges
    names = re.findall(r"(?<![\w:.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
    return {n for n in names if n.lower() not in PROMQL_WORDS}


def _rule_exprs() -> list[str]:
    exprs = []
    for path in sorted((REPO_ROOT / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            exprs += [rule["expr"] for rule in group["rules"]]
    return exprs


def test_the_name_reader_finds_metric_names_and_nothing_else() -> None:
    expr = ('sum by (status) (rate(pipeline_executions_total{status="failed",job=~"a/.*"}[5m]))'
            ' / on(job) sum(rate(pipeline_executions_total[5m])) > 0.1 or absent(up) '
            'or histogram_quantile(0.95, sum by (le) (rate(tradetrace:x_bucket[5m])))')
    assert metric_names(expr) == {"pipeline_executions_total", "up", "tradetrace:x_bucket"}


def test_every_metric_the_rules_and_dashboards_read_exists(traffic,
                                                          prometheus: httpx.Client) -> None:
    """The promtool tests feed whatever names a rule uses; this checks the names against what
    the running components really expose (e.g. `_total` on the collector's own counters)."""
    used = set().union(*(metric_names(e) for e in _rule_exprs()),
                       *(metric_names(p.values[1]) for p in PANEL_QUERIES))
    assert {"pipeline_executions_total", "otelcol_exporter_send_failed_spans_total"} <= used

    def missing() -> set[str]:      # scraped or recorded in the last minute, not ever
        return {name for name in used
                if not instant(prometheus, f'count(last_over_time({{__name__="{name}"}}[1m]))')}

    def none_missing() -> bool:
        gone = missing()
        assert not gone, f"read by a rule or panel, but not in Prometheus: {sorted(gone)}"
        return True

    # recording rules are evaluated every 15 s
    eventually(none_missing, "every metric the rules and panels read, after traffic", timeout=90,
               interval=3)
