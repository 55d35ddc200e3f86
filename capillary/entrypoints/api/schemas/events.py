"""Shapes of events and webhooks: endpoints, their deliveries and attempts, and the events
as the envelope receivers get."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from capillary.adapters.event_repository import StoredEvent
from capillary.domain.webhooks import Attempt, Delivery, Endpoint
from capillary.entrypoints.api.schemas.common import Shape, instant

EventTypeName = Annotated[
    str, Field(min_length=1, max_length=40, examples=["certificate.received"])
]


def _when(us: int | None) -> datetime | None:
    return None if us is None else instant(us)


class WebhookIn(Shape):
    url: str = Field(min_length=1, max_length=2000, examples=["https://erp.example.com/capillary"])
    types: list[EventTypeName] = Field(
        default_factory=lambda: ["*"], min_length=1, max_length=40,
        description="Event types to receive, or [\"*\"] for all of them.",
    )  # fmt: skip
    secret: str | None = Field(
        None, min_length=16, max_length=200,
        description="The signing secret; omit it to have one made (shown once).",
    )  # fmt: skip


class WebhookOut(Shape):
    id: int
    org: str
    url: str
    types: list[str]
    status: str = Field(examples=["active"])
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @classmethod
    def of(cls, e: Endpoint) -> WebhookOut:
        return cls(id=e.id, org=e.org, url=e.url, types=list(e.types),
                   status="active" if e.active else "disabled", created_at=instant(e.created_at),
                   created_by=e.created_by, disabled_at=_when(e.disabled_at))  # fmt: skip


class WebhookCreated(Shape):
    webhook: WebhookOut
    secret: str | None = Field(
        description="HMAC-SHA256 key of the Capillary-Signature header; shown this once "
        "(null when the registration is replayed)."
    )


class DeliveryOut(Shape):
    id: int
    webhook_id: int
    event_id: str
    event_type: str
    status: str = Field(examples=["delivered"], description="pending, delivered or failed")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_status: int | None = Field(description="The receiver's last HTTP status.")
    last_error: str | None
    last_latency_us: int | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(id=d.id, webhook_id=d.endpoint_id, event_id=d.event_id,
                   event_type=d.event_type, status=d.status.value, attempts=d.attempts,
                   created_at=instant(d.created_at), next_attempt_at=_when(d.next_at),
                   delivered_at=_when(d.delivered_at), last_status=d.last_status,
                   last_error=d.last_error, last_latency_us=d.last_latency_us)  # fmt: skip


class AttemptOut(Shape):
    at: datetime
    status: int | None
    latency_us: int
    error: str | None

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(at=instant(a.at), status=a.status, latency_us=a.latency_us, error=a.error)


class DeliveryDetail(Shape):
    delivery: DeliveryOut
    attempts: list[AttemptOut]


class ReplayIn(Shape):
    delivery_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=1_000, description="Failed deliveries to send again; omit for all."
    )


class Replayed(Shape):
    replayed: int


class EventOut(Shape):
    """An event as receivers get it (the webhook body, the stream message), with its place
    in the outbox (``seq``) to page by."""

    seq: int
    id: str
    type: str
    version: int
    occurred_at: datetime
    organizations: list[str]
    subject: str
    data: dict[str, Any]

    @classmethod
    def of(cls, e: StoredEvent) -> EventOut:
        return cls(seq=e.seq, id=e.id, type=e.type, version=e.version,
                   occurred_at=instant(e.at), organizations=list(e.orgs), subject=e.subject,
                   data=json.loads(e.payload))  # fmt: skip
