"""The closed loop's cast: a core, three tiers of suppliers, two funders, with payables made
the way the platform makes them (order, accepted delivery, invoice, confirmation)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain.parties import Role
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.services.closed_loop import loop_services
from capillary.services.ledger import LedgerService
from capillary.services.parties import PartiesService, new_organization
from capillary.services.trade import TradeService
from tests.support.acting import Certificates, Parties, Trade
from tests.support.documents import an_invoice, an_order

Y = 100  # fen per yuan
OPS = "ops"
USCC = {
    "core": "91440300MA5F8Q2K1L",
    "tier1": "91441900MA4UR6XB4L",
    "tier2": "91440604MA4X3D7T8Y",
    "tier3": "91310000MA1FL4TB2Q",
    "bank": "91110000100003962Y",
    "bank2": "91440300X8812345YA",
}
ROLES = {"core": Role.CORE, "bank": Role.FUNDER, "bank2": Role.FUNDER}


class Loop:
    def __init__(self, db: Database, clock: ManualClock) -> None:
        self.clock = clock
        self.ledger = LedgerService(db, clock=clock)
        self.parties = Parties(PartiesService(db, self.ledger, clock=clock))
        self.trade = Trade(TradeService(db, clock=clock))
        self.certs = Certificates(loop_services(db, self.ledger, clock=clock), clock)
        for code, uscc in USCC.items():
            self.parties.register(
                new_organization(
                    code=code,
                    name=code.title(),
                    scheme="uscc",
                    identifier=uscc,
                    roles=frozenset({ROLES.get(code, Role.SUPPLIER)}),
                ),
                actor=OPS,
            )
        for buyer, supplier in (("core", "tier1"), ("tier1", "tier2"), ("tier2", "tier3")):
            self.parties.relate(buyer=buyer, supplier=supplier, actor=OPS)
        bank_accounts_on_file(db, list(USCC))

    def payable(self, buyer: str, supplier: str, amount_yuan: int, number: str) -> int:
        """An order, its accepted delivery, its invoice, confirmed: a payable."""
        order = an_order(
            (str(amount_yuan), "1.00", "0"), number=f"PO-{number}", buyer=buyer, supplier=supplier
        )
        self.trade.create_order(order, actor=OPS)
        self.trade.record_delivery(
            Delivery(
                f"DN-{number}",
                order.number,
                buyer,
                supplier,
                date(2026, 10, 20),
                (DeliveryLine(1, Decimal(amount_yuan), Decimal(amount_yuan), Decimal(0)),),
            ),
            actor=OPS,
        )
        invoice = an_invoice(
            (1, str(amount_yuan), "1.00", "0"),
            number=number,
            order_number=order.number,
            seller=supplier,
            buyer=buyer,
        )
        self.trade.receive_invoice(invoice, actor=OPS)
        return self.trade.confirm_invoice(
            supplier, None, number, due_date=date(2027, 3, 1), actor=buyer
        ).id

    def cash(self, org: str) -> int:
        return self.certs.cash(org, "CNY")


def bank_accounts_on_file(db: Database, orgs: list[str], cur: str = "CNY") -> None:
    """Each of ``orgs`` with a bank account on file, so that its money may leave."""
    from capillary.adapters import bank_repository
    from capillary.domain.bank import BankAccount

    def work(conn: Any) -> None:
        for i, org in enumerate(orgs):
            account = BankAccount(org, cur, f"62220202{i:011d}", "ICBKCNBJ", org.title(), False)
            bank_repository.put_account(conn, account, 0)

    db.transaction(work)
