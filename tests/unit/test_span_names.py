"""The collector derives metrics from span names and attributes: each one it reads is one we
emit, named in tracing/span_names.py or tracing/attributes.py."""

from __future__ import annotations

import re

from services.shared.tasks import PIPELINE_TASK
from tracing import attributes, span_names
from tradetrace.stack.components.collector import CONFIG


def test_every_span_name_the_collector_matches_is_one_of_ours() -> None:
    matched = set(re.findall(r'name == "([^"]+)"', CONFIG.read_text()))
    assert matched, "the pattern no longer finds the collector's span-name conditions"
    assert matched <= set(span_names.OURS), matched - set(span_names.OURS)


def test_the_run_and_process_spans_are_matched_by_the_collector() -> None:
    """pipeline_executions_total and the agents' and generator's metrics come from these
    names; pipelines_matched_total from the process spans that carry a match's outcome."""
    config = CONFIG.read_text()
    for name in (span_names.PIPELINE_EXECUTE, span_names.AGENT_RUN, span_names.SIGNAL_GENERATE):
        assert f'name == "{name}"' in config
    assert (f'kind == SPAN_KIND_CONSUMER and attributes["{attributes.PIPELINES_MATCHED}"] '
            "!= nil") in config


def test_every_span_the_collector_derives_from_is_on_a_signals_chain() -> None:
    """The derived metrics count the spans a signal's trace is made of (the trace shape the
    tests and the benchmark check), so a name the chain loses is a metric gone. The index
    refresh is the dispatcher's own trace, not a signal's."""
    matched = set(re.findall(r'name == "([^"]+)"', CONFIG.read_text()))
    matched.discard(span_names.PIPELINES_INDEX_REFRESH)
    chain = span_names.signal_chain("signals", PIPELINE_TASK)
    assert matched <= set(chain), matched - set(chain)



OUR_NAMESPACES = ("signal.", "pipelines.", "execution.", "cost.", "agent.", "tradetrace.", "ticker")


def test_every_attribute_of_ours_the_collector_reads_is_one_we_set() -> None:
    """An attribute of ours the collector reads is named in tracing/attributes.py, or set by
    the collector itself (`set(attributes["..."], ...)`, or a connector's `default_value`): a
    rename on one side only would leave a derived metric silently empty."""
    config = CONFIG.read_text()
    read = {name for name in re.findall(r'attributes\["([^"]+)"\]', config)
            if name.startswith(OUR_NAMESPACES)}
    set_by_collector = set(re.findall(r'set\(attributes\["([^"]+)"\]', config)) \
        | set(re.findall(r'\{key: ([\w.]+), default_value', config))
    ours = {value for name, value in vars(attributes).items()
            if name.isupper() and isinstance(value, str)} \
        | {value for name, values in vars(attributes).items()
           if name.isupper() and isinstance(values, dict) for value in values.values()}
    assert read, "the pattern no longer finds the collector's attributes"
    assert read <= ours | set_by_collector, sorted(read - ours - set_by_collector)
