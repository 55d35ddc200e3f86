"""Pricing a claim sold before maturity (financing, discounting).

    discount = face × annual rate × days to maturity / day-count base

rounded half-up to the minor unit; price = face − discount. ``days`` are actual calendar
days from the financing date to the maturity date (ACT). The day-count base is 360 by
default (ACT/360, the money-market convention), 365 as an option (ACT/365 fixed). An optional
platform fee is a rate on the face, rounded the same way, paid by the seller out of the
price.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from capillary.domain.errors import InvalidRate, ValidationError
from capillary.domain.inputs import RateRange, percent_text

ROUNDING = ROUND_HALF_UP


class DayCount(enum.StrEnum):
    ACT_360 = "ACT/360"
    ACT_365 = "ACT/365"

    @property
    def base(self) -> int:
        return 360 if self is DayCount.ACT_360 else 365


@dataclass(frozen=True, slots=True)
class Quote:
    """What a financing pays: the seller receives ``price − fee``."""

    face: int
    days: int
    discount: int
    fee: int

    @property
    def price(self) -> int:
        return self.face - self.discount

    @property
    def to_seller(self) -> int:
        return self.price - self.fee


def check_rate(rate: Decimal, *, what: str = "An annual rate") -> Decimal:
    if not isinstance(rate, Decimal) or not Decimal(0) <= rate < Decimal(1):
        raise ValidationError(f"{what} is a decimal fraction from 0 to below 1; got {rate!r}.")
    return rate


def within(rate: Decimal, bounds: RateRange) -> Decimal:
    """``rate`` if it lies in the platform's range for its purpose, else ``invalid_rate``."""
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise InvalidRate(f"{bounds.what} is a finite decimal fraction; got {rate!r}.")
    if not bounds.low <= rate <= bounds.high:
        raise InvalidRate(
            f"{bounds.what} must be between {percent_text(bounds.low)} and "
            f"{percent_text(bounds.high)}; got {percent_text(rate)}."
        )
    return rate


def discount(face: int, rate: Decimal, days: int, day_count: DayCount = DayCount.ACT_360) -> int:
    """face × rate × days / base, half-up to the minor unit."""
    if days < 0:
        raise ValidationError("A claim cannot be discounted past its maturity.")
    exact = Decimal(face) * check_rate(rate) * days / day_count.base
    return int(exact.quantize(Decimal(1), ROUNDING))


def quote(
    face: int,
    rate: Decimal,
    *,
    on: date,
    maturity: date,
    day_count: DayCount = DayCount.ACT_360,
    fee_rate: Decimal = Decimal(0),
) -> Quote:
    days = (maturity - on).days
    if days <= 0:
        raise ValidationError(f"Financing on {on} is not before maturity {maturity}.")
    fee = int(
        (Decimal(face) * check_rate(fee_rate, what="A fee rate")).quantize(Decimal(1), ROUNDING)
    )
    d = discount(face, rate, days, day_count)
    if fee > face - d:
        raise ValidationError("The fee would exceed the price.")
    return Quote(face=face, days=days, discount=d, fee=fee)
