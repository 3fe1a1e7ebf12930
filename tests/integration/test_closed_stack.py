"""The native stack's Prometheus takes no orders: no lifecycle API (nobody on the machine can
stop or reload it), no admin API (nor delete series), no remote-write receiver (nobody writes
series into it)."""

from __future__ import annotations

import httpx


def test_prometheus_cannot_be_stopped_or_written_to(prometheus: httpx.Client) -> None:
    for path in ("/-/quit", "/-/reload", "/api/v1/write"):
        response = prometheus.post(path)
        assert response.status_code in (403, 404, 405), (path, response.status_code)
    # Prometheus 2.42 answers a disabled admin API with 500 "unavailable", saying why.
    admin = prometheus.post("/api/v1/admin/tsdb/delete_series", params={"match[]": "up"})
    assert admin.json()["error"] == "admin APIs disabled"
    assert prometheus.get("/-/ready").status_code == 200        # and it is still there
