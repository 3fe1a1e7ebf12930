"""Where the native stack keeps its builds (cache) and its running state.

Builds live outside the repository, keyed by version and by the hash of the file that
defines them, so a second `stack up` reuses them and a changed manifest rebuilds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """Downloaded and built binaries: `$TRADETRACE_CACHE_DIR` or `~/.cache/tradetrace`."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tradetrace"
    return Path(os.environ.get("TRADETRACE_CACHE_DIR", default))


def state_dir() -> Path:
    """Config, data, pid files and logs of the running stack.

    As root the default is /var/lib/tradetrace, because PostgreSQL refuses to run as root
    and its `postgres` user must be able to reach its data directory (it can't under /root).
    """
    if "TRADETRACE_STATE_DIR" in os.environ:
        return Path(os.environ["TRADETRACE_STATE_DIR"])
    if os.geteuid() == 0:
        return Path("/var/lib/tradetrace")
    default = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state"))
    return default / "tradetrace"


def content_key(*files: Path) -> str:
    """A short hash of the files that define a build, so editing one means a new cache entry."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
