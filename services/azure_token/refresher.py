"""Get a token, write it, sleep until the next is due: the refresher's loop, kept apart from
azure-identity so a unit test drives it with a credential of its own."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

# The audience Azure Monitor's ingestion (OTLP and the workspace's remote write) accepts.
MONITOR_SCOPE = "https://monitor.azure.com/.default"
# Refresh this long before expiry (Entra ID tokens live 60 to 90 minutes; azure-identity's own
# proactive refresh uses 5 minutes), and never sooner than the floor after a success.
REFRESH_MARGIN_SECONDS = 600
MINIMUM_PAUSE_SECONDS = 30
RETRY_PAUSES_SECONDS = (1, 2, 5, 10, 30, 60)

log = logging.getLogger(__name__)


class TokenSettings(BaseSettings):
    """The file is the collector's AZURE_MONITOR_TOKEN_FILE: one variable for both sides."""

    token_file: Path = Field(validation_alias="AZURE_MONITOR_TOKEN_FILE")
    scope: str = Field(default=MONITOR_SCOPE, validation_alias="AZURE_MONITOR_TOKEN_SCOPE")


def write_token_file(path: Path, token: str) -> None:
    """Replace the file in one rename, readable by its owner only."""
    handle, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as staged:
            staged.write(token)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def pause_after(expires_on: float, now: float) -> float:
    """Seconds until the next token is due."""
    return max(MINIMUM_PAUSE_SECONDS, expires_on - now - REFRESH_MARGIN_SECONDS)


def refresh_once(credential: TokenCredential, settings: TokenSettings) -> float:
    """Get and write one token; the pause before the next."""
    token = credential.get_token(settings.scope)
    write_token_file(settings.token_file, token.token)
    pause = pause_after(token.expires_on, time.time())
    log.info("wrote an access token for %s to %s; next in %.0f s",
             settings.scope, settings.token_file, pause)
    return pause


def run(credential: TokenCredential, settings: TokenSettings,
        sleep: Callable[[float], None] = time.sleep,
        keep_going: Callable[[], bool] = lambda: True) -> None:
    failures = 0
    while keep_going():
        try:
            pause = refresh_once(credential, settings)
            failures = 0
        except Exception as error:  # noqa: BLE001 - any failure is retried; the old token holds
            pause = RETRY_PAUSES_SECONDS[min(failures, len(RETRY_PAUSES_SECONDS) - 1)]
            failures += 1
            log.warning("could not get an access token for %s (%s: %s); retrying in %d s",
                        settings.scope, type(error).__name__, error, pause)
        sleep(pause)
