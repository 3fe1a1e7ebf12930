"""The services' JSON log lines written inside a trace (tracing/logs.py writes them), read
back from their files."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class LogLine:
    """A service's log line written inside the trace (tracing/logs.py writes them as JSON)."""

    time: datetime
    service: str
    level: str
    message: str
    span_id: str | None
    trace_id: str | None

    def as_dict(self) -> dict[str, object]:
        return {"time": self.time.isoformat(), "service": self.service, "level": self.level,
                "message": self.message, "span_id": self.span_id}


def trace_logs(trace_id: str, log_files: Iterable[Path],
               tail_bytes: int | None = None) -> list[LogLine]:
    """The JSON log lines of these files that carry the trace id, in time order (lines that
    are not JSON, a traceback's continuation say, are passed over). With `tail_bytes`, only
    each file's last bytes are read: a page that must answer fast looks at recent lines."""
    found: list[LogLine | None] = []
    for path in log_files:
        try:
            with open(path, errors="replace") as lines:     # read as a stream: logs grow large
                if tail_bytes is not None and path.stat().st_size > tail_bytes:
                    lines.seek(path.stat().st_size - tail_bytes)
                    lines.readline()                         # the rest of a cut line
                found += [_log_line(line) for line in lines if trace_id in line]
        except OSError:
            continue
    return sorted((line for line in found if line is not None and line.trace_id == trace_id),
                  key=lambda line: line.time)


def _log_line(text: str) -> LogLine | None:
    try:
        record = json.loads(text)
        return LogLine(datetime.fromisoformat(record["time"]), str(record.get("service.name")),
                       str(record.get("level")), str(record.get("message")),
                       record.get("span_id"), record.get("trace_id"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
