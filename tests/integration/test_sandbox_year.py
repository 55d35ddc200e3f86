"""A year of settlement on a sandbox platform, driven by the operator advancing the stored
clock a day at a time: every certificate is paid on its maturity (rolled to a business
day), never a day before, and nothing goes overdue while the core has the cash."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from capillary.bootstrap import open_platform
from capillary.domain.certificates import CertificateStatus
from capillary.domain.parties import Role
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.services.parties import new_organization
from tests.support.documents import an_invoice, an_order

Y = 100
CAST = {
    "core": ("91440300MA5F8Q2K1L", Role.CORE),
    "tier1": ("91441900MA4UR6XB4L", Role.SUPPLIER),
}


def test_a_year_of_settlement_by_clock_advance(store_url: str) -> None:
    first = open_platform(store_url)
    ops_org = new_organization(
        code="ops", name="Operator", scheme="uscc", identifier="91310115MA1K4LQP0J",
        roles=frozenset({Role.OPERATOR}),
    )  # fmt: skip
    first.admin.init(ops_org, sandbox=True, start=date(2026, 11, 2))
    first.ledger.db.dispose()
    p = open_platform(store_url)  # every service on the stored clock now
    ops = p.parties.principal("ops", "li.wei")
    for code, (uscc, role) in CAST.items():
        p.parties.register(
            new_organization(code=code, name=code.title(), scheme="uscc", identifier=uscc,
                             roles=frozenset({role})), principal=ops, key=f"reg-{code}",
        )  # fmt: skip
    p.parties.relate(buyer="core", supplier="tier1", principal=ops, key="rel")
    core, tier1 = p.parties.principal("core", "ap"), p.parties.principal("tier1", "ar")

    # The trade: one order of 12 lines delivered and invoiced; one payable behind all.
    p.trade.create_order(an_order(("12", "100000.00", "0"), number="PO-Y", buyer="core",
                                  supplier="tier1"), principal=core, key="po")  # fmt: skip
    p.trade.record_delivery(
        Delivery("DN-Y", "PO-Y", "core", "tier1", date(2026, 10, 20),
                 (DeliveryLine(1, Decimal(12), Decimal(12), Decimal(0)),)),
        principal=tier1, key="dn",
    )  # fmt: skip
    p.trade.receive_invoice(
        an_invoice((1, "12", "100000.00", "0"), number="26442000000000000777",
                   order_number="PO-Y", seller="tier1", buyer="core"),
        principal=tier1, key="inv",
    )  # fmt: skip
    payable = p.trade.confirm_invoice(
        "tier1", None, "26442000000000000777", due_date=date(2027, 11, 30), principal=core,
        key="ok",
    )  # fmt: skip
    p.credit.set_issuance_limit(principal=ops, obligor="core", cur="CNY",
                                      limit=10_000_000 * Y, key="limit")  # fmt: skip
    p.cash.deposit(principal=ops, org="core", cur="CNY", amount=1_200_000 * Y, key="w")

    # Twelve certificates, one maturing on the 28th of each month (rolled forward).
    issued = []
    for month in range(12):
        due = date(2026 + (10 + month) // 12, (10 + month) % 12 + 1, 28)
        c = p.certificates.issue(principal=core, obligor="core", holder="tier1",
                                 payable_ids=[payable.id], face=100_000 * Y, maturity=due,
                                 key=f"cert-{month}").certificate  # fmt: skip
        p.certificates.accept(c.number, principal=tier1, key=f"acc-{month}")
        issued.append(c)
    assert all(c.issue_date == date(2026, 11, 2) for c in issued)

    paid_on: dict[str, date] = {}
    for day in range(365):
        today = p.admin.advance_clock(days=1, principal=ops, key=f"day-{day}").today
        assert today == date(2026, 11, 2) + timedelta(days=day + 1)
        run = p.settlement.settle(principal=ops, key=f"settle-{today}")
        assert run.on == today
        assert run.overdue == []
        assert run.unpaid == []
        for number in run.settled:
            paid_on[number] = today
    assert paid_on == {c.number: c.maturity for c in issued}  # each on its day, not before
    assert all(
        p.certificates.certificate(c.number, principal=ops).status is CertificateStatus.SETTLED
        for c in issued
    )
    assert p.cash.cash("tier1", "CNY", principal=tier1) == 1_200_000 * Y
    assert p.ledger.check_balances() == []
    p.ledger.db.dispose()
