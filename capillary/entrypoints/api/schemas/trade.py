"""Shapes of the digitized trade: orders, deliveries, invoices, their match, payables.

Documents are sent in the fields of a JSON import record (the same as a file's), amounts in
major units as strings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field

from capillary.domain import wire
from capillary.domain.matching import MatchResult
from capillary.domain.payables import Payable
from capillary.domain.trade import Delivery, Invoice, PurchaseOrder
from capillary.domain.units import ISO_4217
from capillary.entrypoints.api.schemas.common import AmountText, CurrencyCode, Money, Shape

Text = Annotated[str, Field(min_length=1, max_length=200)]
Qty = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,6})?$", examples=["120"])]
TaxRate = Annotated[str, Field(pattern=r"^0(\.[0-9]{1,4})?$|^1(\.0{1,4})?$", examples=["0.13"])]


def _dec(value: Decimal) -> str:
    return format(value, "f")


def record(model: Shape) -> dict[str, Any]:
    """A document as the import record the domain parses."""
    return model.model_dump(mode="json", exclude_none=True)


class OrderLineIn(Shape):
    line_no: int = Field(ge=1, le=100_000)
    item: Text
    description: str = Field("", max_length=500)
    quantity: Qty
    uom: str = Field("EA", min_length=1, max_length=16)
    unit_price: AmountText
    tax_rate: TaxRate = "0"


class OrderIn(Shape):
    buyer: Text
    supplier: Text
    number: Text
    currency: CurrencyCode = "CNY"
    order_date: date
    expected_date: date | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1_000)


class OrderLineOut(Shape):
    line_no: int
    item: str
    description: str
    quantity: str
    uom: str
    unit_price: str
    tax_rate: str


class OrderOut(Shape):
    id: int
    number: str
    buyer: str
    supplier: str
    currency: str
    order_date: date
    expected_date: date | None
    status: str
    version: int
    amount: Money
    lines: list[OrderLineOut]

    @classmethod
    def of(cls, o: PurchaseOrder) -> OrderOut:
        return cls(
            id=o.id, number=o.number, buyer=o.buyer, supplier=o.supplier, currency=o.currency,
            order_date=o.order_date, expected_date=o.expected_date, status=o.status.value,
            version=o.version, amount=Money.of(o.amount(ISO_4217.get(o.currency, 2)), o.currency),
            lines=[OrderLineOut(line_no=ln.line_no, item=ln.item, description=ln.description,
                                quantity=_dec(ln.quantity), uom=ln.uom,
                                unit_price=_dec(ln.unit_price), tax_rate=_dec(ln.tax_rate))
                   for ln in o.lines],
        )  # fmt: skip


class Reason(Shape):
    reason: str = Field(min_length=1, max_length=500, examples=["Replaced by PO-7781"])


class DeliveryLineIn(Shape):
    order_line_no: int = Field(ge=1, le=100_000)
    quantity: Qty
    accepted: Qty | None = None
    rejected: Qty | None = None


class DeliveryIn(Shape):
    supplier: Text
    buyer: Text
    number: Text
    order_number: Text
    delivered_on: date
    lines: list[DeliveryLineIn] = Field(min_length=1, max_length=1_000)


class DeliveryLineOut(Shape):
    order_line_no: int
    quantity: str
    accepted: str | None
    rejected: str | None


class DeliveryOut(Shape):
    id: int
    number: str
    order_number: str
    buyer: str
    supplier: str
    delivered_on: date
    status: str
    lines: list[DeliveryLineOut]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id, number=d.number, order_number=d.order_number, buyer=d.buyer,
            supplier=d.supplier, delivered_on=d.delivered_on, status=d.status.value,
            lines=[DeliveryLineOut(
                order_line_no=ln.order_line_no, quantity=_dec(ln.quantity),
                accepted=None if ln.accepted is None else _dec(ln.accepted),
                rejected=None if ln.rejected is None else _dec(ln.rejected),
            ) for ln in d.lines],
        )  # fmt: skip


class AcceptedLine(Shape):
    order_line_no: int = Field(ge=1, le=100_000)
    accepted: Qty


class DeliveryAcceptance(Shape):
    """What the buyer accepts, line by line; absent: everything delivered."""

    lines: list[AcceptedLine] | None = Field(None, max_length=1_000)


class InvoiceLineIn(Shape):
    line_no: int = Field(ge=1, le=100_000)
    order_line_no: int = Field(ge=1, le=100_000)
    quantity: Qty
    unit_price: AmountText
    line_amount: AmountText
    tax_rate: TaxRate = "0"
    line_tax: AmountText = "0"


class InvoiceIn(Shape):
    seller: Text
    buyer: Text
    code: str | None = Field(None, max_length=20, description="The fapiao code, if any.")
    number: Text
    order_number: Text
    currency: CurrencyCode = "CNY"
    issue_date: date
    amount: AmountText
    tax: AmountText = "0"
    total: AmountText
    lines: list[InvoiceLineIn] = Field(min_length=1, max_length=1_000)


class InvoiceLineOut(Shape):
    line_no: int
    order_line_no: int
    quantity: str
    unit_price: str
    amount: Money
    tax_rate: str
    tax: Money


class InvoiceOut(Shape):
    id: int
    seller: str
    buyer: str
    code: str | None
    number: str
    order_number: str
    issue_date: date
    status: str
    amount: Money
    tax: Money
    total: Money
    lines: list[InvoiceLineOut]

    @classmethod
    def of(cls, i: Invoice) -> InvoiceOut:
        cur = i.currency
        return cls(
            id=i.id, seller=i.seller, buyer=i.buyer, code=i.code, number=i.number,
            order_number=i.order_number, issue_date=i.issue_date, status=i.status.value,
            amount=Money.of(i.amount, cur), tax=Money.of(i.tax, cur), total=Money.of(i.total, cur),
            lines=[InvoiceLineOut(
                line_no=ln.line_no, order_line_no=ln.order_line_no, quantity=_dec(ln.quantity),
                unit_price=_dec(ln.unit_price), amount=Money.of(ln.amount, cur),
                tax_rate=_dec(ln.tax_rate), tax=Money.of(ln.tax, cur),
            ) for ln in i.lines],
        )  # fmt: skip


class MatchIn(Shape):
    invoice_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] | None = Field(
        None, max_length=10_000, description="Only these (default: every open invoice)."
    )


class MatchException(Shape):
    code: str
    line_no: int | None
    message: str


class MatchOut(Shape):
    invoice_id: int
    matched: bool
    exceptions: list[MatchException]

    @classmethod
    def of(cls, invoice_id: int, m: MatchResult) -> MatchOut:
        return cls.model_validate(wire.match(invoice_id, m))


class ConfirmIn(Shape):
    due_date: date
    override_reason: str | None = Field(
        None, max_length=500, description="Needed when the invoice has match exceptions."
    )


class PayableOut(Shape):
    id: int
    invoice_id: int
    buyer: str
    supplier: str
    amount: Money
    open_amount: Money
    due_date: date
    status: str
    override_reason: str | None

    @classmethod
    def of(cls, p: Payable) -> PayableOut:
        return cls.model_validate(wire.payable(p))


class ReduceIn(Shape):
    amount: Money
    why: str = Field(min_length=1, max_length=500, examples=["Paid by bank transfer 2026-11-20"])


class RowProblem(Shape):
    row: int
    field: str
    reason: str
    code: str


class ImportOut(Shape):
    kind: str
    records: int
    created: int
    unchanged: int
    refused: int
    refused_documents: int
    errors: list[RowProblem] = Field(description="The first 1,000 refused rows, in file order.")
