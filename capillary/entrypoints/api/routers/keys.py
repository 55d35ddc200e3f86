"""API keys: created, listed and revoked by an organization's admin key or the operator's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Limit, window
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page
from capillary.entrypoints.api.schemas.platform import KeyCreated, KeyIn, KeyOut

router = APIRouter(tags=["api keys"], route_class=AnswerInThread)


@router.post(
    "/api-keys", status_code=201, summary="Create an API key (its secret is shown this once)"
)
def create_key(body: KeyIn, services: Services, caller: Caller, key: IdempotencyKey) -> KeyCreated:
    made = services.keys.create(principal=caller, org=body.org, name=body.name,
                                scopes=body.scopes, key=key)  # fmt: skip
    return KeyCreated(key=KeyOut.of(made.key), secret=made.token)


@router.get("/api-keys", summary="API keys of your organization (any, for the operator)")
def list_keys(
    services: Services,
    caller: Caller,
    org: Annotated[str | None, Query(max_length=64, description="Whose keys.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[KeyOut]:
    found = services.keys.keys(principal=caller, org=org)
    page, after = window(found, lambda k: k.id, cursor, limit)
    return Page[KeyOut](items=[KeyOut.of(k) for k in page], next=after)


@router.post("/api-keys/{key_id}/revoke", summary="Revoke an API key")
def revoke_key(key_id: str, services: Services, caller: Caller, key: IdempotencyKey) -> KeyOut:
    return KeyOut.of(services.keys.revoke(key_id, principal=caller, key=key))
