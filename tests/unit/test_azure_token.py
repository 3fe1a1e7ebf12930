"""The Azure profile's token refresher, driven with a credential of the test's own."""

from __future__ import annotations

import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.azure_token.refresher import (
    MINIMUM_PAUSE_SECONDS,
    MONITOR_SCOPE,
    REFRESH_MARGIN_SECONDS,
    RETRY_PAUSES_SECONDS,
    TokenSettings,
    pause_after,
    run,
    write_token_file,
)


@dataclass
class Token:
    token: str
    expires_on: int


class Credential:
    """Fails `failures` times, then hands out numbered tokens valid for an hour."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.issued, self.scopes = failures, 0, []

    def get_token(self, *scopes: str, **kwargs) -> Token:
        self.scopes.append(scopes)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Entra ID unreachable")
        self.issued += 1
        return Token(f"token-{self.issued}", int(time.time()) + 3600)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch) -> TokenSettings:
    monkeypatch.setenv("AZURE_MONITOR_TOKEN_FILE", str(tmp_path / "token"))
    return TokenSettings()


def _run(credential: Credential, settings: TokenSettings, rounds: int) -> list[float]:
    pauses: list[float] = []
    run(credential, settings, sleep=pauses.append, keep_going=lambda: len(pauses) < rounds)
    return pauses


def test_the_token_is_written_for_azure_monitor_and_renewed_before_it_expires(
        settings: TokenSettings) -> None:
    credential = Credential()
    [pause] = _run(credential, settings, rounds=1)
    assert settings.token_file.read_text() == "token-1"
    assert credential.scopes == [(MONITOR_SCOPE,)]
    assert 3600 - REFRESH_MARGIN_SECONDS - 5 <= pause <= 3600 - REFRESH_MARGIN_SECONDS
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600


def test_a_failure_keeps_the_last_token_and_is_retried_with_growing_pauses(
        settings: TokenSettings) -> None:
    write_token_file(settings.token_file, "last-good")
    credential = Credential(failures=3)
    pauses = _run(credential, settings, rounds=3)
    assert pauses == list(RETRY_PAUSES_SECONDS[:3])
    assert settings.token_file.read_text() == "last-good"
    _run(credential, settings, rounds=1)
    assert settings.token_file.read_text() == "token-1"


def test_a_token_close_to_expiry_is_renewed_after_the_floor_not_in_a_busy_loop() -> None:
    assert pause_after(expires_on=1_000, now=990) == MINIMUM_PAUSE_SECONDS
    assert pause_after(expires_on=10_000, now=0) == 10_000 - REFRESH_MARGIN_SECONDS


def test_the_file_is_replaced_whole_and_nothing_is_left_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "token"
    for token in ("a" * 2000, "b"):
        write_token_file(path, token)
    assert path.read_text() == "b"
    assert [p.name for p in tmp_path.iterdir()] == ["token"]
