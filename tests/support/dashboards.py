"""The dashboards' queries as Grafana sends them, for the tests that run them."""

from __future__ import annotations

import re
from typing import Any

from tradetrace.dashboards import BUILDERS, model


def with_variables(expr: str, dashboard: dict[str, Any],
                   chosen: dict[str, str] | None = None) -> str:
    """The query with each label variable at a chosen value (escaped, as Grafana escapes a
    value in a regex matcher) or at "All" (its `allValue`), a text box at its default."""
    for variable in dashboard["templating"]["list"]:
        name = variable["name"]
        if chosen is not None and name in chosen:
            value = re.escape(chosen[name])
        else:
            value = variable.get("allValue") or variable["query"]
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return expr


def panel_queries() -> list[tuple[str, str, str, str]]:
    """(dashboard, panel title, refId, query with its variables) of every panel target."""
    return [(stem, panel["title"], target["refId"], target["expr"])
            for stem in BUILDERS
            for panel in model(stem)["panels"]
            for target in panel["targets"]]
