from dataclasses import replace
from datetime import date

import pytest

from capillary.domain import errors
from capillary.domain.payables import Payable, PayableStatus, check_confirmation, reduce_open
from capillary.domain.trade import Invoice, InvoiceStatus

INVOICE = Invoice(
    seller="tier1", buyer="core", code=None, number="26442000000012345678", order_number="PO-1",
    currency="CNY", issue_date=date(2026, 10, 20), amount=100, tax=13, total=113, lines=(),
    status=InvoiceStatus.MATCHED,
)  # fmt: skip


def test_a_matched_invoice_is_confirmed_and_an_unmatched_one_only_with_a_reason() -> None:
    due = date(2027, 1, 31)
    assert check_confirmation(INVOICE, due_date=due, override_reason=None) is None
    exceptions = replace(INVOICE, status=InvoiceStatus.EXCEPTIONS)
    with pytest.raises(errors.OverrideReasonRequired):
        check_confirmation(exceptions, due_date=due, override_reason="  ")
    assert check_confirmation(exceptions, due_date=due, override_reason=" short ") == "short"
    with pytest.raises(errors.NotMatched):
        check_confirmation(replace(INVOICE, status=InvoiceStatus.RECEIVED), due_date=due,
                           override_reason="x")  # fmt: skip
    with pytest.raises(errors.AlreadyConfirmed):
        check_confirmation(replace(INVOICE, status=InvoiceStatus.CONFIRMED), due_date=due,
                           override_reason=None)  # fmt: skip
    with pytest.raises(errors.ValidationError, match="before its invoice"):
        check_confirmation(INVOICE, due_date=date(2026, 10, 19), override_reason=None)


def test_an_open_amount_only_goes_down_and_never_below_zero() -> None:
    p = Payable(1, 1, "core", "tier1", "CNY", 113, 113, date(2027, 1, 1), PayableStatus.OPEN, None)
    assert reduce_open(p, 100) == 13
    assert reduce_open(p, 113) == 0
    with pytest.raises(errors.OverPayable):
        reduce_open(p, 114)
    for bad in (0, -1, 1.5):
        with pytest.raises(errors.InvalidAmount):
            reduce_open(p, bad)  # type: ignore[arg-type]
