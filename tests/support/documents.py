"""Builders for trade documents in tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from capillary.domain.trade import (
    Invoice,
    InvoiceLine,
    OrderLine,
    PurchaseOrder,
    line_amount,
    line_tax,
)


def an_order(*lines: tuple[str, str, str], number: str = "PO-1", **kw: object) -> PurchaseOrder:
    """An order core -> tier1 with (quantity, unit price, tax rate) lines."""
    order = PurchaseOrder(
        number=number,
        buyer="core",
        supplier="tier1",
        currency="CNY",
        order_date=date(2026, 9, 1),
        expected_date=None,
        lines=tuple(
            OrderLine(n, f"ITEM-{n}", "", Decimal(q), "pcs", Decimal(p), Decimal(r))
            for n, (q, p, r) in enumerate(lines, 1)
        ),
    )
    return replace(order, **kw)  # type: ignore[arg-type]


def an_invoice(
    *lines: tuple[int, str, str, str],
    number: str = "26442000000000000001",
    order_number: str = "PO-1",
    **kw: object,
) -> Invoice:
    """An invoice tier1 -> core with (order line, quantity, unit price, tax rate) lines,
    its amounts computed by the platform's rounding."""
    built = []
    for n, (order_line, q, p, r) in enumerate(lines, 1):
        amount = line_amount(Decimal(q), Decimal(p), 2)
        built.append(
            InvoiceLine(n, order_line, Decimal(q), Decimal(p), amount, Decimal(r),
                        line_tax(amount, Decimal(r)))
        )  # fmt: skip
    amount = sum(ln.amount for ln in built)
    tax = sum(ln.tax for ln in built)
    invoice = Invoice(
        seller="tier1", buyer="core", code=None, number=number, order_number=order_number,
        currency="CNY", issue_date=date(2026, 10, 20), amount=amount, tax=tax,
        total=amount + tax, lines=tuple(built),
    )  # fmt: skip
    return replace(invoice, **kw)  # type: ignore[arg-type]
