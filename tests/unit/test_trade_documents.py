"""Orders, deliveries and invoices: their own rules and their arithmetic, to the fen."""

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from capillary.domain import errors
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    Invoice,
    InvoiceLine,
    OrderLine,
    PurchaseOrder,
    accept_lines,
    check_delivery,
    check_invoice,
    check_invoice_number,
    check_order,
    decimal,
    line_amount,
    line_tax,
    tax_rate,
)


def order(**kw: object) -> PurchaseOrder:
    base = PurchaseOrder(
        number="PO-1", buyer="core", supplier="tier1", currency="CNY",
        order_date=date(2026, 9, 1), expected_date=date(2026, 10, 1),
        lines=(OrderLine(1, "BC-220", "caliper", D(500), "pcs", D("185.50"), D("0.13")),),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def invoice(lines: tuple[InvoiceLine, ...], **kw: object) -> Invoice:
    amount = sum(ln.amount for ln in lines)
    tax = sum(ln.tax for ln in lines)
    base = Invoice(
        seller="tier1", buyer="core", code=None, number="26442000000012345678",
        order_number="PO-1", currency="CNY", issue_date=date(2026, 10, 20),
        amount=amount, tax=tax, total=amount + tax, lines=lines,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def test_amounts_round_half_up_to_the_fen() -> None:
    assert line_amount(D(495), D("185.50"), 2) == 9_182_250
    assert line_amount(D("12.5"), D("0.0125"), 2) == 16  # 0.15625 -> 0.16
    assert line_amount(D(1), D("0.005"), 2) == 1  # half-up, not half-even
    assert line_tax(9_182_250, D("0.13")) == 1_193_693  # 11,936.925 -> 11,936.93
    assert line_tax(5, D("0.1")) == 1  # 0.5 fen rounds up
    assert line_amount(D(3), D(7), 0) == 21


def test_decimals_are_exact_and_never_floats() -> None:
    assert decimal("12.500", what="Quantity") == D("12.5")
    assert str(decimal("10", what="Quantity")) == "10"  # never 1E+1
    with pytest.raises(errors.ValidationError, match="float"):
        decimal(0.1, what="Quantity")
    with pytest.raises(errors.ValidationError, match="decimal places"):
        decimal("0.1234567", what="Unit price")
    with pytest.raises(errors.InvalidQuantity):
        decimal("0", what="Quantity", positive=True)
    assert tax_rate("13%") == D("0.13")
    assert tax_rate("0.06") == D("0.06")
    with pytest.raises(errors.ValidationError):
        tax_rate("100%")


@pytest.mark.parametrize(
    ("code", "number", "ok"),
    [
        (None, "26442000000012345678", True),
        ("", "26442000000012345678", True),
        ("044031900111", "00582211", True),
        ("4403190011", "00582211", True),
        (None, "2644200000001234567", False),  # 19 digits
        (None, "00582211", False),  # an old number without its code
        ("04403190011", "00582211", False),  # 11-digit code
        ("044031900111", "0058221", False),  # 7-digit number
        ("044031900111", "26442000000012345678", False),
    ],
)
def test_invoice_numbers_follow_the_chinese_formats(
    code: str | None, number: str, ok: bool
) -> None:
    if ok:
        assert check_invoice_number(code, number)[1] == number
    else:
        with pytest.raises(errors.InvalidInvoiceNumber):
            check_invoice_number(code, number)


def test_an_invoice_must_add_up_to_the_fen() -> None:
    good = InvoiceLine(1, 1, D(495), D("185.50"), 9_182_250, D("0.13"), 1_193_693)
    check_invoice(invoice((good,)), 2)
    # A line amount may differ from quantity x price by one fen (a rounded unit price)...
    check_invoice(invoice((replace(good, amount=9_182_251, tax=1_193_693),)), 2)
    # ...not two.
    with pytest.raises(errors.InconsistentAmounts, match=r"91,822\.50 CNY"):
        check_invoice(invoice((replace(good, amount=9_182_252, tax=1_193_693),)), 2)
    with pytest.raises(errors.InconsistentAmounts, match=r"tax at 0\.13"):
        check_invoice(invoice((replace(good, tax=1_193_692),)), 2)
    with pytest.raises(errors.InconsistentAmounts, match="total"):
        check_invoice(invoice((good,), total=1), 2)
    with pytest.raises(errors.InconsistentAmounts, match="lines add up"):
        check_invoice(invoice((good,), amount=1, total=1 + 1_193_693), 2)
    with pytest.raises(errors.ValidationError, match="different organizations"):
        check_invoice(invoice((good,), buyer="tier1"), 2)


def test_an_order_has_lines_numbered_once_and_dates_in_order() -> None:
    check_order(order())
    line = order().lines[0]
    with pytest.raises(errors.ValidationError, match="no lines"):
        check_order(order(lines=()))
    with pytest.raises(errors.ValidationError, match="unique"):
        check_order(order(lines=(line, line)))
    with pytest.raises(errors.ValidationError, match="expected before"):
        check_order(order(expected_date=date(2026, 8, 1)))
    with pytest.raises(errors.ValidationError):
        check_order(order(supplier="core"))


def test_a_delivery_is_against_order_lines_and_accounts_for_what_came() -> None:
    d = Delivery("DN-1", "PO-1", "core", "tier1", date(2026, 10, 1),
                 (DeliveryLine(1, D(500), D(495), D(5)),))  # fmt: skip
    check_delivery(d, order())
    with pytest.raises(errors.ValidationError, match="no line 2"):
        check_delivery(replace(d, lines=(DeliveryLine(2, D(1)),)), order())
    with pytest.raises(errors.InvalidQuantity, match="add up"):
        check_delivery(replace(d, lines=(DeliveryLine(1, D(500), D(495), D(4)),)), order())
    with pytest.raises(errors.InvalidQuantity, match="both"):
        check_delivery(replace(d, lines=(DeliveryLine(1, D(500), D(495), None),)), order())


def test_the_buyer_accepts_line_by_line_and_rejects_the_rest() -> None:
    d = Delivery("DN-1", "PO-1", "core", "tier1", date(2026, 10, 1),
                 (DeliveryLine(1, D(500)), DeliveryLine(2, D(10))))  # fmt: skip
    lines = accept_lines(d, {1: D(480)})
    assert [(x.accepted, x.rejected) for x in lines] == [(D(480), D(20)), (D(10), D(0))]
    with pytest.raises(errors.InvalidQuantity):
        accept_lines(d, {1: D(501)})
    with pytest.raises(errors.ValidationError):
        accept_lines(d, {3: D(1)})
