"""The package as the Docker image installs it (not editable): everything a service needs at
run time is inside, so the image needs no source tree beside it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tracing.settings import package_version
from tradetrace.stack.paths import REPO_ROOT

IMAGE_SOURCES = ["pyproject.toml", "constraints.txt", "services", "tracing", "trace_reader"]


def test_the_dockerfile_copies_what_the_package_is_built_from() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    for path in IMAGE_SOURCES:
        assert f"COPY {path}" in dockerfile or f"COPY pyproject.toml {path}" in dockerfile, path
    assert "pip install --no-deps -c constraints.txt ." in dockerfile


def test_the_wheel_carries_the_migrations_and_the_version(tmp_path: Path) -> None:
    # What the Dockerfile copies, built as its `pip install .` builds it (an isolated build
    # with pyproject's backend), outside the repository so it leaves no build/ behind.
    source = tmp_path / "src"
    source.mkdir()
    for path in IMAGE_SOURCES:
        if (REPO_ROOT / path).is_dir():
            shutil.copytree(REPO_ROOT / path, source / path,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO_ROOT / path, source / path)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path), str(source)], check=True, timeout=300)
    [wheel] = tmp_path.glob("tradetrace-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    migrations = {p.relative_to(REPO_ROOT).as_posix()
                  for p in (REPO_ROOT / "services/backend/migrations").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts}
    assert migrations and migrations <= names, sorted(migrations - names)
    assert {"services/backend/__main__.py", "tracing/settings.py",
            "trace_reader/jaeger.py"} <= names
    assert not any(name.startswith("tradetrace/") for name in names), "the image has no CLI"
    assert wheel.name.startswith(f"tradetrace-{package_version()}-")
