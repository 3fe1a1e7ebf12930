"""What every component of the native stack provides to the launcher."""

from __future__ import annotations

import shutil
import signal
from abc import ABC, abstractmethod
from pathlib import Path

from tradetrace.stack.paths import state_dir
from tradetrace.stack.ports import PORTS
from tradetrace.stack.process import Launch
from tradetrace.stack.steps import build_cached


class Component(ABC):
    """One process of the stack: how to install it, prepare its state, start and probe it."""

    name: str
    startup_timeout: float = 60.0
    debian_package: str | None = None
    debian_binary: str | None = None
    stop_signal: int = signal.SIGTERM
    # Components of the same stack that must answer before this one starts (one that exits
    # when its storage is not there yet); the others start at once, side by side.
    starts_after: tuple[str, ...] = ()

    def __init__(self, state: Path | None = None) -> None:
        self.state = (state or state_dir()) / self.name

    def ports(self) -> list[int]:
        """Every port the component binds, from the one port table; the first is its main one."""
        return [entry.number for entry in PORTS if entry.component == self.name]

    @property
    def port(self) -> int:
        return self.ports()[0]

    @property
    def log_path(self) -> Path:
        return self.state / f"{self.name}.log"

    @property
    def install_log(self) -> Path:
        """Where `install` writes its build steps' output (shown live while it builds)."""
        return self.state / "install.log"

    @property
    def pid_path(self) -> Path:
        return self.state / f"{self.name}.pid"

    @property
    def data_dir(self) -> Path:
        return self.state / "data"

    def missing_debian_package(self) -> str | None:
        """The Debian package to install, if this component comes from one and is missing."""
        if self.debian_package and not shutil.which(self.debian_binary or self.name):
            return self.debian_package
        return None

    @property
    def artifact(self) -> Path | None:
        """What `build` makes, in the cache (a binary or a folder); None for Debian packages."""
        return None

    def build(self, staging: Path) -> None:
        """Build the artifact into `staging` (moved into the cache once it is complete)."""

    def is_installed(self) -> bool:
        """True when the artifact is already built or cached (a warm start)."""
        if self.artifact is not None:
            return self.artifact.exists()
        return self.missing_debian_package() is None

    def install(self) -> None:
        """Build what the component runs, once; Debian packages are installed in bulk."""
        if self.artifact is not None and not self.artifact.exists():
            build_cached(self.artifact.parent, self.build)

    def prepare(self) -> None:
        """Create state before the first start: config files, formatted storage, initdb."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def launch(self) -> Launch:
        """The command line that runs the component in the foreground."""

    @abstractmethod
    def healthy(self) -> bool:
        """A real probe of the running component (not just an open port, where it can tell)."""

    def after_healthy(self) -> None:
        """Work that needs the component up, e.g. creating the application's database."""
