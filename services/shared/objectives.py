"""A pipeline's latency objective: which share of its runs must start within how long of
their origin (the signal's generation; a periodic or manual run's queueing).

Set per pipeline through the API (and `tradetrace pipelines objective`); where a pipeline
sets none, the platform's default (`TRADETRACE_LATENCY_OBJECTIVE_MS`, `..._TARGET`) applies.
The worker judges each finished run against it and says so on the run's span; the collector
counts the runs that met and missed it and the misses the objective allows, from which the
burn-rate alerts are computed (prometheus/rules/). The bounds live here, for the API's
validation and the settings' alike.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_MS, MAX_MS = 1, 3_600_000             # a millisecond to an hour
MIN_TARGET, MAX_TARGET = 0.5, 0.9999      # a budget of half the runs to one in ten thousand


@dataclass(frozen=True)
class LatencyObjective:
    start_within_ms: int
    target: float                          # the share of runs that must start in time

    def met(self, start_ms: float) -> bool:
        return start_ms <= self.start_within_ms


def objective_for(start_within_ms: int | None, target: float | None,
                  default: LatencyObjective) -> LatencyObjective:
    """A pipeline's objective: its own values, each one it leaves empty the platform's."""
    return LatencyObjective(start_within_ms or default.start_within_ms, target or default.target)
