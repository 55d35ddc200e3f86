"""Shapes of organizations and who trades with whom."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from capillary.domain.parties import Organization, TradeRelationship
from capillary.entrypoints.api.schemas.common import Money, Shape, instant


class OrganizationIn(Shape):
    code: str = Field(min_length=1, max_length=64, examples=["huaxin-auto"])
    name: str = Field(min_length=1, max_length=200, examples=["Huaxin Auto Parts Co., Ltd."])
    scheme: str = Field("uscc", max_length=20, examples=["uscc"])
    identifier: str = Field(min_length=1, max_length=64, examples=["91440300MA5F8Q2K1L"])
    roles: list[str] = Field(
        min_length=1, max_length=5, examples=[["supplier"]],
        description="core, supplier, funder, operator, auditor",
    )  # fmt: skip
    industry: str | None = Field(None, max_length=64, examples=["autos"])


class OrganizationOut(Shape):
    """An entry of the platform's directory: who it is and what it may be."""

    code: str
    name: str
    scheme: str
    identifier: str
    roles: list[str]
    industry: str | None
    created_at: datetime

    @classmethod
    def of(cls, o: Organization) -> OrganizationOut:
        return cls(code=o.code, name=o.name, scheme=o.scheme, identifier=o.identifier,
                   roles=sorted(o.roles), industry=o.industry,
                   created_at=instant(o.created_at))  # fmt: skip


class ToleranceIn(Shape):
    """How far invoices to this buyer may exceed what is supported and still match."""

    percent: str = Field("0", pattern=r"^[0-9]{1,3}(\.[0-9]{1,4})?%?$", examples=["2"])
    absolute: Money = Field(Money(amount="0.00", currency="CNY"), description="An allowance.")


class ToleranceOut(Shape):
    code: str
    percent: str
    absolute: Money


class RelationshipIn(Shape):
    buyer: str = Field(min_length=1, max_length=64, examples=["core"])
    supplier: str = Field(min_length=1, max_length=64, examples=["tier1"])


class RelationshipStatusIn(Shape):
    status: str = Field(pattern="^(active|suspended)$", examples=["suspended"])


class RelationshipOut(Shape):
    buyer: str
    supplier: str
    status: str

    @classmethod
    def of(cls, r: TradeRelationship) -> RelationshipOut:
        return cls(buyer=r.buyer, supplier=r.supplier, status=r.status.value)
