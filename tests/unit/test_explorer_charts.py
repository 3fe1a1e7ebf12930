"""The explorer's chart geometry and service-graph layout."""

from __future__ import annotations

from services.backend.explorer import charts, service_graph
from services.backend.explorer.prometheus import Exemplar, Series, label
from tracing.service_names import SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER


def test_a_line_spans_the_axis_and_the_top_is_a_round_number() -> None:
    chart = charts.line_chart("Rate", "spans/s", [("rate", Series({}, [(0, 0.0), (60, 3.2)]))],
                              start=0, end=60)
    [line] = chart.lines
    first, last = line.points.split()
    assert first == f"{charts.LEFT:.1f},{charts.HEIGHT - charts.BOTTOM:.1f}"
    assert last.startswith(f"{charts.WIDTH - charts.RIGHT:.1f},")
    assert [text for _, text in chart.y_labels] == ["0", "2.5", "5"]


def test_exemplars_keep_the_slowest_per_slot_and_link_their_trace() -> None:
    exemplars = [Exemplar(10.0, 5.0, "a" * 32), Exemplar(10.1, 9.0, "b" * 32),
                 Exemplar(50.0, 1.0, "c" * 32), Exemplar(500.0, 99.0, "d" * 32)]
    chart = charts.line_chart("Latency", "ms", [], start=0, end=60, exemplars=exemplars)
    assert [p.trace_id[0] for p in chart.points] == ["b", "c"]     # d is outside the window


def test_an_empty_chart_says_so() -> None:
    assert charts.line_chart("Cost", "USD/h", [], 0, 60).empty


def test_the_graph_reads_left_to_right_along_the_flow() -> None:
    edges = [service_graph.Edge(WORKER, "tradetrace", "database", 2.0),
             service_graph.Edge(SIGNAL_GENERATOR, TRIGGER_DISPATCHER, "messaging_system", 1),
             service_graph.Edge(TRIGGER_DISPATCHER, WORKER, "messaging_system", 1.0)]
    picture = service_graph.layout(edges)
    x = {node.name: node.x for node in picture.nodes}
    assert x[SIGNAL_GENERATOR] < x[TRIGGER_DISPATCHER] < x[WORKER] < x["tradetrace"]
    assert len(picture.edges) == 3


def test_a_cycle_does_not_loop_forever() -> None:
    picture = service_graph.layout([service_graph.Edge("a", "b", "", 1.0),
                                    service_graph.Edge("b", "a", "", 1.0)])
    assert {node.name for node in picture.nodes} == {"a", "b"}


def test_label_values_are_quoted_for_promql() -> None:
    assert label('x"} or vector(1) #') == '"x\\"} or vector(1) #"'
