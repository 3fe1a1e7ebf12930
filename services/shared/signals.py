"""The trading signal as it travels on Kafka: one JSON object per message, keyed by ticker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION: Final = 1

SignalType = Literal["mock", "golden_cross"]
Direction = Literal["buy", "sell"]
TICKER_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,9}$"
# Ids and sources are stored, logged and put in headers: printable ASCII only (a NUL byte or a
# control character in a signal id once failed the database insert after the signal was taken).
SIGNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
SOURCE_PATTERN = r"^[\x20-\x7e]{1,64}$"


class Signal(BaseModel):
    """Version 1 of the signal schema. Unknown fields are ignored so producers can add some."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    signal_id: str = Field(default_factory=lambda: str(uuid.uuid4()), pattern=SIGNAL_ID_PATTERN)
    signal_type: SignalType
    source: str = Field(pattern=SOURCE_PATTERN)
    ticker: str = Field(pattern=TICKER_PATTERN)
    direction: Direction
    strength: float = Field(ge=0.0, le=1.0)
    generated_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class InvalidSignal(ValueError):
    """A message that is not a valid signal; `reason` goes into the DLQ header."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_signal(payload: bytes | None) -> Signal:
    """Decode a Kafka message value, or raise InvalidSignal saying what is wrong with it."""
    if not payload:
        raise InvalidSignal("empty message")
    try:
        return Signal.model_validate_json(payload)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise InvalidSignal(f"{where}: {first['msg']}") from None
