"""How a long-running service learns it should stop."""

from __future__ import annotations

import signal


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
