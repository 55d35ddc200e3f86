"""The README's closed loop replayed through the typed client over real HTTP (uvicorn on a
loopback port), on SQLite and PostgreSQL: trade, certificate, three tiers, two financings,
settlement at maturity, every balance to the fen, the books verified."""

from __future__ import annotations

from datetime import date

from capillary.client import v1
from capillary.entrypoints.api.schemas.loop import OfferIn, QuoteIn
from capillary.entrypoints.api.schemas.trade import (
    DeliveryIn,
    DeliveryLineIn,
    InvoiceIn,
    InvoiceLineIn,
    OrderIn,
    OrderLineIn,
)
from tests.api.conftest import START, World

M = v1.money


def test_the_closed_loop_over_http(world: World) -> None:
    ops, core, tier1, tier2, tier3, bank, bank2 = (
        world.client(w) for w in ("ops", "core", "tier1", "tier2", "tier3", "bank", "bank2")
    )
    # Trade: an order, its delivery accepted, the invoice matched and confirmed.
    order = core.run(v1.create_order(OrderIn(
        buyer="core", supplier="tier1", number="PO-1", order_date=START,
        lines=[OrderLineIn(line_no=1, item="BRAKE-7", quantity="10", unit_price="100000.00")],
    )))  # fmt: skip
    assert order.amount == M("1000000.00")
    dated = lambda **p: core.run(v1.Call("GET", "/v1/orders", v1.Page[v1.T.OrderOut], params=p))  # noqa: E731
    assert [o.number for o in dated(since="2026-11-02", until="2026-11-02").items] == ["PO-1"]
    assert dated(since="2026-11-03").items == []
    tier1.run(v1.record_delivery(DeliveryIn(
        supplier="tier1", buyer="core", number="DN-1", order_number="PO-1", delivered_on=START,
        lines=[DeliveryLineIn(order_line_no=1, quantity="10")],
    )))  # fmt: skip
    core.run(v1.accept_delivery("tier1", "DN-1"))
    invoice = tier1.run(v1.send_invoice(InvoiceIn(
        seller="tier1", buyer="core", number="26442000000000000101", order_number="PO-1",
        issue_date=START, amount="1000000.00", total="1000000.00",
        lines=[InvoiceLineIn(line_no=1, order_line_no=1, quantity="10", unit_price="100000.00",
                             line_amount="1000000.00")],
    )))  # fmt: skip
    (matched,) = core.run(v1.match([invoice.id]))
    assert matched.matched, matched
    payable = core.run(v1.confirm_invoice("tier1", invoice.number, date(2027, 3, 1)))
    assert payable.open_amount == M("1000000.00")

    # Credit and cash.
    ops.run(v1.set_issuance_limit("core", M("5000000.00")))
    bank.run(v1.grant_credit("bank", "core", M("2000000.00"), date(2027, 12, 31)))
    bank2.run(v1.grant_credit("bank2", "core", M("2000000.00"), date(2027, 12, 31)))
    for funder in ("bank", "bank2"):
        ops.run(v1.deposit(funder, M("1000000.00"), "opening wire"))

    # The certificate, down three tiers.
    issued = core.run(v1.issue("core", "tier1", [payable.id], M("1000000.00"), date(2027, 2, 26)))
    number = issued.certificate.number
    tier1.run(v1.accept_certificate(number))
    (root,) = tier1.run(v1.fragments()).items
    to2 = tier1.run(v1.transfer(root.id, "tier2", M("300000.00"), "contract:HOUSINGS-2026"))
    assert [f.amount for f in to2.fragments] == [M("300000.00"), M("700000.00")]
    to3 = tier2.run(v1.transfer(to2.fragments[0].id, "tier3", M("50000.00"), "contract:NH-1"))
    at3 = to3.fragments[0]
    assert at3.tier == 3
    assert at3.holder == "tier3"

    # What each sees of the tree: tier3 its own path, the obligor everything.
    seen3 = tier3.run(v1.certificate(number)).fragments
    assert {f.holder for f in seen3} == {"tier1", "tier2", "tier3"}
    assert len(core.run(v1.certificate(number)).fragments) == 5

    def listed(**p):
        return core.run(
            v1.Call("GET", "/v1/certificates", v1.Page[v1.S.CertificateOut], params=p)
        ).items

    assert [c.number for c in listed(maturity_from="2027-02-26", currency="cny")] == [number]
    assert listed(maturity_to="2027-02-25") == []
    assert listed(currency="USD") == []

    # Financing: tier3 sells to bank at 4.5%; bank2 buys it on at 4.0%.
    ops.run(v1.advance_clock((issued.certificate.maturity - START).days - 90))
    offer = tier3.run(v1.offer_financing(OfferIn(fragment_id=at3.id, funder="bank",
                                                 amount=M("50000.00"), rate="0.045")))  # fmt: skip
    financed = bank.run(v1.accept_financing(offer.id))
    assert financed.price.days == 90
    assert financed.price.discount == M("562.50")  # 50,000 × 4.5% × 90/360
    assert tier3.run(v1.cash("tier3")).balance == M("49437.50")
    ops.run(v1.advance_clock(30))
    bid = bank2.run(v1.quote_financing(QuoteIn(fragment_id=financed.fragments[0].id,
                                               seller="bank", amount=M("50000.00"),
                                               rate="0.04")))  # fmt: skip
    sold = bank.run(v1.accept_financing(bid.id))
    assert sold.price.discount == M("333.33")  # 50,000 × 4% × 60/360, half down
    lineage = ops.run(v1.lineage(sold.fragments[0].id))
    assert [f.holder for f in lineage] == ["tier1", "tier2", "tier3", "bank", "bank2"]

    # Maturity: the core pays once, every final holder is paid.
    ops.run(v1.deposit("core", M("1000000.00"), "wire for settlement"))
    ops.run(v1.advance_clock(60))
    run = ops.run(v1.settle())
    assert run.settled == [number]
    assert run.paid == [M("1000000.00")]
    expected = {
        "core": "0.00",
        "tier1": "700000.00",
        "tier2": "250000.00",
        "tier3": "49437.50",
        "bank": "1000229.17",  # paid 49,437.50, sold on for 49,666.67
        "bank2": "1000333.33",  # paid 49,666.67, received 50,000.00
    }
    for org, amount in expected.items():
        assert ops.run(v1.cash(org)).balance == M(amount), org
    assert tier1.run(v1.certificate(number)).certificate.status == "settled"

    verified = ops.run(v1.verify())
    assert verified.ok, verified
    assert ops.run(v1.reconciliation()).ok
    audit = world.client("audit")
    assert audit.run(v1.verify()).ok
    assert len(audit.run(v1.certificates()).items) == 1
