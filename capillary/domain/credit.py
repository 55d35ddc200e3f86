"""Credit: how much exposure a funder takes on an obligor, and how much an obligor may issue.

A *credit line* (授信) is a funder's limit of exposure to one obligor (a core enterprise), in
one currency, until an expiry date. Its *used* amount is the face value of that obligor's
certificate fragments the funder holds or has committed to; it is released when they settle.

An *issuance limit*, set by the operator, caps an obligor's outstanding certificates.

Both are consumed and released in the same unit of work as the operation that moves them;
exceeding either is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from capillary.domain.errors import (
    CreditLineExceeded,
    CreditLineExpired,
    InvalidAmount,
    IssuanceLimitExceeded,
)
from capillary.domain.units import describe


@dataclass(frozen=True, slots=True)
class CreditLine:
    id: int
    funder: str
    obligor: str
    currency: str
    limit: int
    used: int
    expires_on: date

    @property
    def available(self) -> int:
        return self.limit - self.used


@dataclass(frozen=True, slots=True)
class IssuanceLimit:
    obligor: str
    currency: str
    limit: int
    used: int

    @property
    def available(self) -> int:
        return self.limit - self.used


def _positive(amount: int) -> int:
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount(f"A credit amount is positive; got {amount!r}.")
    return amount


def draw(line: CreditLine, amount: int, *, on: date) -> int:
    """The line's used amount after drawing ``amount`` on it."""
    _positive(amount)
    if on > line.expires_on:
        raise CreditLineExpired(
            f"{line.funder}'s credit line to {line.obligor} expired on {line.expires_on}."
        )
    if line.used + amount > line.limit:
        raise CreditLineExceeded(
            f"{line.funder}'s credit line to {line.obligor} has "
            f"{describe(line.available, line.currency)} available; "
            f"{describe(amount, line.currency)} needed."
        )
    return line.used + amount


def issue_within(limit: IssuanceLimit, amount: int) -> int:
    """The obligor's outstanding after issuing ``amount`` more."""
    _positive(amount)
    if limit.used + amount > limit.limit:
        raise IssuanceLimitExceeded(
            f"{limit.obligor} may have {describe(limit.limit, limit.currency)} of certificates "
            f"outstanding; {describe(limit.used, limit.currency)} are, "
            f"{describe(amount, limit.currency)} more requested."
        )
    return limit.used + amount


def release(used: int, amount: int) -> int:
    """Used after releasing ``amount`` (settled or cancelled); never below zero."""
    _positive(amount)
    if amount > used:
        raise AssertionError(f"releasing {amount} from {used} used")
    return used - amount
