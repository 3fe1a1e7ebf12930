"""Where the native stack keeps its builds (cache) and its running state.

Builds live outside the repository, keyed by version and by the hash of the file that
defines them, so a second `stack up` reuses them and a changed manifest rebuilds.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class StackSettings(BaseSettings):
    """The launcher's own settings (the services read services/shared/settings.py)."""

    model_config = SettingsConfigDict(env_prefix="TRADETRACE_", extra="ignore")

    cache_dir: Path | None = None    # default: $XDG_CACHE_HOME/tradetrace or ~/.cache/tradetrace
    state_dir: Path | None = None    # default: see state_dir()


def cache_dir() -> Path:
    """Downloaded and built binaries: `$TRADETRACE_CACHE_DIR` or `~/.cache/tradetrace`."""
    chosen = StackSettings().cache_dir
    if chosen is not None:
        return chosen
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tradetrace"


def state_dir() -> Path:
    """Config, data, pid files and logs of the running stack: `$TRADETRACE_STATE_DIR`, else
    /var/lib/tradetrace as root (PostgreSQL refuses to run as root and its `postgres` user must
    reach its data directory, which it can't under /root), else ~/.local/state/tradetrace."""
    chosen = StackSettings().state_dir
    if chosen is not None:
        return chosen
    if os.geteuid() == 0:
        return Path("/var/lib/tradetrace")
    return Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "tradetrace"


def content_key(*files: Path) -> str:
    """A short hash of the files that define a build, so editing one means a new cache entry."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
