"""The three-way match, exception by exception."""

from dataclasses import replace
from decimal import Decimal as D

from capillary.domain.matching import three_way_match
from capillary.domain.parties import Tolerance
from capillary.domain.trade import OrderStatus
from tests.support.documents import an_invoice, an_order

ORDER = an_order(("500", "185.50", "0.13"), ("1000", "92.00", "0.13"))
ACCEPTED = {1: D(495), 2: D(1000)}


NO_TOLERANCE = Tolerance()


def match(invoice, order=ORDER, accepted=ACCEPTED, billed=None, tolerance=NO_TOLERANCE):  # type: ignore[no-untyped-def]
    return three_way_match(
        invoice, order, accepted=accepted, billed=billed or {}, tolerance=tolerance, exponent=2
    )


def test_an_invoice_for_what_was_accepted_at_the_order_price_matches() -> None:
    result = match(an_invoice((1, "495", "185.50", "0.13"), (2, "1000", "92.00", "0.13")))
    assert result.matched
    assert result.codes == []


def test_billing_more_than_was_accepted_is_named() -> None:
    result = match(an_invoice((1, "500", "185.50", "0.13")))
    assert result.codes == ["quantity_exceeds_accepted", "amount_exceeds_accepted"]
    assert result.exceptions[0].line_no == 1


def test_what_other_invoices_billed_is_no_longer_open() -> None:
    result = match(an_invoice((1, "100", "185.50", "0.13")), billed={1: D(400)})
    assert result.codes == ["quantity_exceeds_accepted", "amount_exceeds_accepted"]
    assert match(an_invoice((1, "95", "185.50", "0.13")), billed={1: D(400)}).matched


def test_a_price_or_a_tax_rate_other_than_the_orders_is_named() -> None:
    assert match(an_invoice((1, "100", "185.49", "0.13"))).codes == ["price_differs"]
    assert match(an_invoice((1, "100", "185.50", "0.09"))).codes == ["tax_differs"]
    # A higher price is also a higher amount than the accepted goods support.
    assert match(an_invoice((1, "495", "190.00", "0.13"))).codes == [
        "price_differs",
        "amount_exceeds_accepted",
    ]


def test_the_whole_invoice_can_be_off() -> None:
    invoice = an_invoice((1, "1", "185.50", "0.13"))
    assert match(invoice, order=None).codes == ["no_order"]
    assert match(invoice, order=replace(ORDER, supplier="someone-else")).codes == ["no_order"]
    assert match(invoice, order=replace(ORDER, status=OrderStatus.CANCELLED)).codes == [
        "order_cancelled"
    ]
    assert match(replace(invoice, currency="USD")).codes == ["currency_differs"]
    assert match(an_invoice((9, "1", "185.50", "0.13"))).codes == ["unknown_order_line"]


def test_the_buyers_tolerance_lets_small_differences_through() -> None:
    over = an_invoice((1, "500", "185.50", "0.13"))  # 5 above the 495 accepted (1.01%)
    assert not match(over).matched
    assert not match(over, tolerance=Tolerance(D("1"), 0)).matched
    assert match(over, tolerance=Tolerance(D("1.1"), 0)).matched
    pricier = an_invoice((1, "495", "185.60", "0.13"))  # +0.054% on price, +49.50 on amount
    assert match(pricier, tolerance=Tolerance(D("0.06"), 0)).matched
    # The absolute tolerance is money: it forgives an amount, not a quantity or a price.
    assert match(an_invoice((1, "495", "185.50", "0.13")), tolerance=Tolerance(D(0), 1)).matched
