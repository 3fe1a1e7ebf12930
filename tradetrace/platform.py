"""The platform's services as local processes: backend, worker, beat, dispatcher, generator.

They reuse the stack's process handling (pid files, logs, bounded waits). Their settings go
to them as `TRADETRACE_*` environment variables; by default they use the native stack. Each
service but the backend (which answers `/ready`) keeps a heartbeat file next to its log: it is
ready once it beats, and alive while the beat is fresh. Each runs under a supervisor
(`tradetrace/supervisor.py`) that restarts it when it exits and leaves it down on a crash loop.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from services.shared.heartbeat import MAX_AGE_SECONDS, alive, heartbeat_age
from tracing.service_names import BACKEND, BEAT, SIGNAL_GENERATOR, TRIGGER_DISPATCHER, WORKER
from tradetrace.errors import CliError, PlatformError
from tradetrace.stack import process
from tradetrace.stack.components.postgres import database_url
from tradetrace.stack.components.redis import redis_url
from tradetrace.stack.health import http_ok
from tradetrace.stack.paths import REPO_ROOT, state_dir
from tradetrace.stack.ports import port
from tradetrace.supervisor import RestartPolicy, SupervisorState


@dataclass(frozen=True)
class Service:
    name: str
    argv: list[str]
    ready: Callable[[Path], bool] | None = None   # given its heartbeat file; None: a fresh beat
    timeout: float = 60.0


@dataclass(frozen=True)
class ServiceState:
    name: str
    pid: int | None
    log: Path
    heartbeat_age: float | None     # seconds; None: no heartbeat (yet)
    supervised: bool = False        # its supervisor runs (and restarts it if it exits)
    supervisor: SupervisorState | None = None   # restarts and last exit, if ever supervised

    @property
    def alive(self) -> bool:
        if self.pid is None:
            return False
        return self.name == BACKEND or (self.heartbeat_age is not None
                                          and self.heartbeat_age < MAX_AGE_SECONDS)

    @property
    def condition(self) -> str:
        """One word for `services status`: alive, stuck (runs, no fresh beat), restarting
        (exited, its supervisor waits to start it again), crash-looped, or stopped."""
        if self.alive:
            return "alive"
        if self.pid is not None:
            return "stuck"
        if self.supervised:
            return "restarting"
        if self.supervisor is not None and self.supervisor.gave_up:
            return "crash-looped"
        return "stopped"


def default_env() -> dict[str, str]:
    """The services' settings on the native stack (its addresses and passwords); variables
    already set win."""
    defaults = {"TRADETRACE_DATABASE_URL": database_url(port("postgres")),
                "TRADETRACE_REDIS_URL": redis_url(port("redis"))}
    return {k: os.environ.get(k, v) for k, v in defaults.items()}


class Platform:
    """The services; `replicas` workers and dispatchers (the dispatchers share the signal
    topic's partitions in one consumer group, the workers one Celery queue): the second is
    named worker-2, trigger-dispatcher-2, and so on."""

    def __init__(self, env: dict[str, str] | None = None, state: Path | None = None,
                 backend_port: int = port("backend"), replicas: int = 1,
                 restart_policy: RestartPolicy | None = None) -> None:
        self.env = {**default_env(), **(env or {}), "TRADETRACE_BACKEND_PORT": str(backend_port)}
        self.state = (state or state_dir()) / "services"
        self.backend_url = f"http://127.0.0.1:{backend_port}"
        self.replicas = replicas
        self.restart_policy = restart_policy or RestartPolicy()

    def services(self) -> list[Service]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "services.worker.app"]
        workers = [Service(name, [*celery, "worker", "--loglevel=INFO",
                                  f"--hostname={name}@%h"])
                   for name in self.replica_names(WORKER)]
        dispatchers = [Service(name, [python, "-m", "services.trigger_dispatcher"])
                       for name in self.replica_names(TRIGGER_DISPATCHER)]
        return [
            Service(BACKEND, [python, "-m", "services.backend"],
                    lambda _beat: http_ok(f"{self.backend_url}/ready")),
            *workers,
            Service(BEAT, [*celery, "beat", "--loglevel=INFO",
                             f"--schedule={self.state / 'beat' / 'schedule'}"]),
            *dispatchers,
            Service(SIGNAL_GENERATOR, [python, "-m", "services.signal_generator"]),
        ]

    def replica_names(self, service: str) -> list[str]:
        """The names of a scaled service's processes: `service`, `service-2`, ..."""
        return [service, *(f"{service}-{n}" for n in range(2, self.replicas + 1))]

    def log_paths(self) -> list[Path]:
        """Every service's log file (JSON lines with trace ids: tracing/logs.py)."""
        return [self._paths(s.name)[0] for s in self.services()]

    def _paths(self, name: str) -> tuple[Path, Path]:
        """The service's log and pid file (the pid file written by its supervisor)."""
        return self.state / name / f"{name}.log", self.state / name / f"{name}.pid"

    def _supervisor_pid_path(self, name: str) -> Path:
        return self.state / name / "supervisor.pid"

    def heartbeat_path(self, name: str) -> Path:
        return self.state / name / "heartbeat"

    def pid(self, name: str) -> int | None:
        """The running service's pid (for tests that kill it), None when it is not running."""
        return process.running_pid(self._paths(name)[1])

    def _select(self, names: list[str] | None) -> list[Service]:
        known = {s.name: s for s in self.services()}
        unknown = sorted(set(names or []) - set(known))
        if unknown:
            raise CliError(f"unknown service(s) {unknown}; known: {sorted(known)}")
        return [s for s in known.values() if not names or s.name in names]

    def up(self, names: list[str] | None = None) -> list[str]:
        """Start the services not running, wait until each is ready; returns those started."""
        from services.backend.migrate import upgrade

        selected = self._select(names)       # a wrong name fails before anything is touched
        upgrade(self.env["TRADETRACE_DATABASE_URL"])  # before any service reads the tables
        log_files = json.dumps([str(path) for path in self.log_paths()])  # for the explorer
        started = []
        for service in selected:
            if self._supervisor_pid(service.name) is None:
                self._start(service, log_files)
                started.append(service)
        for service in started:
            self._wait_ready(service)
        return [s.name for s in started]

    def _start(self, service: Service, log_files: str) -> None:
        """Start the service's supervisor, which starts the service."""
        log, pid = self._paths(service.name)
        process.stop(pid)       # one started before supervision, or orphaned: not twice
        beat = self.heartbeat_path(service.name)
        beat.unlink(missing_ok=True)     # ready means a beat from this process
        env = {**self.env, "TRADETRACE_HEARTBEAT_FILE": str(beat),
               "TRADETRACE_SERVICE_LOG_FILES": log_files}
        supervisor = [sys.executable, "-m", "tradetrace.supervisor", "--name", service.name,
                      "--state", str(log.parent), *self.restart_policy.argv(), "--",
                      *service.argv]
        process.start(process.Launch(supervisor, env=env, cwd=REPO_ROOT), log,
                      self._supervisor_pid_path(service.name))

    def _supervisor_pid(self, name: str) -> int | None:
        return process.running_pid(self._supervisor_pid_path(name))

    def _wait_ready(self, service: Service) -> None:
        log, _pid = self._paths(service.name)
        beat = self.heartbeat_path(service.name)
        ready = service.ready or alive
        deadline = time.monotonic() + service.timeout
        while not ready(beat):
            if self._supervisor_pid(service.name) is None:
                raise PlatformError(f"{service.name} kept exiting during start-up and was left "
                                    f"down; last lines of {log}:\n{process.tail(log)}")
            if time.monotonic() > deadline:
                raise PlatformError(f"{service.name} not ready after {service.timeout:.0f}s; "
                                    f"last lines of {log}:\n{process.tail(log)}")
            time.sleep(0.25)

    def down(self, names: list[str] | None = None) -> list[str]:
        stopped = []
        for service in reversed(self._select(names)):
            supervised = process.stop(self._supervisor_pid_path(service.name), timeout=30)
            # Its service went with it (one process group); one from before supervision not.
            if process.stop(self._paths(service.name)[1], timeout=30) or supervised:
                stopped.append(service.name)
        return stopped

    @contextmanager
    def stopped(self, names: list[str]) -> Iterator[None]:
        """These services stopped for the block, started again however it ends."""
        self.down(names)
        try:
            yield
        finally:
            self.up(names)

    @contextmanager
    def running(self, names: list[str]) -> Iterator[Platform]:
        """These services up for the block, stopped however it ends."""
        try:
            self.up(names)
            yield self
        finally:
            self.down(names)

    def status(self) -> list[ServiceState]:
        return [ServiceState(s.name, self.pid(s.name), self._paths(s.name)[0],
                             heartbeat_age(self.heartbeat_path(s.name)),
                             self._supervisor_pid(s.name) is not None,
                             SupervisorState.read(self._paths(s.name)[0].parent))
                for s in self.services()]
