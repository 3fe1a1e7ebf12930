"""The native stack's passwords: generated once into the state directory, read by everyone
who connects (the launcher, the services through their URLs, the tests).

Each is a file of its own under `<state>/secrets/`, mode 0600 in a 0700 directory, so only
the user who runs the stack reads them; nothing puts them on a command line (`ps` shows those).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tradetrace.stack.paths import state_dir


def secrets_dir() -> Path:
    return state_dir() / "secrets"


def stack_secret(name: str) -> str:
    """The secret named `name` (postgres, redis), created on first use."""
    path = secrets_dir() / name
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()
