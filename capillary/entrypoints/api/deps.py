"""What every route takes: the platform's services, the principal a presented API key acts
as, and the idempotency key of a write."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from capillary.bootstrap import Platform
from capillary.domain.access import Principal
from capillary.domain.errors import Unauthorized

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer cap_<id>_<secret>`.",
)


async def platform(request: Request) -> Platform:
    found: Platform = request.app.state.platform
    return found


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Who asks: the organization whose API key is presented (401 if none, unknown,
    malformed or revoked)."""
    if credentials is None:
        raise Unauthorized("Present an API key: Authorization: Bearer cap_<id>_<secret>.")
    services: Platform = request.app.state.platform
    # A read of the store: in the thread pool, never on the event loop.
    who, key = services.keys.authenticate(credentials.credentials)
    request.state.key = key.prefix
    return who


Services = Annotated[Platform, Depends(platform)]
Caller = Annotated[Principal, Depends(principal)]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Names this request: a retry with the same key and body returns the first "
        "answer; the same key with another body is 409 idempotency_conflict.",
        examples=["erp-7f3a9c2e"],
    ),
]
