"""Install and build steps: timed, logged, and failing with the step's name and output tail."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tradetrace.stack.health import StackError
from tradetrace.stack.process import tail


def run(step: str, argv: list[str], log_path: Path, cwd: Path | None = None,
        env: dict[str, str] | None = None, timeout: float = 3600) -> None:
    """Run a build command with its output in a log file; a failure names the step."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        try:
            result = subprocess.run(argv, cwd=cwd, env={**os.environ, **(env or {})},
                                    stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise StackError(f"{step}: timed out after {timeout:.0f}s\n{tail(log_path)}") from None
        except FileNotFoundError:
            raise StackError(f"{step}: {argv[0]} is not installed") from None
    if result.returncode != 0:
        raise StackError(f"{step} failed (exit {result.returncode}); log {log_path}:\n"
                         f"{tail(log_path)}")


def apt_install(packages: list[str], log_path: Path) -> None:
    """Install Debian packages (services are not started: we run them as plain processes)."""
    if os.geteuid() != 0:
        raise StackError(f"missing Debian packages {packages}: run "
                         f"`sudo apt-get install --no-install-recommends {' '.join(packages)}`")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    run("apt-get update", ["apt-get", "update", "-qq"], log_path, env=env, timeout=600)
    run(f"apt-get install {' '.join(packages)}",
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        log_path, env=env, timeout=1200)


def build_cached(final: Path, build: Callable[[Path], None]) -> None:
    """Build into a fresh staging folder beside `final`, then move it in with one rename, so
    an interrupted or failed build is never taken for a cached one."""
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    build(staging)
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)


def require_program(component: str, program: str, purpose: str) -> str:
    """The program's path, or an error naming the component that needs it and why."""
    path = shutil.which(program)
    if not path:
        raise StackError(f"{component}: {program} is needed {purpose} ({program} not on PATH)")
    return path


def resolve_jars(component: str, pom: Path, into: Path, log_path: Path) -> None:
    """The runtime jars of a POM's dependencies, copied by Maven into `into` (the Java
    components come from Maven Central this way, not from a release tarball)."""
    mvn = require_program(component, "mvn", "to resolve its jars")
    run(f"{component}: resolve jars with Maven",
        [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
         "-DincludeScope=runtime", f"-DoutputDirectory={into}"], log_path)
