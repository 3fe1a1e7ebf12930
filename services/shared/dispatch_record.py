"""What the dispatcher made of a signal, as it records it in Redis (`redis_keys.signal_dispatch`)
for `signal emit` and the explorer: the pipelines matched, enqueued, skipped because already
running, and those whose execution for this signal existed already (a replay)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields


@dataclass
class SignalOutcome:
    matched: list[int] = field(default_factory=list)
    enqueued: list[int] = field(default_factory=list)
    skipped_running: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SignalOutcome:
        """The record; fields a newer dispatcher added are passed over."""
        record = json.loads(raw)
        return cls(**{f.name: [int(p) for p in record.get(f.name, [])] for f in fields(cls)})
