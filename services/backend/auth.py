"""Who may call the API: a bearer key with a role, checked on every route but health.

`Authorization: Bearer tt_...` (services/shared/api_keys.py). No key, an unknown or a revoked
one: 401 with `WWW-Authenticate: Bearer`; a `read` key on a write route: 403. Reads need a key
unless TRADETRACE_OPEN_READS=true. The key's lookup is one indexed query, so a revoked key
stops working with the next request. A header a browser cannot send cross-site without CORS
(closed by default) is also what keeps a web page from firing the POST routes (CSRF).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry import trace

from services.backend.deps import SessionDep, SettingsDep
from services.shared.api_keys import allows, find_key
from services.shared.db import ApiRole
from tracing import attributes as attr

# auto_error=False: our own 401 (the library's answers 403 to a missing header).
bearer = HTTPBearer(auto_error=False, description="An API key: `tradetrace keys create`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message,
                         headers={"WWW-Authenticate": "Bearer"})


def _require(needed: ApiRole):
    def check(credentials: Credentials, session: SessionDep, settings: SettingsDep) -> None:
        if needed == ApiRole.READ and settings.open_reads:
            return
        if credentials is None:
            raise _unauthorized("an API key is required: send `Authorization: Bearer <key>` "
                                "(create one with `tradetrace keys create`)")
        key = find_key(session, credentials.credentials)
        if key is None:
            raise _unauthorized("this API key is unknown or revoked")
        trace.get_current_span().set_attribute(attr.API_KEY_ID, key.id)
        if not allows(key.role, needed):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"the key {key.prefix}... is a {key.role.value} key; "
                                f"this route needs a {needed.value} key")
    return check


require_read = Depends(_require(ApiRole.READ))
require_write = Depends(_require(ApiRole.WRITE))
