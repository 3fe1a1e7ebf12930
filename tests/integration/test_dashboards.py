"""Every panel query of every dashboard returns data from the real Prometheus.

Grafana cannot run here; its dashboards are only queries against Prometheus, so running each
query after real traffic (failures included) is what stands in for opening them.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.integration.platform_helpers import FAST, create_pipeline, run_generator
from tests.support.polling import eventually
from tests.support.prometheus import instant
from tradetrace.stack.paths import REPO_ROOT

PANEL_QUERIES = [
    pytest.param(target["expr"], id=f"{path.stem}:{panel['title']}:{target['refId']}")
    for path in sorted((REPO_ROOT / "grafana" / "dashboards").glob("*.json"))
    for panel in json.loads(path.read_text())["panels"]
    for target in panel["targets"]
]


@pytest.fixture(scope="module")
def traffic(api: httpx.Client, platform, platform_env) -> None:
    """Signals from the real generator, runs that succeed and fail, HTTP requests."""
    import secrets

    tickers = [f"D{secrets.token_hex(3).upper()}", f"E{secrets.token_hex(3).upper()}"]
    create_pipeline(api, f"dash-ok-{tickers[0]}", tickers)
    failing = create_pipeline(api, f"dash-fail-{tickers[1]}", [tickers[1]], agents=[
        {"name": "market_data", "params": {**FAST, "fail": True}}])
    time.sleep(1.0)
    for _ in range(4):
        api.post(f"/pipelines/{failing['id']}/run")
        time.sleep(0.5)
    run_generator(platform_env, platform.state.parent, tickers, count=8, per_second=4)


@pytest.mark.parametrize("query", PANEL_QUERIES)
def test_panel_query_returns_data(query: str, traffic, prometheus: httpx.Client) -> None:
    eventually(lambda: instant(prometheus, query), f"data for {query}", timeout=90, interval=2)
