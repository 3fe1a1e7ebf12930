"""How a long-running service starts its loop and learns it should stop."""

from __future__ import annotations

import gc
import signal

# Allocations (less deallocations) between two collections of the youngest generation;
# Python's default is 700. The signal path allocates a few hundred objects per signal (spans,
# messages, rows), so at the default it collected every few signals and, every hundredth
# time, scanned the whole heap (~130,000 objects, 70-90 ms each with the span queue full).
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_heap() -> None:
    """Call once set up, before the main loop: what is loaded by then (modules, clients,
    the tracer provider) lives as long as the process, so it is frozen out of every later
    collection, and the young generation is collected less often. Measured on the
    dispatcher's batch loop: ~10% less CPU per signal, tracing on or off."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


class StopRequested:
    """Set by SIGTERM or SIGINT, so the main loop finishes its batch and shuts down cleanly
    (flushing producers and spans) instead of dying mid-batch."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, *_: object) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested
