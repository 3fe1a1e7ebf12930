"""Docker Compose itself, to check docker-compose.yml on machines without Docker.

`docker compose config` is the reference check of a compose file: interpolation, the
compose-spec schema, merge keys, references between services and profiles. Where the plugin is
not installed, the same program is built from its Go module and cached like the stack's builds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from tradetrace.stack.health import StackError
from tradetrace.stack.paths import cache_dir
from tradetrace.stack.steps import build_cached, require_program, run

COMPOSE_VERSION = "2.40.3"
MODULE = "github.com/docker/compose/v2"


def compose_command() -> list[str]:
    """`docker compose` where the plugin works, else our build of the same release."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"],
                                 capture_output=True).returncode == 0:
        return [docker, "compose"]
    binary = cache_dir() / f"docker-compose-{COMPOSE_VERSION}" / "docker-compose"
    if not binary.is_file():
        build_cached(binary.parent, _build)
    return [str(binary)]


def _build(staging: Path) -> None:
    """Built as the main module (so its go.mod's exclude and replace directives apply, which
    `go install module@version` refuses)."""
    go = require_program("docker-compose", "go", "to build Docker Compose's config check")
    download = subprocess.run([go, "mod", "download", "-json", f"{MODULE}@v{COMPOSE_VERSION}"],
                              cwd=staging, capture_output=True, text=True, timeout=900)
    if download.returncode != 0:
        raise StackError(f"docker-compose: go mod download {MODULE}@v{COMPOSE_VERSION} failed:\n"
                         f"{download.stdout[-2000:]}{download.stderr[-2000:]}")
    source = staging / "src"
    shutil.copytree(json.loads(download.stdout)["Dir"], source)
    for path in [source, *source.rglob("*")]:     # the module cache is read-only
        path.chmod(path.stat().st_mode | 0o200)
    run("docker-compose: go build", [go, "build", "-trimpath", "-o",
                                     str(staging / "docker-compose"), "./cmd"],
        staging / "build.log", cwd=source, env={"CGO_ENABLED": "0"})
    shutil.rmtree(source)
