"""The house's floors, read from the imports (each package imports only the floors below it),
and modules small enough to hold one concern.

    tradetrace (the CLI, the native stack)
    services (backend, worker, dispatcher, generator) over services.shared
    trace_reader (reading traces back)         tracing (writing them)

So the services' image carries no CLI, and the trace reader serves the explorer and the CLI
alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tradetrace.stack.paths import REPO_ROOT

# What each package may not import (its own floor and those below it are allowed).
FORBIDDEN = {
    "tracing": ("services", "trace_reader", "tradetrace"),
    "trace_reader": ("services", "tradetrace"),
    "services": ("tradetrace",),
}


def _imported(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_runs_back_up(package: str) -> None:
    upward = {
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in (REPO_ROOT / package).rglob("*.py")
        for name in _imported(path)
        if name.split(".")[0] in FORBIDDEN[package]
    }
    assert not upward, sorted(upward)


PRODUCT = ("services", "tracing", "trace_reader", "tradetrace")
MAX_MODULE_LINES = 300      # past it, a module mixes concerns: split it by what it holds


def test_no_module_of_product_code_is_over_300_lines() -> None:
    long = {f"{path.relative_to(REPO_ROOT)}: {lines} lines"
            for package in PRODUCT for path in (REPO_ROOT / package).rglob("*.py")
            if "migrations" not in path.parts
            and (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, sorted(long)
