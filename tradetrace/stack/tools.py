"""Go programs the benchmarks run beside the stack, installed with `go install` and cached by
version like the stack's builds (they are never part of the stack itself)."""

from __future__ import annotations

from pathlib import Path

from tradetrace.stack.paths import cache_dir
from tradetrace.stack.steps import require_program, run

TELEMETRYGEN_MODULE = "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen"
# An independent OTLP load generator. The module proxy here serves none at the collector's
# release (0.159.0); the nearest it serves speaks the same OTLP.
TELEMETRYGEN_VERSION = "0.161.0"


def telemetrygen() -> Path:
    """The telemetrygen binary, installed on first use (~1 minute) into the cache."""
    bin_dir = cache_dir() / f"telemetrygen-{TELEMETRYGEN_VERSION}"
    binary = bin_dir / "telemetrygen"
    if not binary.is_file():
        go = require_program("telemetrygen", "go", "to install the OTLP load generator")
        run(f"install telemetrygen v{TELEMETRYGEN_VERSION}",
            [go, "install", f"{TELEMETRYGEN_MODULE}@v{TELEMETRYGEN_VERSION}"],
            bin_dir / "install.log", env={"GOBIN": str(bin_dir), "CGO_ENABLED": "0"},
            cwd=cache_dir())
    return binary
