"""Who may see the explorer's pages: the API's read key, carried by a cookie.

A browser cannot send the API's `Authorization` header when it follows a link, so the key is
typed once into the login page and kept in an HttpOnly, SameSite=Strict cookie scoped to
/explorer. Only these read-only pages accept the cookie: the write routes still want the
header, so a page of another site cannot act with it (services/backend/auth.py).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, Request, status
from sqlalchemy.orm import Session

from services.backend.deps import SessionDep, SettingsDep
from services.shared.api_keys import allows, find_key
from services.shared.db import ApiRole

COOKIE = "tradetrace_key"
PREFIX = "/explorer"


def key_reads(session: Session, key: str | None) -> bool:
    found = find_key(session, key) if key else None
    return found is not None and allows(found.role, ApiRole.READ)


def require_page_reader(request: Request, session: SessionDep, settings: SettingsDep) -> None:
    """Open reads, or a live key in the cookie; otherwise to the login page and back."""
    if settings.open_reads or key_reads(session, request.cookies.get(COOKIE)):
        return
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise HTTPException(status.HTTP_303_SEE_OTHER, "an API read key is required",
                        headers={"Location": f"{PREFIX}/login?next={quote(back)}"})


def safe_next(target: str | None) -> str:
    """Back to an explorer page only (an open redirect would send the key's holder anywhere)."""
    if target and target.startswith(f"{PREFIX}/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/signals"
