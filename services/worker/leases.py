"""Keeping a running execution's lease: while a run lives, its row's lease and the pipeline's
running lock are renewed, so that only a dead worker's run is ever taken over
(services/shared/executions.py says who may take a row over, and when)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry.instrumentation.utils import suppress_instrumentation

from services.shared.clients import INFRASTRUCTURE_ERRORS
from services.shared.db import session_scope
from services.shared.executions import renew_lease
from services.shared.running import RunningLocks
from services.shared.settings import Settings
from services.shared.tasks import PipelineRun
from services.worker.execution import PRE_PING

log = logging.getLogger(__name__)


@dataclass
class _Kept:
    """A run whose lease is kept; `lock` is held while it is renewed and when it is let go."""

    run: PipelineRun
    task_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    kept: bool = True


class LeaseKeeper:
    """While a run lives, renew its row's lease and the pipeline's running lock every third
    of the lease, so that only a dead worker's run is ever taken over. One thread per process
    renews every run the process has (a thread started and joined per run cost ~5% of an
    execution's CPU: py-spy); it starts with the process's first run (after the fork).

    The renewals are not traced (they would be a trace of their own every few seconds)."""

    def __init__(self, settings: Settings, locks: RunningLocks) -> None:
        self.settings, self.locks = settings, locks
        self.runs: dict[str, _Kept] = {}
        self.runs_lock = threading.Lock()
        self.thread: threading.Thread | None = None

    @contextmanager
    def keeping(self, run: PipelineRun, task_id: str) -> Iterator[None]:
        """Keep the run's lease for the block; once it ends, no renewal of it follows (one
        under way is waited for: it would take the lock the run then releases)."""
        kept = _Kept(run, task_id)
        with self.runs_lock:
            self.runs[run.execution_id] = kept
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._renew_all, name="leases",
                                               daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with kept.lock:
                kept.kept = False
            with self.runs_lock:
                self.runs.pop(run.execution_id, None)

    def _renew_all(self) -> None:
        interval = self.settings.execution_lease_seconds / 3
        while True:
            time.sleep(interval)
            with self.runs_lock:
                runs = list(self.runs.values())
            for kept in runs:
                with kept.lock, suppress_instrumentation():
                    if kept.kept:
                        self._renew(kept)

    def _renew(self, kept: _Kept) -> None:
        run = kept.run
        try:
            with session_scope(self.settings.database_url, PRE_PING) as session:
                owned = renew_lease(session, run.execution_id, kept.task_id,
                                    self.settings.execution_lease_seconds)
            if owned:
                self.locks.renew(run.pipeline_id, run.lock_token)
            else:
                log.warning("execution %s was taken over; this run's outcome will not be "
                            "recorded", run.execution_id)
        except INFRASTRUCTURE_ERRORS as error:  # the next renewal may get through
            log.warning("lease of %s not renewed: %s", run.execution_id, error)
