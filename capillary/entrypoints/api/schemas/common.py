"""Shapes every capability shares: money, rates, pages of lists, problems."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from capillary.domain import wire
from capillary.domain.units import currency, parse_major
from capillary.domain.wire import instant as instant
from capillary.domain.wire import rate_text as rate_text

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
        return cls.model_validate(wire.money(minor, currency))


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


def minor_units(money: Money) -> tuple[int, str]:
    """An amount sent as money, in minor units of its (known) currency, exactly."""
    unit = currency(money.currency)
    return parse_major(money.amount, unit.exponent), unit.code
