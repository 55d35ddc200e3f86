"""Three-way match: does an invoice agree with its order and the accepted deliveries?

For each invoice line, against its order line, with the buyer's tolerance (a fraction *p*
and an absolute amount *a* in minor units), where *open* is the quantity the buyer has
accepted on that order line less what its other matched invoices already billed:

- ``quantity_exceeds_accepted``: invoiced quantity > open × (1 + p);
- ``price_differs``: |invoiced unit price − ordered unit price| > ordered price × p;
- ``tax_differs``: the tax rate is not the ordered one;
- ``amount_exceeds_accepted``: the line amount > open × ordered price × (1 + p), rounded
  half-up to the minor unit, + a.

And for the invoice as a whole: ``no_order`` (no such order between these parties),
``order_cancelled``, ``currency_differs``, ``unknown_order_line``.

An invoice with no exception is ``matched``; otherwise it carries every exception found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from capillary.domain.parties import Tolerance
from capillary.domain.trade import (
    ROUNDING,
    Invoice,
    OrderStatus,
    PurchaseOrder,
    line_amount,
)
from capillary.domain.units import describe


@dataclass(frozen=True, slots=True)
class MatchException:
    code: str
    line_no: int | None  # the invoice line, or None for the whole invoice
    message: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    exceptions: tuple[MatchException, ...] = field(default_factory=tuple)

    @property
    def matched(self) -> bool:
        return not self.exceptions

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.exceptions]


def three_way_match(
    invoice: Invoice,
    order: PurchaseOrder | None,
    *,
    accepted: Mapping[int, Decimal],
    billed: Mapping[int, Decimal],
    tolerance: Tolerance,
    exponent: int,
) -> MatchResult:
    """Match ``invoice`` against ``order``; ``accepted`` and ``billed`` give, per order line,
    the quantity accepted on deliveries and the quantity other matched invoices billed."""
    found: list[MatchException] = []
    if order is None or (order.buyer, order.supplier) != (invoice.buyer, invoice.seller):
        found.append(
            MatchException(
                "no_order",
                None,
                f"{invoice.buyer} has no order {invoice.order_number!r} from {invoice.seller}.",
            )
        )
        return MatchResult(tuple(found))
    if order.status is OrderStatus.CANCELLED:
        found.append(MatchException("order_cancelled", None, f"Order {order.number} is cancelled."))
    if order.currency != invoice.currency:
        found.append(
            MatchException(
                "currency_differs",
                None,
                f"The invoice is in {invoice.currency}, order {order.number} in {order.currency}.",
            )
        )
    p = tolerance.fraction
    for line in invoice.lines:
        ordered = order.line(line.order_line_no)
        n = line.line_no
        if ordered is None:
            found.append(
                MatchException(
                    "unknown_order_line",
                    n,
                    f"Order {order.number} has no line {line.order_line_no}.",
                )
            )
            continue
        open_qty = accepted.get(line.order_line_no, Decimal(0)) - billed.get(
            line.order_line_no, Decimal(0)
        )
        if line.quantity > open_qty * (1 + p):
            found.append(
                MatchException(
                    "quantity_exceeds_accepted",
                    n,
                    f"Line {n} bills {line.quantity} {ordered.uom} of {ordered.item}; "
                    f"{max(open_qty, Decimal(0))} accepted and not yet billed.",
                )
            )
        if abs(line.unit_price - ordered.unit_price) > ordered.unit_price * p:
            found.append(
                MatchException(
                    "price_differs",
                    n,
                    f"Line {n} prices {ordered.item} at {line.unit_price}; the order says "
                    f"{ordered.unit_price}.",
                )
            )
        if line.tax_rate != ordered.tax_rate:
            found.append(
                MatchException(
                    "tax_differs",
                    n,
                    f"Line {n} taxes at {line.tax_rate}; the order says {ordered.tax_rate}.",
                )
            )
        supported = line_amount(max(open_qty, Decimal(0)), ordered.unit_price, exponent)
        ceiling = int((supported * (1 + p)).quantize(Decimal(1), ROUNDING)) + tolerance.absolute
        if line.amount > ceiling:
            found.append(
                MatchException(
                    "amount_exceeds_accepted",
                    n,
                    f"Line {n} bills {describe(line.amount, invoice.currency)}; accepted goods "
                    f"at the order price support {describe(supported, invoice.currency)} "
                    f"(with tolerance {describe(ceiling, invoice.currency)}).",
                )
            )
    return MatchResult(tuple(found))
