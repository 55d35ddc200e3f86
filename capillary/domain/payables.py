"""Payables: what a buyer confirms it owes.

A buyer confirms a *matched* invoice into a payable for the invoice's total, due on a date
no earlier than the invoice. It may also confirm an invoice with match exceptions, but only
by overriding them explicitly with a reason, which is kept. An invoice is confirmed once.

A payable's *open amount* starts at its amount and only goes down: when certificates are
issued against it, or when it is paid. It never goes below zero.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from capillary.domain.errors import (
    AlreadyConfirmed,
    InvalidAmount,
    NotMatched,
    OverPayable,
    OverrideReasonRequired,
    ValidationError,
)
from capillary.domain.trade import Invoice, InvoiceStatus
from capillary.domain.units import describe


class PayableStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # nothing left open


@dataclass(frozen=True, slots=True)
class Payable:
    id: int
    invoice_id: int
    buyer: str
    supplier: str
    currency: str
    amount: int
    open_amount: int
    due_date: date
    status: PayableStatus
    override_reason: str | None


def check_confirmation(
    invoice: Invoice, *, due_date: date, override_reason: str | None
) -> str | None:
    """The override reason to record (``None`` for a matched invoice), or a refusal."""
    if invoice.status is InvoiceStatus.CONFIRMED:
        raise AlreadyConfirmed(f"Invoice {invoice.label} is already confirmed.")
    if due_date < invoice.issue_date:
        raise ValidationError(
            f"A payable cannot fall due ({due_date}) before its invoice was issued "
            f"({invoice.issue_date})."
        )
    reason = (override_reason or "").strip() or None
    if invoice.status is InvoiceStatus.MATCHED:
        return reason
    if invoice.status is InvoiceStatus.RECEIVED:
        raise NotMatched(f"Invoice {invoice.label} has not been matched yet.")
    if reason is None:
        raise OverrideReasonRequired(
            f"Invoice {invoice.label} has match exceptions; confirming it anyway needs a "
            "reason, which is recorded."
        )
    return reason


def reduce_open(payable: Payable, amount: int) -> int:
    """The open amount after taking ``amount`` off it."""
    if type(amount) is not int or amount <= 0:
        raise InvalidAmount(f"An amount taken off a payable is positive; got {amount!r}.")
    if amount > payable.open_amount:
        raise OverPayable(
            f"Payable {payable.id} has {describe(payable.open_amount, payable.currency)} open; "
            f"{describe(amount, payable.currency)} requested."
        )
    return payable.open_amount - amount
