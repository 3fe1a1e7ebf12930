"""What the dispatcher made of a signal, as it records it in Redis (`redis_keys.signal_dispatch`,
kept `dispatch_record_seconds`) for `signal emit` and the explorer: the pipelines matched,
enqueued, skipped because already running, and those whose execution for this signal existed
already (a replay); and which signal it was, so a signal that ran nothing can still be listed
(`redis_keys.RECENT_SIGNALS` holds the ids by time)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

PIPELINE_LISTS = ("matched", "enqueued", "skipped_running", "duplicates")


@dataclass
class SignalOutcome:
    matched: list[int] = field(default_factory=list)
    enqueued: list[int] = field(default_factory=list)
    skipped_running: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)
    ticker: str | None = None
    signal_type: str | None = None
    generated_at: str | None = None       # ISO 8601

    def to_json(self) -> str:
        # Its fields hold no dataclass: `asdict`'s deep copy cost ~10% of the dispatcher's CPU.
        return json.dumps(vars(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> SignalOutcome:
        """The record; fields a newer dispatcher added are passed over."""
        record = json.loads(raw)
        known: dict[str, Any] = {name: record[name] for name in _FIELDS if name in record}
        for name in PIPELINE_LISTS:
            if pipelines := known.get(name):
                known[name] = [int(p) for p in pipelines]
        return cls(**known)


# Named once: `fields()` on every record was most of the ~6 us each of 10,000 records cost the
# explorer's funnel.
_FIELDS = tuple(f.name for f in fields(SignalOutcome))
