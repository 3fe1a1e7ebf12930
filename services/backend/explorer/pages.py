"""The signal explorer's pages: the latest signals, one signal end to end, the RED view, a
pipeline's objective, the DLQ.

Server-rendered (Jinja2, every value escaped), read from the executions table, the
dispatcher's records in Redis, Jaeger's query API and Prometheus' HTTP API; no database of
its own. A component
that is away (Jaeger, say) is named on the page, which shows what the others hold.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.backend.deps import RedisDep, SessionDep, SettingsDep
from services.backend.explorer import blame, dead_letters, diff, objective, red
from services.backend.explorer import funnel as funnel_view
from services.backend.explorer import signals as signal_store
from services.backend.explorer.access import (
    COOKIE,
    PREFIX,
    key_reads,
    require_page_reader,
    safe_next,
)
from services.backend.explorer.prometheus import PrometheusAway, prometheus
from services.backend.explorer.server_timing import ServerTiming
from services.backend.explorer.traces import read_trace
from services.backend.explorer.waterfall import layout
from services.shared.db import ExecutionStatus, may_name_a_pipeline
from services.shared.settings import Settings
from trace_reader.logs import trace_logs

HERE = Path(__file__).parent
TRACE_ID = re.compile(r"[0-9a-f]{32}")
LOG_TAIL_BYTES = 16 * 1024 * 1024    # of each service's log: a signal's lines are recent
templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=True, undefined=jinja2.StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)


class _Stylesheet(StaticFiles):
    """The stylesheet, cached by the browser for a while: each page would otherwise ask the
    backend again whether it changed (a round trip through the whole middleware stack)."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


static = _Stylesheet(directory=HERE / "static")

router = APIRouter(prefix=PREFIX, include_in_schema=False)
pages = APIRouter(prefix=PREFIX, include_in_schema=False,
                  dependencies=[Depends(require_page_reader)])


def _page(template: str, **values: object) -> HTMLResponse:
    html = templates.get_template(template).render(prefix=PREFIX, **values)
    return HTMLResponse(html, headers={
        # No script at all (an injected one would not run even if it slipped past the
        # escaping); inline styles place the waterfall's bars.
        "Content-Security-Policy": "default-src 'none'; style-src 'self' 'unsafe-inline'; "
                                   "img-src 'self' data:; form-action 'self'; "
                                   "frame-ancestors 'none'",
        "Cache-Control": "no-store"})


@router.get("/login")
def login_form(next: str | None = None) -> HTMLResponse:
    return _page("login.html", next=safe_next(next), failed=False)


@router.post("/login")
def login(session: SessionDep, key: Annotated[str, Form()],
          next: Annotated[str | None, Form()] = None) -> Response:
    if not key_reads(session, key.strip()):
        page = _page("login.html", next=safe_next(next), failed=True)
        page.status_code = 401
        return page
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(COOKIE, key.strip(), httponly=True, samesite="strict", path=PREFIX)
    return response


@pages.get("")
def home() -> RedirectResponse:
    return RedirectResponse(f"{PREFIX}/signals", status_code=303)


@pages.get("/signals")
def signal_list(session: SessionDep, redis_client: RedisDep,
                ticker: str | None = None, status: str | None = None,
                since: str | None = None, until: str | None = None,
                q: str | None = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
    wanted = signal_store.SignalFilter(
        ticker=ticker or None, status=_status(status), since=_time(since), until=_time(until),
        search=q or None, limit=limit)
    rows = signal_store.with_dispatch(redis_client,
                                      signal_store.latest_signals(session, wanted))
    if not wanted.status and not wanted.search:
        rows = signal_store.newest_first(
            rows + signal_store.without_executions(redis_client, wanted, rows), limit)
    if q and len(rows) == 1:            # a search that names one signal opens it
        return RedirectResponse(f"{PREFIX}/signals/{rows[0].signal_id}", status_code=303)
    if q and not rows and signal_store.dispatch_of(redis_client, q.strip()):
        # A signal without executions (every match skipped, say): the dispatcher's record.
        return RedirectResponse(f"{PREFIX}/signals/{q.strip()}", status_code=303)
    return _page("signals.html", rows=rows, wanted=wanted,
                 statuses=[s.value for s in ExecutionStatus],
                 default_hours=round(signal_store.DEFAULT_WINDOW.total_seconds() / 3600))


@pages.get("/signals/{signal_id}")
def signal_page(signal_id: str, session: SessionDep, redis_client: RedisDep,
                settings: SettingsDep) -> HTMLResponse:
    timings = ServerTiming()
    with timings.part("db"):
        executions = signal_store.signal_executions(session, signal_id)
    with timings.part("redis"):
        dispatch = signal_store.dispatch_of(redis_client, signal_id)
    trace_id = next((row.execution.trace_id for row in executions
                     if row.execution.trace_id), None)
    trace = _trace_view(settings, trace_id, timings)
    with timings.part("render"):
        page = _page("signal.html", signal_id=signal_id, executions=executions,
                     dispatch=dispatch,
                     signal=executions[0].execution.signal if executions else None, **trace)
    page.status_code = 200 if executions or dispatch or trace["waterfall"] else 404
    page.headers["Server-Timing"] = timings.header()
    return page


@pages.get("/signals/{signal_id}/diff")
def diff_page(signal_id: str, session: SessionDep, settings: SettingsDep,
              other: Annotated[str, Query(alias="with")] = "", window: str = "24h"
              ) -> HTMLResponse:
    """The signal against another (`with`), or against its pipelines' typical runs."""
    window = window if window in objective.WINDOWS else "24h"
    timings = ServerTiming()
    with timings.part("db+jaeger"):
        view = diff.build(session, signal_id, other.strip() or diff.TYPICAL, window,
                          settings.jaeger_query_url)
    if view is None:
        missing = _page("not_found.html", what=f"finished run of signal {signal_id}")
        missing.status_code = 404
        return missing
    with timings.part("render"):
        page = _page("diff.html", view=view, typical=diff.TYPICAL,
                     windows=list(objective.WINDOWS))
    page.headers["Server-Timing"] = timings.header()
    return page


@pages.get("/traces/{trace_id}")
def trace_page(trace_id: str, session: SessionDep, settings: SettingsDep) -> Response:
    """A trace's page: its signal's, when it has one (the links of the API and RED charts)."""
    trace_id = trace_id.lower()
    if not TRACE_ID.fullmatch(trace_id):
        return _page("signal.html", signal_id=None, executions=[], dispatch=None, signal=None,
                     trace_id=None, waterfall=None, logs=[], jaeger_link=None, xray_link=None,
                     trace_problem="a trace id is 32 hexadecimal digits")
    signal_id = signal_store.trace_signal_id(session, trace_id)
    if signal_id:
        return RedirectResponse(f"{PREFIX}/signals/{signal_id}", status_code=303)
    trace = _trace_view(settings, trace_id, ServerTiming())
    page = _page("signal.html", signal_id=None, executions=[], dispatch=None, signal=None,
                 **trace)
    page.status_code = 200 if trace["waterfall"] else 404
    return page


def _trace_view(settings: Settings, trace_id: str | None, timings: ServerTiming) -> dict:
    """What a page shows of a trace: its waterfall (or why not), its log lines, and links to
    Jaeger's UI where there is one and to X-Ray on AWS."""
    with timings.part("jaeger"):
        waterfall, problem = _waterfall(settings.jaeger_query_url, trace_id)
    with timings.part("logs"):
        logs = trace_logs(trace_id, settings.service_log_files, LOG_TAIL_BYTES) \
            if trace_id else []
    return {"trace_id": trace_id, "waterfall": waterfall, "trace_problem": problem,
            "logs": logs,
            "jaeger_link": settings.trace_url(trace_id) if trace_id and settings.jaeger_ui_url
            else None,
            "xray_link": settings.xray_url(trace_id) if trace_id else None}


@pages.get("/pipelines/{pipeline_id}/objective")
def objective_page(pipeline_id: int, session: SessionDep, settings: SettingsDep,
                   window: str = "24h") -> HTMLResponse:
    """A pipeline's latency objective over a window: what the objective's alerts link to."""
    window = window if window in objective.WINDOWS else "24h"
    return _pipeline_page(pipeline_id, "objective.html", lambda: objective.build(
        session, pipeline_id, settings.default_objective(), window))


@pages.get("/pipelines/{pipeline_id}/blame")
def blame_page(pipeline_id: int, session: SessionDep, window: str = "24h") -> HTMLResponse:
    """Where the pipeline's time from origin goes, for its median and its p99 run."""
    window = window if window in objective.WINDOWS else "24h"
    return _pipeline_page(pipeline_id, "blame.html",
                          lambda: blame.build(session, pipeline_id, window))


def _pipeline_page(pipeline_id: int, template: str,
                   build: Callable[[], object | None]) -> HTMLResponse:
    """A page of one pipeline over a window (its view built from the database), or 404."""
    timings = ServerTiming()
    with timings.part("db"):
        view = build() if may_name_a_pipeline(pipeline_id) else None
    if view is None:
        missing = _page("not_found.html", what=f"pipeline {pipeline_id}")
        missing.status_code = 404
        return missing
    with timings.part("render"):
        page = _page(template, view=view, windows=list(objective.WINDOWS))
    page.headers["Server-Timing"] = timings.header()
    return page


@pages.get("/funnel")
def funnel_page(settings: SettingsDep, redis_client: RedisDep, session: SessionDep,
                window: str = "1h", ticker: str | None = None, pipeline: str | None = None,
                step: str | None = None) -> HTMLResponse:
    timings = ServerTiming()
    with timings.part("kafka+redis+db"):
        values = funnel_view.page(settings, redis_client, session, window, ticker, pipeline,
                                  step)
    with timings.part("render"):
        page = _page("funnel.html", **values, windows=list(objective.WINDOWS))
    page.headers["Server-Timing"] = timings.header()
    return page


@pages.get("/dlq")
def dlq_page(settings: SettingsDep, redis_client: RedisDep, reason: str | None = None,
             ticker: str | None = None,
             hours: Annotated[int | None, Query(ge=1, le=24 * 366)] = None) -> HTMLResponse:
    return _page("dlq.html", **dead_letters.view(settings, redis_client, reason, ticker, hours))


@pages.get("/red")
def red_page(settings: SettingsDep, service: str | None = None, span: str | None = None,
             window: str = "1h") -> HTMLResponse:
    window = window if window in red.WINDOWS else "1h"
    try:
        view, problem = red.build(prometheus(settings.prometheus_url), service, span or None,
                                  window, time.time()), None
    except PrometheusAway as away:
        view, problem = None, str(away)
    return _page("red.html", view=view, problem=problem, windows=list(red.WINDOWS),
                 window=window)


def _waterfall(jaeger_url: str, trace_id: str | None):
    """The trace laid out, or why not."""
    trace, problem = read_trace(jaeger_url, trace_id)
    return (layout(trace), None) if trace else (None, problem)


def _status(value: str | None) -> ExecutionStatus | None:
    try:
        return ExecutionStatus(value) if value else None
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    """A time from the filter form (datetime-local, taken as UTC) or an ISO string."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def mount(app) -> None:
    app.include_router(router)
    app.include_router(pages)
    app.mount(f"{PREFIX}/static", static, name="explorer-static")
