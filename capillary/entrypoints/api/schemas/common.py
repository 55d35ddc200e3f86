"""Shapes every capability shares: money, rates, pages of lists, problems."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from capillary.domain.units import ISO_4217, currency, format_minor, parse_major

T = TypeVar("T")

AMOUNT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,4})?$"

AmountText = Annotated[
    str,
    Field(
        pattern=AMOUNT_PATTERN,
        max_length=24,
        description="Major units as a decimal string, never a number: 1250.00",
        examples=["1250.00"],
    ),
]
CurrencyCode = Annotated[
    str,
    Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code", examples=["CNY"]),
]
RateText = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,3}(\.[0-9]{1,10})?$",
        max_length=16,
        description="An annual rate as a decimal string: 0.045 is 4.5%",
        examples=["0.045"],
    ),
]
Code = Annotated[
    str, Field(min_length=1, max_length=64, description="An organization's code", examples=["core"])
]


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(Shape):
    """An amount in major units with its currency."""

    amount: AmountText
    currency: CurrencyCode

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        exponent = ISO_4217.get(currency, 2)
        return cls(amount=format_minor(minor, exponent).replace(",", ""), currency=currency)


def rate_text(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate == rate.to_integral() else str(rate)


class Page(Shape, Generic[T]):
    """A page of a list: ``next`` is the opaque cursor of the page after it (absent on the
    last page)."""

    items: list[T]
    next: str | None = Field(None, description="Pass as ?cursor= for the next page.")


class FieldProblem(Shape):
    pointer: str = Field(examples=["/amount/amount"])
    detail: str


class Problem(BaseModel):
    """An RFC 9457 problem: ``code`` is stable, ``detail`` a sentence for people."""

    type: str
    title: str
    status: int
    code: str = Field(examples=["insufficient_cash"])
    detail: str = Field(examples=["core's cash 1,000.00 CNY is short of 2,500.00 CNY."])
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def instant(us: int) -> datetime:
    """A stored instant (microseconds since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def minor_units(money: Money) -> tuple[int, str]:
    """An amount sent as money, in minor units of its (known) currency, exactly."""
    unit = currency(money.currency)
    return parse_major(money.amount, unit.exponent), unit.code
