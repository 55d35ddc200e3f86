"""Every write use case of the services × every kind of principal, on both stores.

The cast: the obligor (core), the holder (tier-1), a supplier beneath it (tier-2, which holds
a fragment of tier-1's certificate), an unrelated supplier (tier-3), a funder with a credit
line to the core (bank) and one without (bank2), the operator and an auditor. For each use
case exactly one of them may do it; to the others it is ``forbidden`` where they can see the
resource and ``not_found`` where they cannot, and a refusal writes nothing: no audit row, no
ledger transaction, no idempotency record. Reads return nothing of another organization's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.access import Principal, UserRole
from capillary.domain.ledger import Leg, Side
from capillary.domain.parties import RelationshipStatus, Role, Tolerance
from capillary.domain.trade import Delivery, DeliveryLine
from capillary.services.books import BooksService
from capillary.services.certificates import CertificateService
from capillary.services.parties import PartiesService, new_organization
from capillary.services.platform import PlatformService
from capillary.services.trade import TradeService
from tests.support.acting import as_, auditor, operator
from tests.support.documents import an_invoice, an_order
from tests.support.loop import Loop, Y

CAST = ("core", "tier1", "tier2", "tier3", "bank", "bank2", "ops", "audit")


def principal(name: str) -> Principal:
    return {"ops": operator(), "audit": auditor()}.get(name) or as_(name)


@dataclass
class World:
    loop: Loop
    db: Database
    cert: str  # active: tier-1's change and tier-2's fragment
    pending: str  # issued to tier-1, not yet accepted
    change: int  # tier-1's fragment
    below: int  # tier-2's fragment
    offer: int  # tier-1 offers part of its change to the bank
    payable: int  # core owes tier-1
    ids: dict[str, Any] = field(default_factory=dict)

    @property
    def certs(self) -> CertificateService:
        return self.loop.certs.service

    @property
    def trade(self) -> TradeService:
        return self.loop.trade.service

    @property
    def parties(self) -> PartiesService:
        return self.loop.parties.service

    def writes(self) -> tuple[int, ...]:
        """How many rows every write leaves a trace in."""
        with self.db.engine.connect() as conn:
            return tuple(
                conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()
                for t in ("audit_log", "transactions", "idempotency", "financing_offers")
            )


@pytest.fixture
def world(store_url: str, clock: ManualClock) -> Iterator[World]:
    db = Database(store_url)
    loop = Loop(db, clock)
    certs = loop.certs
    payable = loop.payable("core", "tier1", 1_000_000, "26442000000000000001")
    loop.payable("tier1", "tier2", 300_000, "26442000000000000002")
    certs.set_issuance_limit(obligor="core", cur="CNY", limit=5_000_000 * Y)
    certs.on(date(2026, 11, 2))
    certs.grant_credit(funder="bank", obligor="core", cur="CNY", limit=2_000_000 * Y,
                       expires_on=date(2027, 12, 31))  # fmt: skip
    for org in ("bank", "tier1", "core"):
        certs.deposit(org=org, cur="CNY", amount=1_000_000 * Y, key=f"wire-{org}")
    terms: dict[str, Any] = {"obligor": "core", "holder": "tier1", "payable_ids": [payable],
             "maturity": date(2027, 3, 1)}  # fmt: skip
    number = certs.issue(**terms, face=500_000 * Y).certificate.number
    pending = certs.issue(**terms, face=100_000 * Y).certificate.number
    certs.accept(number, by="tier1")
    (root,) = certs.fragments(number)
    below, change = certs.transfer(
        sender="tier1", fragment_id=root.id, recipient="tier2", amount=100_000 * Y,
        reference="26442000000000000002",
    )  # fmt: skip
    offer = loop.certs.service.offer_financing(
        principal=as_("tier1"), fragment_id=change.id, funder="bank", amount=100_000 * Y,
        rate=Decimal("0.05"), key="offer",
    )  # fmt: skip
    # A delivery the core has not accepted yet, and the invoice waiting on it.
    order = an_order(("10", "100.00", "0"), number="PO-OPEN", buyer="core", supplier="tier1")
    loop.trade.create_order(order)
    loop.trade.record_delivery(
        Delivery(
            "DN-OPEN",
            "PO-OPEN",
            "core",
            "tier1",
            date(2026, 11, 1),
            (DeliveryLine(1, Decimal(10), None, None),),
        )
    )
    loop.trade.receive_invoice(
        an_invoice(
            (1, "10", "100.00", "0"),
            number="26442000000000000099",
            order_number="PO-OPEN",
            seller="tier1",
            buyer="core",
        )
    )
    w = World(loop, db, number, pending, change.id, below.id, offer.id, payable)
    yield w
    db.dispose()


K = "attempt"  # every attempt uses one key: a refused one must not have recorded it


def _cases() -> dict[str, tuple[Callable[[World, Principal], Any], str, set[str]]]:
    """use case → (the call, who may, who cannot even see the resource)."""
    nobody_but_parties = {"tier3", "bank2"}
    return {
        "issue": (
            lambda w, p: w.certs.issue(
                principal=p,
                obligor="core",
                holder="tier1",
                payable_ids=[w.payable],
                face=1 * Y,
                maturity=date(2027, 3, 1),
                key=K,
            ),
            "core",
            set(),
        ),
        "accept": (
            lambda w, p: w.certs.accept(w.pending, principal=p, key=K),
            "tier1",
            {"tier2", "tier3", "bank", "bank2"},
        ),
        "cancel": (
            lambda w, p: w.certs.cancel(w.pending, principal=p, reason="x", key=K),
            "core",
            {"tier2", "tier3", "bank", "bank2"},
        ),
        "transfer": (
            lambda w, p: w.certs.transfer(
                principal=p,
                fragment_id=w.change,
                recipient="tier2",
                amount=100 * Y,
                reference="26442000000000000002",
                key=K,
            ),
            "tier1",
            {"tier2", "tier3", "bank", "bank2"},
        ),
        "offer": (
            lambda w, p: w.certs.offer_financing(
                principal=p,
                fragment_id=w.change,
                funder="bank",
                amount=100 * Y,
                rate=Decimal("0.05"),
                key=K,
            ),
            "tier1",
            {"tier2", "tier3", "bank", "bank2"},
        ),
        "quote": (
            lambda w, p: w.certs.quote_financing(
                principal=p,
                fragment_id=w.change,
                seller="tier1",
                amount=100 * Y,
                rate=Decimal("0.05"),
                key=K,
            ),
            "bank",
            {"tier2", "tier3", "bank2"},
        ),
        "take": (
            lambda w, p: w.certs.accept_financing(w.offer, principal=p, key=K),
            "bank",
            {"core", "tier2", "tier3", "bank2"},
        ),
        "withdraw offer": (
            lambda w, p: w.certs.withdraw_financing(w.offer, principal=p, key=K),
            "tier1",
            {"core", "tier2", "tier3", "bank2"},
        ),
        "pay early": (
            lambda w, p: w.certs.pay_early(w.cert, principal=p, rate=Decimal("0.03"), key=K),
            "core",
            {"tier3", "bank", "bank2"},
        ),
        "grant credit": (
            lambda w, p: w.certs.grant_credit(
                principal=p,
                funder="bank",
                obligor="core",
                cur="CNY",
                limit=3_000_000 * Y,
                expires_on=date(2027, 12, 31),
                key=K,
            ),
            "bank",
            set(),
        ),
        "issuance limit": (
            lambda w, p: w.certs.set_issuance_limit(
                principal=p, obligor="core", cur="CNY", limit=6_000_000 * Y, key=K
            ),
            "ops",
            set(),
        ),
        "calendar day": (
            lambda w, p: w.certs.set_calendar_day(
                date(2027, 6, 14), principal=p, business_day=False, reason="x", key=K
            ),
            "ops",
            set(),
        ),
        "settlement run": (lambda w, p: w.certs.settle(principal=p, key=K), "ops", set()),
        "deposit": (
            lambda w, p: w.certs.deposit(principal=p, org="tier3", cur="CNY", amount=1 * Y, key=K),
            "ops",
            set(),
        ),
        "withdraw cash": (
            lambda w, p: w.certs.withdraw(principal=p, org="bank", cur="CNY", amount=1 * Y, key=K),
            "bank",
            set(),
        ),
        "create order": (
            lambda w, p: w.trade.create_order(
                an_order(("1", "1.00", "0"), number="PO-NEW", buyer="core", supplier="tier1"),
                principal=p,
                key=K,
            ),
            "core",
            set(),
        ),
        "amend order": (
            lambda w, p: w.trade.amend_order(
                "core", "PO-OPEN", expected_date=date(2026, 12, 1), reason="x", principal=p, key=K
            ),
            "core",
            nobody_but_parties | {"tier2", "bank"},
        ),
        "record delivery": (
            lambda w, p: w.trade.record_delivery(
                Delivery(
                    "DN-NEW",
                    "PO-OPEN",
                    "core",
                    "tier1",
                    date(2026, 11, 1),
                    (DeliveryLine(1, Decimal(1), None, None),),
                ),
                principal=p,
                key=K,
            ),
            "tier1",
            set(),
        ),
        "accept delivery": (
            lambda w, p: w.trade.accept_delivery("tier1", "DN-OPEN", principal=p, key=K),
            "core",
            nobody_but_parties | {"tier2", "bank"},
        ),
        "issue invoice": (
            lambda w, p: w.trade.receive_invoice(
                an_invoice(
                    (1, "1", "1.00", "0"),
                    number="26442000000000000077",
                    order_number="PO-OPEN",
                    seller="tier1",
                    buyer="core",
                ),
                principal=p,
                key=K,
            ),
            "tier1",
            set(),
        ),
        "confirm payable": (
            lambda w, p: w.trade.confirm_invoice(
                "tier1",
                None,
                "26442000000000000099",
                due_date=date(2027, 3, 1),
                override_reason="checked by hand",
                principal=p,
                key=K,
            ),
            "core",
            nobody_but_parties | {"tier2", "bank"},
        ),
        "reduce payable": (
            lambda w, p: w.trade.reduce_payable(w.payable, 1 * Y, why="paid", principal=p, key=K),
            "tier1",
            nobody_but_parties | {"tier2", "bank"},
        ),
        "register organization": (
            lambda w, p: w.parties.register(
                new_organization(
                    code="tier4",
                    name="Tier Four",
                    scheme="lei",
                    identifier="LEI-0000004",
                    roles=frozenset({Role.SUPPLIER}),
                ),
                principal=p,
                key=K,
            ),
            "ops",
            set(),
        ),
        "relate": (
            lambda w, p: w.parties.relate(buyer="tier1", supplier="tier3", principal=p, key=K),
            "ops",
            set(),
        ),
        "suspend relationship": (
            lambda w, p: w.parties.set_relationship(
                buyer="core",
                supplier="tier1",
                status=RelationshipStatus.SUSPENDED,
                principal=p,
                key=K,
            ),
            "ops",
            set(),
        ),
        "set tolerance": (
            lambda w, p: w.parties.set_tolerance("core", Tolerance(), principal=p, key=K),
            "core",
            set(),
        ),
        "set clock": (
            lambda w, p: PlatformService(w.db).set_clock(date(2026, 12, 1), principal=p, key=K),
            "ops",
            set(),
        ),
        "post by hand": (
            lambda w, p: BooksService(w.loop.ledger).post(
                principal=p,
                key=K,
                legs=[Leg(w.ids["cash"], Side.DEBIT, 1), Leg(w.ids["cash2"], Side.CREDIT, 1)],
            ),
            "ops",
            set(),
        ),
    }


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_exactly_the_entitled_party_may(world: World, case: str) -> None:
    call, who_may, hidden = CASES[case]
    if case == "set clock":
        PlatformService(world.db).init(
            new_organization(code="ops", name="Operator", scheme="lei", identifier="LEI-0000001",
                             roles=frozenset({Role.OPERATOR})), sandbox=True,
            start=date(2026, 11, 2),
        )  # fmt: skip
    if case == "post by hand":
        books = world.loop.ledger
        world.ids["cash"] = books.find_account(org="tier1", unit="CNY", code="cash").id
        world.ids["cash2"] = books.find_account(org="bank", unit="CNY", code="cash").id
    before = world.writes()
    for name in CAST:
        if name == who_may:
            continue
        expected = errors.NotFound if name in hidden else errors.Forbidden
        with pytest.raises(expected):
            call(world, principal(name))
        assert world.writes() == before, f"{name} was refused {case} but something was written"
    with pytest.raises(errors.Forbidden):  # a read-only user of the entitled organization
        call(world, replace(principal(who_may), user_role=UserRole.READ_ONLY))
    assert world.writes() == before
    call(world, principal(who_may))


def test_no_read_returns_another_organizations_data(world: World) -> None:
    certs, trade, parties = world.certs, world.trade, world.parties
    outsider = as_("tier3")
    assert certs.certificates(principal=outsider) == []
    assert certs.certificates(principal=outsider, org="core") == []
    assert certs.holdings("tier1", principal=outsider) == []
    assert certs.credit_lines(principal=outsider) == []
    assert certs.recourse_claims(principal=outsider, org="tier1") == []
    assert certs.financing_offers(principal=outsider) == []
    assert trade.orders(principal=outsider) == []
    assert trade.orders(principal=outsider, org="core") == []
    assert trade.invoices(principal=outsider, org="tier1") == []
    assert trade.payables(principal=outsider, org="core") == []
    assert trade.audit("order", "core/PO-OPEN", principal=outsider) == []
    assert trade.audit("certificate", world.cert, principal=outsider) == []
    assert {(r.buyer, r.supplier) for r in parties.relationships(principal=outsider)} == {
        ("tier2", "tier3")
    }
    books = BooksService(world.loop.ledger)
    assert {a.org for a, _ in books.accounts(principal=outsider)} <= {"tier3"}
    assert books.accounts(principal=outsider, org="bank") == []
    with pytest.raises(errors.AccountNotFound):
        books.find_account(org="bank", unit="CNY", code="cash", principal=outsider)
    with pytest.raises(errors.Forbidden):
        books.verify(principal=outsider)
    for name, get in (
        ("certificate", lambda: certs.certificate(world.cert, principal=outsider)),
        ("fragment", lambda: certs.lineage(world.change, principal=outsider)),
        ("offer", lambda: certs.financing_offer(world.offer, principal=outsider)),
        ("cash", lambda: certs.cash("tier1", "CNY", principal=outsider)),
        ("credit line", lambda: certs.credit_line("bank", "core", "CNY", principal=outsider)),
        ("order", lambda: trade.order("core", "PO-OPEN", principal=outsider)),
        ("delivery", lambda: trade.delivery("tier1", "DN-OPEN", principal=outsider)),
        (
            "invoice",
            lambda: trade.invoice("tier1", None, "26442000000000000099", principal=outsider),
        ),
        ("payable", lambda: trade.payable(world.payable, principal=outsider)),
    ):
        with pytest.raises(errors.NotFound):
            get()
        del name
    # tier-2 sees the path above its fragment, never tier-1's change beside it.
    seen = {f.id for f in certs.fragments(world.cert, principal=as_("tier2"))}
    assert world.below in seen
    assert world.change not in seen
    # The obligor, the operator and auditors see the whole tree.
    for whole in (as_("core"), operator(), auditor()):
        assert {world.below, world.change} <= {
            f.id for f in certs.fragments(world.cert, principal=whole)
        }
