"""Signal parsing: what is valid, and a reason for what is not."""

from __future__ import annotations

import json

import pytest

from services.shared.signals import InvalidSignal, Signal, parse_signal


def _valid(**overrides) -> dict:
    return {"signal_id": "s-1", "signal_type": "mock", "source": "test", "ticker": "AAPL",
            "direction": "buy", "strength": 0.5, "generated_at": "2026-11-25T10:00:00Z",
            "schema_version": 1, **overrides}


def test_round_trip() -> None:
    signal = Signal(signal_type="golden_cross", source="sma", ticker="MSFT", direction="sell",
                    strength=0.2)
    assert parse_signal(signal.to_json()) == signal


def test_unknown_fields_are_ignored() -> None:
    assert parse_signal(json.dumps(_valid(extra="x")).encode()).ticker == "AAPL"


@pytest.mark.parametrize(("payload", "reason"), [
    (b"", "empty message"),
    (b"not json", "Invalid JSON"),
    (json.dumps(_valid(ticker="aapl")).encode(), "ticker"),
    (json.dumps(_valid(strength=7)).encode(), "strength"),
    (json.dumps(_valid(direction="up")).encode(), "direction"),
    (json.dumps(_valid(schema_version=2)).encode(), "schema_version"),
    (json.dumps(_valid(generated_at="2026-11-25T10:00:00")).encode(), "generated_at"),
    (json.dumps({k: v for k, v in _valid().items() if k != "source"}).encode(), "source"),
])
def test_invalid_messages_say_why(payload: bytes, reason: str) -> None:
    with pytest.raises(InvalidSignal, match=reason):
        parse_signal(payload)
