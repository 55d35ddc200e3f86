"""Every kind of event the platform promises is written, with its change, by the use case
that makes it: one story through the API touches them all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from capillary.client import v1
from capillary.domain.events import EventType
from capillary.entrypoints.api.schemas.loop import OfferIn
from capillary.entrypoints.api.schemas.market import MarketQuoteIn, RequestIn
from capillary.entrypoints.api.schemas.trade import InvoiceIn, InvoiceLineIn
from tests.api.conftest import START, World
from tests.events.conftest import certificate

M = v1.money


def test_one_story_writes_every_kind_of_event(world: World) -> None:
    who = ("ops", "core", "tier1", "tier2", "bank2")
    ops, core, tier1, tier2, bank2 = (world.client(w) for w in who)
    number, root = certificate(world, face="400000.00")  # issued, accepted, matched, confirmed
    payable = core.run(v1.payables()).items[0]
    spare = core.run(v1.issue("core", "tier1", [payable.id], M("100000.00"), date(2027, 2, 26)))
    core.run(v1.cancel_certificate(spare.certificate.number, "issued in error"))
    # An invoice billing more than was delivered: exceptions.
    tier1.run(v1.send_invoice(InvoiceIn(
        seller="tier1", buyer="core", number="26442000000000000099", order_number="PO-1",
        issue_date=START, amount="100.00", total="100.00",
        lines=[InvoiceLineIn(line_no=1, order_line_no=1, quantity="1", unit_price="100.00",
                             line_amount="100.00")],
    )))  # fmt: skip
    moved = tier1.run(v1.transfer(root, "tier2", M("100000.00"), "contract:HOUSINGS-2026"))
    # A line of 300,000.00 drawn to 95%: near its limit. Sold with recourse to tier1.
    bank2.run(v1.grant_credit("bank2", "core", M("300000.00"), date(2027, 12, 31)))
    ops.run(v1.deposit("bank2", M("1000000.00"), "opening wire"))
    offer = tier1.run(v1.offer_financing(OfferIn(
        fragment_id=moved.fragments[1].id, funder="bank2", amount=M("285000.00"), rate="0.05",
        recourse=True)))  # fmt: skip
    bank2.run(v1.accept_financing(offer.id))
    # The market: tier1 asks for 10,000.00 of what it kept; bank quotes and fills it.
    kept = [f for f in tier1.run(v1.fragments()).items if f.status == "active"][-1]
    asked = tier1.run(v1.request_financing(RequestIn(
        fragment_id=kept.id, amount=M("10000.00"), max_rate="0.06", expires_on=date(2027, 1, 31),
    )))  # fmt: skip
    world.client("bank").run(v1.quote_request(asked.id, MarketQuoteIn(
        rate="0.05", amount=M("10000.00"), valid_until=date(2026, 11, 30))))  # fmt: skip
    assert tier1.run(v1.fill_request(asked.id)).request.status == "filled"
    # Early payment: the core offers 50,000.00 of its cash; tier2 bids 6% on 20,000.00.
    ops.run(v1.deposit("core", M("50000.00"), "for early payment"))
    services = world.services
    offer_ep = services.early_payment.offer(
        principal=world.principal("core"), cash=50_000_00, currency="CNY",
        hurdle=Decimal("0.04"), expires_on=date(2026, 12, 31), key="ep")  # fmt: skip
    services.early_payment.bid(offer_ep.id, principal=world.principal("tier2"),
                               fragment_id=moved.fragments[0].id, amount=20_000_00,
                               apr=Decimal("0.06"), key="bid")  # fmt: skip
    cleared = services.early_payment.clear(offer_ep.id, principal=world.principal("core"),
                                           key="clear")  # fmt: skip
    assert [c.holder for c in cleared.cleared] == ["tier2"]
    world.services.relay.warn_cash_short(days=120)  # the core's cash is short
    # Maturity passes unpaid: overdue, and bank2's claim on tier1 opens; tier1 pays it.
    ops.run(v1.advance_clock((date(2027, 3, 1) - START).days))
    ops.run(v1.settle())
    (claim,) = bank2.run(v1.recourse_claims()).items
    # The risk monitor: the core is all that is outstanding, and overdue.
    assert world.services.risk.monitor(principal=world.principal("ops"), key="r1") >= 2
    assert world.services.risk.monitor(principal=world.principal("ops"), key="r2") == 0
    ops.run(v1.deposit("tier1", M("285000.00"), "to pay the claim"))
    bank2.run(v1.collect_recourse(claim.id))
    # The fragment is back with tier1: a stress test now makes nobody gain (tier1 owed bank2
    # its shortfall again for paper it held itself, and bank2 came out ahead).
    stressed = world.services.risk.stress({"core": 0.0}, principal=world.principal("ops"))
    assert min(stressed.with_recourse.loss.values()) >= -1
    # The core pays at last: settled, penalty interest included.
    ops.run(v1.deposit("core", M("500000.00"), "late wire"))
    ops.run(v1.advance_clock(1))
    ops.run(v1.settle())
    assert tier2.run(v1.certificate(number)).certificate.status == "settled"

    events, cursor = [], None
    while True:
        page = world.client("audit").run(v1.events(cursor=cursor, limit=100))
        events += page.items
        if page.next is None:
            break
        cursor = page.next
    assert {e.type for e in events} == {t.value for t in EventType}
    by = {t.value: [e for e in events if e.type == t.value] for t in EventType}
    (near,) = by["credit_line.near_limit"]
    assert near.organizations == ["bank2", "core"]
    assert near.data["credit_line"]["used"] == {"amount": "285000.00", "currency": "CNY"}
    assert by["recourse_claim.opened"][0].organizations == ["bank2", "tier1"]
    assert by["market.request_filled"][0].organizations == ["tier1"]
    assert by["market.bid_cleared"][0].organizations == ["core", "tier2"]
    assert by["market.quote_filled"][0].organizations == ["bank", "tier1"]
    assert by["market.quote_filled"][0].data["fill"]["amount"]["amount"] == "10000.00"
    concentrated = {(e.data["kind"], e.data["subject"]) for e in by["risk.concentration"]}
    assert ("obligor_concentration", "core") in concentrated
    (overdue,) = by["risk.overdue"]
    assert overdue.organizations == ["core", "ops"]
    assert overdue.data["days_past_due"] >= 1
    assert by["certificate.overdue"][0].organizations == [
        "bank", "bank2", "core", "tier1", "tier2",
    ]  # fmt: skip
    assert [e.organizations for e in by["certificate.settled"]] == [
        ["core"], ["bank"], ["tier1"], ["tier2"],
    ]  # fmt: skip
    # Owed to others: 400,000.00 less the 20,000.00 the core bought back; its cash: 50,000.00
    # less the 19,613.33 it paid tier2 early (6% for 116 days).
    assert by["settlement.cash_short"][0].data["short"] == {"amount": "349613.33",
                                                            "currency": "CNY"}  # fmt: skip
    # A warning is at most once a day.
    world.services.relay.warn_cash_short(days=120)
    assert len(world.client("core").run(v1.events(types=["settlement.cash_short"])).items) == 1
    # The outbox's order is the order things happened in: seq rises with occurred_at.
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert [e.occurred_at for e in events] == sorted(e.occurred_at for e in events)
