"""Shapes of the platform itself: its clock, API keys, the caller."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import Field

from capillary.domain.api_keys import ApiKey
from capillary.entrypoints.api.schemas.common import Shape, instant
from capillary.services.platform import ClockReading


class ClockOut(Shape):
    kind: str = Field(examples=["sandbox"], description="sandbox or production")
    timezone: str = Field(examples=["Asia/Shanghai"])
    now: datetime
    today: date

    @classmethod
    def of(cls, r: ClockReading) -> ClockOut:
        return cls(kind=r.kind, timezone=r.timezone, now=r.now, today=r.today)


class ClockSet(Shape):
    day: date = Field(description="Midnight starting this day; never back.")


class ClockAdvance(Shape):
    days: Annotated[int, Field(ge=1, le=36_600, examples=[30])]


class KeyIn(Shape):
    org: str = Field(min_length=1, max_length=64, examples=["tier1"])
    name: str = Field(min_length=1, max_length=80, examples=["ERP integration"])
    scopes: list[str] = Field(
        default=["read", "write"], min_length=1, max_length=3, examples=[["read"]]
    )


class KeyOut(Shape):
    id: str
    prefix: str = Field(examples=["cap_3nfto3vslk5d"])
    org: str
    name: str
    scopes: list[str]
    created_at: datetime
    created_by: str
    revoked: bool

    @classmethod
    def of(cls, k: ApiKey) -> KeyOut:
        return cls(id=k.id, prefix=k.prefix, org=k.org, name=k.name,
                   scopes=sorted(k.scopes), created_at=instant(k.created_at),
                   created_by=k.created_by, revoked=not k.active)  # fmt: skip


class KeyCreated(Shape):
    key: KeyOut
    secret: str | None = Field(
        description="The whole key, shown this once (absent when the creation is replayed).",
        examples=["cap_3nfto3vslk5d_EEvrF5Si0ceDe5XNIsR9kNYQioH8WU-vHan4t3MRtCc"],
    )
