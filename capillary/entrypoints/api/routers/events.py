"""Webhooks and events: an organization's admin registers, disables and replays its
endpoints; its people read their delivery logs and the events that concern it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from capillary.domain.webhooks import DeliveryStatus
from capillary.entrypoints.api.deps import Caller, IdempotencyKey, Services
from capillary.entrypoints.api.pagination import Cursor, Id, Limit, after_id, keyset
from capillary.entrypoints.api.routing import AnswerInThread
from capillary.entrypoints.api.schemas.common import Page
from capillary.entrypoints.api.schemas.events import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EventOut,
    Replayed,
    ReplayIn,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)

router = APIRouter(tags=["events"], route_class=AnswerInThread)


@router.post("/webhooks", status_code=201,
             summary="Register a webhook endpoint (its secret is shown this once)")  # fmt: skip
def register_webhook(
    body: WebhookIn, services: Services, caller: Caller, key: IdempotencyKey
) -> WebhookCreated:
    made = services.webhooks.register(principal=caller, url=body.url, types=body.types,
                                      secret=body.secret, key=key)  # fmt: skip
    return WebhookCreated(webhook=WebhookOut.of(made.endpoint), secret=made.secret)


@router.get("/webhooks", summary="Webhook endpoints of your organization (any, for auditors)")
def list_webhooks(
    services: Services,
    caller: Caller,
    org: Annotated[str | None, Query(max_length=64, description="Whose endpoints.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[WebhookOut]:
    after = after_id(cursor)
    found = [e for e in services.webhooks.endpoints(principal=caller, org=org) if e.id > after]
    page, more = keyset(found[: limit + 1], lambda e: e.id, limit)
    return Page[WebhookOut](items=[WebhookOut.of(e) for e in page], next=more)


@router.get("/webhooks/{webhook_id}", summary="A webhook endpoint")
def get_webhook(webhook_id: Id, services: Services, caller: Caller) -> WebhookOut:
    return WebhookOut.of(services.webhooks.endpoint(webhook_id, principal=caller))


@router.post("/webhooks/{webhook_id}/disable",
             summary="Disable a webhook endpoint: nothing more is sent to it")  # fmt: skip
def disable_webhook(
    webhook_id: Id, services: Services, caller: Caller, key: IdempotencyKey
) -> WebhookOut:
    return WebhookOut.of(services.webhooks.disable(webhook_id, principal=caller, key=key))


@router.get("/webhooks/{webhook_id}/deliveries",
            summary="The endpoint's delivery log, newest first")  # fmt: skip
def list_deliveries(
    webhook_id: Id,
    services: Services,
    caller: Caller,
    status: Annotated[
        DeliveryStatus | None, Query(description="pending, delivered or failed")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[DeliveryOut]:
    before = after_id(cursor) or None
    found = services.webhooks.deliveries(webhook_id, principal=caller, status=status,
                                         before=before, limit=limit + 1)  # fmt: skip
    page, more = keyset(found, lambda d: d.id, limit)
    return Page[DeliveryOut](items=[DeliveryOut.of(d) for d in page], next=more)


@router.get("/webhook-deliveries/{delivery_id}", summary="A delivery and every attempt at it")
def get_delivery(delivery_id: Id, services: Services, caller: Caller) -> DeliveryDetail:
    delivery, attempts = services.webhooks.attempts(delivery_id, principal=caller)
    return DeliveryDetail(delivery=DeliveryOut.of(delivery),
                          attempts=[AttemptOut.of(a) for a in attempts])  # fmt: skip


@router.post("/webhooks/{webhook_id}/replay",
             summary="Send failed deliveries again, each with a fresh retry window")  # fmt: skip
def replay_deliveries(
    webhook_id: Id, body: ReplayIn, services: Services, caller: Caller, key: IdempotencyKey
) -> Replayed:
    count = services.webhooks.replay(webhook_id, principal=caller, key=key,
                                     delivery_ids=body.delivery_ids)  # fmt: skip
    return Replayed(replayed=count)


@router.get("/events", summary="Events that concern your organization, oldest first")
def list_events(
    services: Services,
    caller: Caller,
    type_: Annotated[
        list[str] | None, Query(alias="type", max_length=20, description="Only these types.")
    ] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[EventOut]:
    found = services.webhooks.events(principal=caller, after=after_id(cursor), limit=limit + 1,
                                     types=type_ or ())  # fmt: skip
    page, more = keyset(found, lambda e: e.seq, limit)
    return Page[EventOut](items=[EventOut.of(e) for e in page], next=more)
