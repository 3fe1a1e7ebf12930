"""The Grafana dashboards: generated from their modules, unique uids, a datasource variable
that Grafana provisions, variables that filter, exemplars on every latency panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tradetrace.dashboards import BUILDERS, model, stale, write
from tradetrace.dashboards.parts import DATASOURCE, DEFAULT_DATASOURCE_UID, LATENCY_UNITS
from tradetrace.stack.paths import REPO_ROOT

GRAFANA = REPO_ROOT / "grafana"
MODELS = {stem: model(stem) for stem in BUILDERS}


def _provisioned() -> dict[str, str]:
    spec = yaml.safe_load((GRAFANA / "provisioning/datasources/datasources.yml").read_text())
    return {ds["uid"]: ds["type"] for ds in spec["datasources"]}


def test_the_files_compose_provisions_are_what_the_modules_render() -> None:
    assert stale() == [], "run `tradetrace dashboards build`"


def test_a_changed_or_unknown_file_is_stale(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale(tmp_path) == []
    (tmp_path / "red.json").write_text("{}")
    (tmp_path / "hand-written.json").write_text("{}")
    assert stale(tmp_path) == ["hand-written", "red"]


def test_the_six_dashboards_have_unique_uids() -> None:
    uids = [dashboard["uid"] for dashboard in MODELS.values()]
    assert len(uids) == 6 and len(set(uids)) == 6


def test_every_panel_reads_the_datasource_variable_whose_default_is_provisioned() -> None:
    for stem, dashboard in MODELS.items():
        [variable] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
        assert variable["name"] == "datasource" and variable["query"] == "prometheus"
        assert _provisioned()[variable["current"]["value"]] == "prometheus"
        assert variable["current"]["value"] == DEFAULT_DATASOURCE_UID
        for panel in dashboard["panels"]:
            for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
                assert source == {"type": "prometheus", "uid": DATASOURCE.uid}, (stem,
                                                                               panel["title"])


def test_panels_have_queries_ids_and_fit_the_grid_without_overlap() -> None:
    for stem, dashboard in MODELS.items():
        panels = dashboard["panels"]
        assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
        cells: set[tuple[int, int]] = set()
        for panel in panels:
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (stem, panel["title"])
            mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                    for y in range(grid["y"], grid["y"] + grid["h"])}
            assert not cells & mine, (stem, panel["title"])
            cells |= mine


LABEL_VARIABLES = {"service", "pipeline", "ticker"}


@pytest.mark.parametrize("stem", sorted(BUILDERS))
def test_each_label_variable_filters_a_query_of_its_dashboard(stem: str) -> None:
    """A variable no query reads would look like a filter and change nothing."""
    dashboard = MODELS[stem]
    declared = {v["name"] for v in dashboard["templating"]["list"]} & LABEL_VARIABLES
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert declared, stem
    for name in declared:
        assert any(f"${name}" in expr for expr in exprs), (stem, name)
    used = {name for expr in exprs for name in re.findall(r"\$(\w+)", expr)}
    assert used <= declared, (stem, used - declared)


def test_every_latency_histogram_query_asks_for_exemplars() -> None:
    """A point on a latency panel opens the trace it came from (via the datasource's
    exemplarTraceIdDestinations)."""
    latency = 0
    for stem, dashboard in MODELS.items():
        for panel in dashboard["panels"]:
            if panel["fieldConfig"]["defaults"].get("unit") not in LATENCY_UNITS:
                continue
            for target in panel["targets"]:
                if "_bucket" in target["expr"]:
                    latency += 1
                    assert target["exemplar"] is True, (stem, panel["title"])
    assert latency >= 12


def test_exemplars_link_to_jaeger() -> None:
    spec = yaml.safe_load((GRAFANA / "provisioning/datasources/datasources.yml").read_text())
    prometheus = next(ds for ds in spec["datasources"] if ds["type"] == "prometheus")
    [destination] = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert destination == {"name": "trace_id", "datasourceUid": "jaeger"}


def test_the_objectives_dashboard_links_to_the_explorers_objective_page() -> None:
    """Its `explorer` variable defaults to the explorer's own default address, and its link
    names a route the explorer serves."""
    from services.backend.explorer.pages import pages
    from services.shared.settings import Settings

    dashboard = json.loads((GRAFANA / "dashboards/slo.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["explorer"]["query"] == Settings(_env_file=None).explorer_base_url()
    [link] = dashboard["links"]
    path = link["url"].removeprefix("${explorer}").split("?")[0]
    assert f"/explorer{path}".replace("${pipeline}", "{pipeline_id}") in {
        route.path for route in pages.routes}
