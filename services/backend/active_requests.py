"""Requests in flight by method and route (http_server_active_requests{method, route}).

The FastAPI instrumentation's gauge has no route: the conventions count a request before
routing. A dependency runs after routing, so it knows the route; it adds one on entry and
takes it back after the response.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from opentelemetry import metrics

from tracing import attributes as attr

_in_flight = metrics.get_meter("tradetrace.backend").create_up_down_counter(
    "http.server.active_requests", unit="{request}",
    description="HTTP requests being handled, by method and route")


async def track_active_request(request: Request) -> AsyncIterator[None]:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    attributes = {attr.HTTP_REQUEST_METHOD: request.method, attr.HTTP_ROUTE: route}
    _in_flight.add(1, attributes)
    try:
        yield
    finally:
        _in_flight.add(-1, attributes)
