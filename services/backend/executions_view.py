"""An execution as the API shows it, with a link to its trace in Jaeger."""

from __future__ import annotations

from services.backend.schemas import ExecutionOut
from services.shared.db import Execution
from services.shared.settings import Settings


def execution_out(execution: Execution, settings: Settings) -> ExecutionOut:
    out = ExecutionOut.model_validate(execution)
    if execution.trace_id:
        out.trace_url = settings.trace_url(execution.trace_id)
    return out
