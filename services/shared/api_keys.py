"""API keys: created by the CLI, checked by the backend on every request, revoked at once.

A key is `tt_` and 43 URL-safe characters (256 random bits): the prefix lets secret scanners
and the collector's redaction recognise one wherever it leaks. Only its SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.db import ApiKey, ApiRole, utcnow

KEY_PREFIX = "tt_"
KEY_PATTERN = r"tt_[A-Za-z0-9_-]{43}"     # the collector's redaction matches this too


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, role: ApiRole, name: str) -> tuple[ApiKey, str]:
    """A new key: its row and the key itself, which is shown once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, role=role, key_hash=_digest(key), prefix=key[:10])
    session.add(row)
    session.flush()
    return row, key


def find_key(session: Session, key: str) -> ApiKey | None:
    """The live key with this value; None for an unknown or revoked one."""
    if not key.startswith(KEY_PREFIX):
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key)))
    return row if row is not None and row.revoked_at is None else None


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    row = session.get(ApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def allows(role: ApiRole, needed: ApiRole) -> bool:
    """A write key may also read."""
    return role == ApiRole.WRITE or needed == ApiRole.READ
