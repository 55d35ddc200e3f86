"""The digital twin of the trade: purchase orders, deliveries and invoices.

Quantities and unit prices are exact decimals (a screw may cost 0.0125 CNY); amounts are
integers in the currency's minor units. Two roundings, both half-up to the minor unit:

- a line's amount is quantity × unit price (an invoice line may differ from that by at most
  one minor unit, the unit price printed on it being itself rounded);
- a line's tax is amount × tax rate.

An invoice's amount before tax, tax and total must add up exactly: the amount is the sum of
its lines' amounts, the tax the sum of their taxes, the total the two together.

Invoice numbers follow the Chinese formats: a fully digital e-invoice has a 20-digit number
and no code; an older invoice has a 10- or 12-digit code and an 8-digit number. A seller
never issues the same code and number twice.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from capillary.domain.errors import (
    InconsistentAmounts,
    InvalidInvoiceNumber,
    InvalidQuantity,
    ValidationError,
)
from capillary.domain.units import describe

#: The rounding of every computed amount: half-up to the minor unit.
ROUNDING = ROUND_HALF_UP
MAX_PLACES = 6  # decimal places of a quantity or a unit price
_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class OrderStatus(enum.StrEnum):
    OPEN = "open"
    CANCELLED = "cancelled"


class DeliveryStatus(enum.StrEnum):
    RECEIVED = "received"  # awaiting the buyer's acceptance
    ACCEPTED = "accepted"  # the buyer has accepted or rejected every line


class InvoiceStatus(enum.StrEnum):
    RECEIVED = "received"
    MATCHED = "matched"
    EXCEPTIONS = "exceptions"
    CONFIRMED = "confirmed"


def decimal(value: object, *, what: str, positive: bool = False) -> Decimal:
    """An exact decimal of at most ``MAX_PLACES`` places; never from a float."""
    if isinstance(value, float):
        raise ValidationError(f"{what} must be given as text or Decimal, not a float.")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValidationError(f"{what} {value!r} is not a number.") from None
    if not d.is_finite():
        raise ValidationError(f"{what} {value!r} is not a number.")
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise ValidationError(f"{what} {value} has more than {MAX_PLACES} decimal places.")
    if d < 0 or (positive and d == 0):
        raise (InvalidQuantity if "uantity" in what else ValidationError)(
            f"{what} must be {'above' if positive else 'at least'} zero; got {value}."
        )
    return _plain(d)


def _plain(d: Decimal) -> Decimal:
    """The shortest exact form, never in exponent notation (10, not 1E+1)."""
    d = d.normalize()
    return d.quantize(Decimal(1)) if d.as_tuple().exponent > 0 else d  # type: ignore[operator]


def tax_rate(value: object) -> Decimal:
    """A tax rate from ``0.13`` or ``13%``: 0 to 1."""
    text = str(value).strip()
    rate = (
        decimal(text.rstrip("%"), what="Tax rate") / 100
        if text.endswith("%")
        else decimal(text, what="Tax rate")
    )
    if rate >= 1:
        raise ValidationError(f"A tax rate is below 100%; got {value}.")
    return rate


def line_amount(quantity: Decimal, unit_price: Decimal, exponent: int) -> int:
    """quantity × unit price in minor units, rounded half-up."""
    return int((quantity * unit_price).scaleb(exponent).quantize(Decimal(1), ROUNDING))


def line_tax(amount: int, rate: Decimal) -> int:
    """amount × rate in minor units, rounded half-up."""
    return int((amount * rate).quantize(Decimal(1), ROUNDING))


def check_document_number(number: str, *, what: str) -> str:
    if not isinstance(number, str) or not _NUMBER.match(number):
        raise ValidationError(
            f"{what} number must be 1-64 letters, digits or '._/-'; got {number!r}."
        )
    return number


def check_invoice_number(code: str | None, number: str) -> tuple[str | None, str]:
    """``(code, number)`` as stored: a 20-digit fully digital number and no code, or a 10- or
    12-digit code with an 8-digit number."""
    code = (code or "").strip() or None
    number = (number or "").strip()
    if code is None:
        if not re.fullmatch(r"\d{20}", number):
            raise InvalidInvoiceNumber(
                f"A fully digital e-invoice number has 20 digits; got {number!r} "
                "(an older invoice also needs its 10- or 12-digit code)."
            )
        return None, number
    if not re.fullmatch(r"\d{10}|\d{12}", code):
        raise InvalidInvoiceNumber(f"An invoice code has 10 or 12 digits; got {code!r}.")
    if not re.fullmatch(r"\d{8}", number):
        raise InvalidInvoiceNumber(f"An invoice with a code has an 8-digit number; got {number!r}.")
    return code, number


# ---------------------------------------------------------------- purchase orders


@dataclass(frozen=True, slots=True)
class OrderLine:
    line_no: int
    item: str
    description: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    number: str
    buyer: str
    supplier: str
    currency: str
    order_date: date
    expected_date: date | None
    lines: tuple[OrderLine, ...]
    status: OrderStatus = OrderStatus.OPEN
    version: int = 1
    id: int = 0

    def line(self, line_no: int) -> OrderLine | None:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        return None

    def amount(self, exponent: int) -> int:
        return sum(line_amount(ln.quantity, ln.unit_price, exponent) for ln in self.lines)


def check_order(order: PurchaseOrder) -> PurchaseOrder:
    """An order's own rules: a number, at least one line, line numbers unique and positive,
    quantities above zero, dates in order, buyer and supplier different."""
    check_document_number(order.number, what="Order")
    if order.buyer == order.supplier:
        raise ValidationError("An order's buyer and supplier must be different organizations.")
    if not order.lines:
        raise ValidationError(f"Order {order.number} has no lines.")
    seen = set()
    for line in order.lines:
        if line.line_no <= 0 or line.line_no in seen:
            raise ValidationError(
                f"Order {order.number}: line numbers must be positive and unique ({line.line_no})."
            )
        seen.add(line.line_no)
        if line.quantity <= 0:
            raise InvalidQuantity(f"Order {order.number} line {line.line_no}: quantity above 0.")
        if not line.item:
            raise ValidationError(f"Order {order.number} line {line.line_no} names no item.")
    if order.expected_date is not None and order.expected_date < order.order_date:
        raise ValidationError(f"Order {order.number} is expected before it was ordered.")
    return order


# ---------------------------------------------------------------- deliveries


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    order_line_no: int
    quantity: Decimal
    accepted: Decimal | None = None
    rejected: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    number: str
    order_number: str
    buyer: str
    supplier: str
    delivered_on: date
    lines: tuple[DeliveryLine, ...]
    status: DeliveryStatus = DeliveryStatus.RECEIVED
    id: int = 0


def check_delivery(delivery: Delivery, order: PurchaseOrder) -> Delivery:
    """Every line is against a line of the order, for a positive quantity; accepted and
    rejected quantities, where given, account for exactly what was delivered."""
    check_document_number(delivery.number, what="Delivery")
    if not delivery.lines:
        raise ValidationError(f"Delivery {delivery.number} has no lines.")
    for line in delivery.lines:
        if order.line(line.order_line_no) is None:
            raise ValidationError(
                f"Delivery {delivery.number}: order {order.number} has no line "
                f"{line.order_line_no}."
            )
        if line.quantity <= 0:
            raise InvalidQuantity(
                f"Delivery {delivery.number} line {line.order_line_no}: quantity above 0."
            )
        if (line.accepted is None) != (line.rejected is None):
            raise InvalidQuantity(
                f"Delivery {delivery.number} line {line.order_line_no}: give both accepted "
                "and rejected quantities, or neither."
            )
        if line.accepted is not None and line.accepted + (line.rejected or 0) != line.quantity:
            raise InvalidQuantity(
                f"Delivery {delivery.number} line {line.order_line_no}: accepted "
                f"{line.accepted} and rejected {line.rejected} must add up to the "
                f"{line.quantity} delivered."
            )
    return delivery


def accept_lines(delivery: Delivery, accepted: dict[int, Decimal]) -> tuple[DeliveryLine, ...]:
    """The buyer's acceptance: for each line the quantity accepted (the rest is rejected);
    a line not named is accepted in full."""
    lines = []
    for line in delivery.lines:
        ok = accepted.get(line.order_line_no, line.quantity)
        if not Decimal(0) <= ok <= line.quantity:
            raise InvalidQuantity(
                f"Delivery {delivery.number} line {line.order_line_no}: accept 0 to "
                f"{line.quantity}; got {ok}."
            )
        lines.append(DeliveryLine(line.order_line_no, line.quantity, ok, line.quantity - ok))
    unknown = set(accepted) - {line.order_line_no for line in delivery.lines}
    if unknown:
        raise ValidationError(f"Delivery {delivery.number} has no line {min(unknown)}.")
    return tuple(lines)


# ---------------------------------------------------------------- invoices


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    line_no: int
    order_line_no: int
    quantity: Decimal
    unit_price: Decimal
    amount: int
    tax_rate: Decimal
    tax: int


@dataclass(frozen=True, slots=True)
class Invoice:
    seller: str
    buyer: str
    code: str | None
    number: str
    order_number: str
    currency: str
    issue_date: date
    amount: int
    tax: int
    total: int
    lines: tuple[InvoiceLine, ...]
    status: InvoiceStatus = InvoiceStatus.RECEIVED
    id: int = 0

    @property
    def label(self) -> str:
        return f"{self.code}-{self.number}" if self.code else self.number


def check_invoice(invoice: Invoice, exponent: int) -> Invoice:
    """The invoice's own arithmetic, to the minor unit (see the module docstring)."""
    check_invoice_number(invoice.code, invoice.number)
    if invoice.seller == invoice.buyer:
        raise ValidationError("An invoice's seller and buyer must be different organizations.")
    if not invoice.lines:
        raise ValidationError(f"Invoice {invoice.label} has no lines.")
    seen = set()
    for line in invoice.lines:
        if line.line_no in seen:
            raise ValidationError(f"Invoice {invoice.label}: line {line.line_no} twice.")
        seen.add(line.line_no)
        if line.quantity <= 0:
            raise InvalidQuantity(f"Invoice {invoice.label} line {line.line_no}: quantity above 0.")
        computed = line_amount(line.quantity, line.unit_price, exponent)
        if abs(computed - line.amount) > 1:
            raise InconsistentAmounts(
                f"Invoice {invoice.label} line {line.line_no}: {line.quantity} × "
                f"{line.unit_price} is {describe(computed, invoice.currency)}, not "
                f"{describe(line.amount, invoice.currency)}."
            )
        if line_tax(line.amount, line.tax_rate) != line.tax:
            raise InconsistentAmounts(
                f"Invoice {invoice.label} line {line.line_no}: tax at {line.tax_rate} on "
                f"{describe(line.amount, invoice.currency)} is "
                f"{describe(line_tax(line.amount, line.tax_rate), invoice.currency)}, not "
                f"{describe(line.tax, invoice.currency)}."
            )
    amount = sum(line.amount for line in invoice.lines)
    tax = sum(line.tax for line in invoice.lines)
    if (invoice.amount, invoice.tax) != (amount, tax):
        raise InconsistentAmounts(
            f"Invoice {invoice.label}: its lines add up to {describe(amount, invoice.currency)} "
            f"before tax and {describe(tax, invoice.currency)} tax, not "
            f"{describe(invoice.amount, invoice.currency)} and "
            f"{describe(invoice.tax, invoice.currency)}."
        )
    if invoice.total != invoice.amount + invoice.tax:
        raise InconsistentAmounts(
            f"Invoice {invoice.label}: total {describe(invoice.total, invoice.currency)} is not "
            f"amount {describe(invoice.amount, invoice.currency)} plus tax "
            f"{describe(invoice.tax, invoice.currency)}."
        )
    return invoice
