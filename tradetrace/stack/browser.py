"""Debian's headless Chromium, for the explorer's browser tests.

Playwright drives it (`executable_path`); Playwright's own browser download is not used (this
machine's network does not serve it, and a distribution package is kept up to date by apt).
"""

from __future__ import annotations

from pathlib import Path

from tradetrace.stack.paths import state_dir
from tradetrace.stack.steps import apt_install

CHROMIUM = Path("/usr/bin/chromium")

# Without the background-networking flags Chromium keeps dialling Google's hosts, which a
# closed network refuses (slow starts, noise in the console); root needs --no-sandbox.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> Path:
    """The browser's path, installed from Debian's packages first if it is missing."""
    if not CHROMIUM.exists():
        apt_install(["chromium"], state_dir() / "browser" / "install.log")
    return CHROMIUM
