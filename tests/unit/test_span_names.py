"""The collector derives metrics from span names: each name it matches is one we emit."""

from __future__ import annotations

import re

from tracing import span_names
from tradetrace.stack.components.collector import CONFIG


def test_every_span_name_the_collector_matches_is_one_of_ours() -> None:
    matched = set(re.findall(r'name == "([^"]+)"', CONFIG.read_text()))
    assert matched, "the pattern no longer finds the collector's span-name conditions"
    assert matched <= set(span_names.OURS), matched - set(span_names.OURS)


def test_the_run_and_match_spans_are_matched_by_the_collector() -> None:
    """pipeline_executions_total and pipelines_matched_total come from these two names."""
    config = CONFIG.read_text()
    for name in (span_names.PIPELINE_EXECUTE, span_names.PIPELINES_MATCH, span_names.AGENT_RUN,
                 span_names.SIGNAL_GENERATE):
        assert f'name == "{name}"' in config
