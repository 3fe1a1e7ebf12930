"""The Grafana dashboards as code, built with Grafana's Foundation SDK.

`grafana/dashboards/*.json` is what this package renders (`tradetrace dashboards build`): the
files compose provisions, kept in the repository so a user with Grafana needs no Python. A
unit test fails when a file and its module disagree, and the integration test runs every
panel's query against the real Prometheus with each variable at "All" and at a chosen value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from tradetrace.dashboards import infrastructure, overview, pipelines, red, signals, slo
from tradetrace.stack.paths import REPO_ROOT

DIRECTORY = REPO_ROOT / "grafana" / "dashboards"

# File stem -> its builder; compose's home dashboard is overview.json.
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    "overview": overview.build,
    "signals": signals.build,
    "pipelines": pipelines.build,
    "slo": slo.build,
    "red": red.build,
    "infrastructure": infrastructure.build,
}


GRID_WIDTH = 24


def _lay_out(panels: list[dict[str, Any]]) -> None:
    """Place panels left to right in the order written, wrapping when one does not fit, each
    as high as the panels above it allow (as Grafana floats panels up).

    The SDK's own placement lets a full-width panel start mid-row."""
    bottom = [0] * GRID_WIDTH              # per grid column, where its lowest panel ends
    x = 0
    for panel in panels:
        grid = panel["gridPos"]
        if x + grid["w"] > GRID_WIDTH:
            x = 0
        columns = range(x, x + grid["w"])
        grid["x"], grid["y"] = x, max(bottom[c] for c in columns)
        for column in columns:
            bottom[column] = grid["y"] + grid["h"]
        x += grid["w"]


def model(stem: str) -> dict[str, Any]:
    """One dashboard as Grafana's JSON model, its panels laid out and numbered in order
    (Grafana keys a panel's links and state on its id)."""
    rendered: dict[str, Any] = json.loads(json.dumps(BUILDERS[stem]().build(), cls=JSONEncoder))
    _lay_out(rendered["panels"])
    for number, panel in enumerate(rendered["panels"], start=1):
        panel["id"] = number
    return rendered


def render(stem: str) -> str:
    return json.dumps(model(stem), indent=2, sort_keys=True) + "\n"


def write(directory: Path = DIRECTORY) -> list[Path]:
    """Render every dashboard into `directory`; returns the files that changed."""
    changed = []
    for stem in BUILDERS:
        path = directory / f"{stem}.json"
        text = render(stem)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def stale(directory: Path = DIRECTORY) -> list[str]:
    """The dashboard files that differ from what their modules render, or have no module."""
    files = {path.stem for path in directory.glob("*.json")}
    return sorted((files - BUILDERS.keys()) | {
        stem for stem in BUILDERS
        if stem not in files or (directory / f"{stem}.json").read_text() != render(stem)})
