"""Properties of the three-way match over random orders, acceptances and invoices."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from capillary.domain.matching import three_way_match
from capillary.domain.parties import Tolerance
from tests.support.documents import an_invoice, an_order

quantities = st.integers(min_value=1, max_value=100_000)
prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)
percents = st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("1"), Decimal("2"), Decimal("5")])


@settings(max_examples=300, deadline=None)
@given(
    accepted=quantities,
    price=prices,
    percent=percents,
    absolute=st.integers(0, 500),
    permille=st.integers(min_value=0, max_value=1000),
)
def test_scaling_invoiced_quantities_within_tolerance_never_breaks_a_match(
    accepted: int, price: Decimal, percent: Decimal, absolute: int, permille: int
) -> None:
    """Billing any quantity from 1 up to accepted x (1 + tolerance) at the order price
    matches: the tolerance bounds are honoured to the fen, whatever the rounding."""
    tolerance = Tolerance(percent, absolute)
    ceiling = Decimal(accepted) * (1 + tolerance.fraction)
    quantity = (ceiling * permille / 1000).quantize(Decimal("0.001"), rounding="ROUND_FLOOR")
    quantity = max(quantity, Decimal("0.001"))
    order = an_order((str(accepted * 2), str(price), "0.13"))
    invoice = an_invoice((1, str(quantity), str(price), "0.13"))
    result = three_way_match(
        invoice, order, accepted={1: Decimal(accepted)}, billed={}, tolerance=tolerance,
        exponent=2,
    )  # fmt: skip
    assert result.matched, result.exceptions


@settings(max_examples=300, deadline=None)
@given(
    accepted=quantities,
    price=prices,
    percent=percents,
    extra=st.integers(min_value=1, max_value=1_000),
)
def test_an_invoice_above_the_accepted_amount_beyond_tolerance_never_matches(
    accepted: int, price: Decimal, percent: Decimal, extra: int
) -> None:
    tolerance = Tolerance(percent, 0)
    over = (Decimal(accepted) * (1 + tolerance.fraction)).to_integral_value("ROUND_FLOOR") + extra
    order = an_order((str(accepted * 3), str(price), "0.13"))
    invoice = an_invoice((1, str(over), str(price), "0.13"))
    result = three_way_match(
        invoice, order, accepted={1: Decimal(accepted)}, billed={}, tolerance=tolerance,
        exponent=2,
    )  # fmt: skip
    assert not result.matched
    assert "quantity_exceeds_accepted" in result.codes
