"""Liveness of a long-running service: a file its main loop touches while it lives.

A process can be up and stuck (a hung call, a dead loop thread); a heartbeat file whose age
stays small says the loop still turns. `services status` and the compose healthchecks read it;
`python -m services.shared.heartbeat FILE [MAX_AGE]` exits 0 when it is fresh.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

# A service counts as alive while its heartbeat is younger than this.
MAX_AGE_SECONDS = 30.0


class Heartbeat:
    """`beat()` from the loop; it writes at most every `interval` seconds, so it is cheap."""

    def __init__(self, path: Path | None, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._last = float("-inf")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def beat(self) -> None:
        now = time.monotonic()
        if self.path is None or now - self._last < self.interval:
            return
        self.path.write_text(f"{time.time():.3f}\n")
        self._last = now

    def beat_in_background(self) -> None:
        """For a process whose loop is not ours (Celery's worker, beat): beat from a daemon
        thread for as long as the process lives."""
        def run() -> None:
            while True:
                self.beat()
                time.sleep(self.interval)

        threading.Thread(target=run, name="heartbeat", daemon=True).start()


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the last beat; None if the service never beat."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def alive(path: Path, max_age: float = MAX_AGE_SECONDS) -> bool:
    age = heartbeat_age(path)
    return age is not None and age < max_age


if __name__ == "__main__":
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else MAX_AGE_SECONDS
    sys.exit(0 if alive(Path(sys.argv[1]), limit) else 1)
