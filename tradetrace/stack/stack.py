"""Bring the native stack up, report its status, and take it down.

`up` is idempotent: a component already running and healthy is left alone, a dead one is
started again. Every wait has a timeout and a failure names the component with its log tail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tradetrace.stack import process
from tradetrace.stack.components import (
    Collector,
    Component,
    Jaeger,
    Kafka,
    Postgres,
    Prometheus,
    Redis,
)
from tradetrace.stack.health import StackError, tcp_open
from tradetrace.stack.paths import state_dir
from tradetrace.stack.ports import HOST
from tradetrace.stack.report import reporter
from tradetrace.stack.steps import apt_install

PROFILES = ("single", "scale")


def components(state: Path | None = None, profile: str | None = None) -> list[Component]:
    """The profile's components, in start order: storage first, the collector after its
    exporters' targets. `single`: one collector, Jaeger on Badger. `scale`
    (tradetrace/stack/scale.py): an agent collector, gateways behind Kafka, Jaeger on
    Cassandra."""
    if (profile or active_profile()) == "scale":
        from tradetrace.stack.scale import scale_components

        return scale_components(state)
    return [Postgres(state), Redis(state), Kafka(state), Jaeger(state), Prometheus(state),
            Collector(state)]


def _profile_file() -> Path:
    return state_dir() / "profile"


def active_profile() -> str:
    """The profile `stack up --profile` last started (so status, down and the services
    follow it), else `single`."""
    recorded = _profile_file().read_text().strip() if _profile_file().exists() else ""
    return recorded if recorded in PROFILES else "single"


def record_profile(profile: str) -> None:
    """Remember the profile for the commands after `up` (a running stack keeps its own: a
    different one is refused until `stack down`)."""
    if profile not in PROFILES:
        raise StackError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    running = active_profile()
    if running != profile and any(process.running_pid(c.pid_path) is not None
                                  for c in components(profile=running)):
        raise StackError(f"the {running} profile is running: `tradetrace stack down` first")
    _profile_file().parent.mkdir(parents=True, exist_ok=True)
    _profile_file().write_text(profile + "\n")


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    port: int
    pid: int | None
    healthy: bool
    log: Path

    @property
    def state(self) -> str:
        if self.pid is None:
            return "stopped"
        return "healthy" if self.healthy else "unhealthy"


class Stack:
    def __init__(self, selected: list[Component] | None = None) -> None:
        self.components = selected if selected is not None else components()

    def select(self, names: list[str]) -> Stack:
        """A stack of only the named components (an unknown name is an error, not ignored)."""
        known = {c.name: c for c in self.components}
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise StackError(f"unknown component(s) {unknown}; known: {sorted(known)}")
        return Stack([c for c in self.components if c.name in names])

    def install(self) -> None:
        """Install Debian packages in one go, then fetch and build the rest (cached)."""
        packages = sorted({p for c in self.components if (p := c.missing_debian_package())})
        if packages:
            with reporter().step(f"install Debian packages {' '.join(packages)}",
                                 state_dir() / "apt.log"):
                apt_install(packages, state_dir() / "apt.log")
        for component in self.components:
            if component.is_installed():
                reporter().event(f"{component.name}: cached")
                continue
            with reporter().step(f"{component.name}: install", component.install_log):
                component.install()

    def up(self) -> list[str]:
        """Start what is not running and wait for all; returns the names of those it started."""
        with reporter().step("stack up"):
            self.install()
            started: list[Component] = []
            answered: set[str] = set()

            def wait(component: Component) -> None:
                if component.name not in answered:
                    self._wait_healthy(component, component in started)
                    answered.add(component.name)

            for component in self.components:
                for needed in self.components:
                    if needed.name in component.starts_after:
                        wait(needed)
                if self._start(component):
                    started.append(component)
            for component in self.components:
                wait(component)
                component.after_healthy()
        return [c.name for c in started]

    def _start(self, component: Component) -> bool:
        """Start the component unless it already runs; True if we started it."""
        if process.running_pid(component.pid_path) is not None:
            reporter().event(f"{component.name}: already running")
            return False
        busy = [number for number in component.ports() if tcp_open(HOST, number)]
        if busy:
            raise StackError(f"{component.name}: port(s) {busy} on {HOST} are taken by a process "
                             f"this stack did not start; stop it or free the port")
        component.prepare()
        process.start(component.launch(), component.log_path, component.pid_path)
        return True

    def _wait_healthy(self, component: Component, just_started: bool) -> None:
        started = time.monotonic()
        deadline = started + component.startup_timeout
        while True:
            if component.healthy():
                if just_started:
                    reporter().event(f"{component.name}: healthy after "
                                     f"{time.monotonic() - started:.1f}s")
                return
            if process.running_pid(component.pid_path) is None:
                raise StackError(f"{component.name} exited during start-up; last lines of "
                                 f"{component.log_path}:\n{process.tail(component.log_path)}")
            if time.monotonic() >= deadline:
                raise StackError(f"{component.name} not healthy after "
                                 f"{component.startup_timeout:.0f}s; last lines of "
                                 f"{component.log_path}:\n{process.tail(component.log_path)}")
            time.sleep(0.25)

    def down(self) -> list[str]:
        """Stop, in reverse start order, exactly the processes recorded by `up`."""
        stopped = []
        for component in reversed(self.components):
            if process.stop(component.pid_path, component.stop_signal):
                stopped.append(component.name)
        return stopped

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """These components stopped for the block, started again however it ends."""
        self.down()
        try:
            yield
        finally:
            self.up()

    @contextmanager
    def running(self) -> Iterator[Stack]:
        """These components up for the block, stopped however it ends (a test's own)."""
        try:
            self.up()
            yield self
        finally:
            self.down()

    def status(self) -> list[ComponentStatus]:
        rows = []
        for component in self.components:
            pid = process.running_pid(component.pid_path)
            rows.append(ComponentStatus(component.name, component.port, pid,
                                        pid is not None and component.healthy(),
                                        component.log_path))
        return rows
