"""The Grafana dashboards as files: unique uids, provisioned datasources, sound panels."""

from __future__ import annotations

import json

import yaml

from tradetrace.stack.paths import REPO_ROOT

GRAFANA = REPO_ROOT / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _provisioned_uids() -> set[str]:
    spec = yaml.safe_load((GRAFANA / "provisioning/datasources/datasources.yml").read_text())
    return {ds["uid"] for ds in spec["datasources"]}


def test_the_six_dashboards_have_unique_uids() -> None:
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == 6 and len(set(uids)) == 6


def test_every_datasource_a_panel_names_is_provisioned() -> None:
    provisioned = _provisioned_uids()
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            named = {panel["datasource"]["uid"]} | {t["datasource"]["uid"]
                                                    for t in panel["targets"]}
            assert named <= provisioned, (path.name, panel["title"])


def test_panels_have_queries_ids_and_fit_the_grid() -> None:
    for path in DASHBOARDS:
        panels = json.loads(path.read_text())["panels"]
        assert len({p["id"] for p in panels}) == len(panels), path.name
        for panel in panels:
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (path.name, panel["title"])


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
    default = Settings(_env_file=None).explorer_base_url()
    assert variables["explorer"]["query"] == variables["explorer"]["current"]["value"] == default
    [link] = dashboard["links"]
    path = link["url"].removeprefix("${explorer}").split("?")[0]
    assert f"/explorer{path}".replace("${pipeline}", "{pipeline_id}") in {
        route.path for route in pages.routes}
