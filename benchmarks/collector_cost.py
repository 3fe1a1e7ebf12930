"""What our collector configuration costs against a plain one, per 10,000 spans.

The same binary runs either `collector/spanmetrics.yaml` ("ours": the RED and named-metric
connectors, tail sampling, redaction, transforms) or `collector-plain.yaml` beside it (OTLP in,
batch, OTLP to Jaeger), as a fresh process per round on ports of its own, the two interleaved
round by round. Two workloads drive it: telemetrygen (the collector project's independent load
generator, at a fixed rate) and our own traffic (the dispatcher round of `fast_path.py`: the
generator's and the dispatcher's spans, logs and metrics). A round ends when every span the
collector accepted has been exported to Jaeger (tail sampling's decision wait is cut to
DECISION_WAIT so that it ends soon); its CPU time (user + system, from /proc) and peak RSS
(VmHWM) are then read, and for ours the number of series its metrics endpoint exposes.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from proc import cpu_seconds, peak_rss_mib

from tests.support.polling import eventually
from tests.support.prometheus import exposed, exposed_sum
from tradetrace.stack import Stack
from tradetrace.stack.components.collector import CONFIG, CollectorOnOwnPorts
from tradetrace.stack.process import running_pid
from tradetrace.stack.tools import telemetrygen

PLAIN = Path(__file__).with_name("collector-plain.yaml")
CONFIGS = {"ours": (CONFIG,), "plain": (PLAIN,)}
DECISION_WAIT = "2s"
# telemetrygen: WORKERS x TRACES traces of 1 + CHILD_SPANS spans, RATE spans/s per worker.
WORKERS, TRACES, CHILD_SPANS, RATE = 2, 3000, 4, 5000
TELEMETRYGEN_SPANS = WORKERS * TRACES * (1 + CHILD_SPANS)
OWN_SIGNALS = 800               # the dispatcher round's signals (one pipeline each)
EXPORTER = "otlp_grpc/jaeger"


def collector_rounds(env: dict[str, str], rounds: int,
                     summary: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Both workloads, each with the two configurations interleaved for `rounds` rounds."""
    generator = telemetrygen()
    workloads: dict[str, Callable[[str], None]] = {
        "telemetrygen": lambda endpoint: _telemetrygen(generator, endpoint),
        "our_traffic": lambda endpoint: _our_traffic(env, endpoint),
    }
    results: dict[str, Any] = {"decision_wait": DECISION_WAIT,
                               "telemetrygen_spans": TELEMETRYGEN_SPANS,
                               "own_signals": OWN_SIGNALS}
    for name, workload in workloads.items():
        samples: dict[str, list[dict[str, float]]] = {config: [] for config in CONFIGS}
        for _ in range(rounds):
            for config in CONFIGS:
                samples[config].append(collector_round(config, workload))
        results[name] = summary(samples, ratio=("ours", "plain"))
    return results


def collector_round(config: str, workload: Callable[[str], None]) -> dict[str, float]:
    """One fresh collector of `config` through `workload`: its cost per 10,000 spans."""
    collector = CollectorOnOwnPorts(Path(tempfile.mkdtemp(prefix="bench-collector-")),
                                    configs=CONFIGS[config],
                                    env={"TRACE_DECISION_WAIT": DECISION_WAIT})
    with Stack([collector]).running():
        pid = running_pid(collector.pid_path)
        assert pid is not None
        before = cpu_seconds(pid)
        workload(collector.otlp_grpc_endpoint)
        spans = _wait_exported(collector.self_metrics_url)
        cpu = cpu_seconds(pid) - before
        figures = {"spans": spans, "cpu_s_per_10k_spans": cpu * 10_000 / spans,
                   "peak_rss_mib": peak_rss_mib(pid)}
        if config == "ours":
            figures["series"] = len(exposed(collector.metrics_url))
    return figures


def _telemetrygen(binary: Path, endpoint: str) -> None:
    subprocess.run([str(binary), "traces", "--otlp-endpoint", endpoint.removeprefix("http://"),
                    "--otlp-insecure", "--service", "bench-telemetrygen",
                    "--workers", str(WORKERS), "--traces", str(TRACES),
                    "--child-spans", str(CHILD_SPANS), "--rate", str(RATE)],
                   check=True, capture_output=True, timeout=300)


def _our_traffic(env: dict[str, str], endpoint: str) -> None:
    """The dispatcher round of fast_path.py, tracing on, exporting to this collector."""
    subprocess.run([sys.executable, str(Path(__file__).with_name("fast_path.py")),
                    "--round", "1", str(OWN_SIGNALS)],
                   env={**env, "OTEL_SDK_DISABLED": "false",
                        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint},
                   check=True, capture_output=True, timeout=600)


def _wait_exported(self_metrics_url: str, timeout: float = 120) -> float:
    """The spans the collector accepted, once all of them reached Jaeger (bounded)."""
    def exported() -> float | None:
        samples = exposed(self_metrics_url)
        accepted = exposed_sum(samples, "otelcol_receiver_accepted_spans_total")
        sent = exposed_sum(samples, "otelcol_exporter_sent_spans_total", exporter=EXPORTER)
        return accepted if accepted and sent >= accepted else None

    return eventually(exported, "every accepted span sent to Jaeger", timeout=timeout)
