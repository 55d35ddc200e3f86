"""Trade use cases on SQLite and PostgreSQL, beyond what the fixture import shows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.domain import errors
from capillary.domain.parties import RelationshipStatus, Role, Tolerance
from capillary.domain.trade import Delivery, DeliveryLine, InvoiceStatus, OrderLine, OrderStatus
from capillary.services.imports import ImportService, Kind
from capillary.services.ledger import LedgerService
from capillary.services.parties import PartiesService, new_organization
from capillary.services.trade import TradeService
from tests.support.acting import Parties, Trade, as_
from tests.support.documents import an_invoice, an_order

A = "ops"


@pytest.fixture
def services(store_url: str, clock: ManualClock) -> Iterator[tuple[Parties, Trade]]:
    db = Database(store_url)
    parties = Parties(PartiesService(db, LedgerService(db, clock=clock), clock=clock))
    trade = Trade(TradeService(db, clock=clock))
    parties.register(
        new_organization(code="core", name="Core Co", scheme="uscc",
                         identifier="91440300MA5F8Q2K1L", roles=frozenset({Role.CORE})),
        actor=A,
    )  # fmt: skip
    parties.register(
        new_organization(code="tier1", name="Tier One", scheme="uscc",
                         identifier="91441900MA4UR6XB4L", roles=frozenset({Role.SUPPLIER})),
        actor=A,
    )  # fmt: skip
    parties.relate(buyer="core", supplier="tier1", actor=A)
    yield parties, trade
    db.dispose()


def delivered(order_number: str = "PO-1", number: str = "DN-1", **accepted: str) -> Delivery:
    return Delivery(
        number, order_number, "core", "tier1", date(2026, 10, 1),
        tuple(DeliveryLine(int(k[1:]), Decimal(v), Decimal(v), Decimal(0))
              for k, v in accepted.items()),
    )  # fmt: skip


def test_registering_again_identically_changes_nothing_and_otherwise_is_refused(
    services: tuple[Parties, Trade],
) -> None:
    parties, _ = services
    same = new_organization(
        code="core", name="Core Co", scheme="uscc", identifier="91440300MA5F8Q2K1L",
        roles=frozenset({Role.CORE}),
    )  # fmt: skip
    assert parties.register(same, actor=A).code == "core"
    with pytest.raises(errors.OrganizationExists):
        parties.register(replace(same, name="Another name"), actor=A)
    with pytest.raises(errors.OrganizationExists):  # someone else's identifier
        parties.register(replace(same, code="core-two"), actor=A)
    with pytest.raises(errors.OrganizationNotFound):
        parties.organization("nobody")
    assert (
        parties.set_tolerance("core", Tolerance(Decimal(2), 100), actor=A).tolerance.absolute == 100
    )


def test_orders_are_amended_and_cancelled_with_every_version_kept(
    services: tuple[Parties, Trade],
) -> None:
    _, trade = services
    trade.create_order(an_order(("100", "10.00", "0.13")), actor=A)
    with pytest.raises(errors.DocumentExists):
        trade.create_order(an_order(("200", "10.00", "0.13")), actor=A)
    new_lines = (OrderLine(1, "ITEM-1", "", Decimal(150), "pcs", Decimal("9.50"), Decimal("0.13")),)
    amended = trade.amend_order(
        "core", "PO-1", lines=new_lines, reason="price agreed", actor="core:buyer"
    )
    assert (amended.version, amended.lines[0].quantity) == (2, Decimal(150))
    cancelled = trade.cancel_order("core", "PO-1", reason="project stopped", actor="core:buyer")
    assert (cancelled.status, cancelled.version) == (OrderStatus.CANCELLED, 3)
    with pytest.raises(errors.OrderCancelled):
        trade.amend_order("core", "PO-1", lines=new_lines, reason="again", actor=A)
    history = trade.order_history("core", "PO-1")
    assert [(h["version"], h["order"]["status"], h["reason"]) for h in history] == [
        (1, "open", None),
        (2, "open", "price agreed"),
        (3, "cancelled", "project stopped"),
    ]
    assert history[0]["order"]["lines"][0]["quantity"] == "100"
    assert [a["action"] for a in trade.audit("order", "core/PO-1")] == [
        "created", "amended", "cancelled",
    ]  # fmt: skip
    # An invoice against a cancelled order is received and named.
    received = trade.receive_invoice(an_invoice((1, "1", "9.50", "0.13")), actor=A)
    assert received.status is InvoiceStatus.EXCEPTIONS
    assert "order_cancelled" in [x["code"] for x in trade.invoice_exceptions(received.id)]


def test_a_suspended_relationship_stops_new_documents(
    services: tuple[Parties, Trade],
) -> None:
    parties, trade = services
    parties.set_relationship(
        buyer="core", supplier="tier1", status=RelationshipStatus.SUSPENDED, actor=A
    )
    with pytest.raises(errors.NoRelationship, match="suspended"):
        trade.create_order(an_order(("1", "1.00", "0.13")), actor=A)
    with pytest.raises(errors.NoRelationship):
        trade.receive_invoice(an_invoice((1, "1", "1.00", "0.13")), actor=A)
    parties.set_relationship(
        buyer="core", supplier="tier1", status=RelationshipStatus.ACTIVE, actor=A
    )
    trade.create_order(an_order(("1", "1.00", "0.13")), actor=A)


def test_two_invoices_cannot_bill_the_same_accepted_goods(
    services: tuple[Parties, Trade],
) -> None:
    _, trade = services
    trade.create_order(an_order(("100", "10.00", "0.13")), actor=A)
    trade.record_delivery(delivered(l1="100"), actor=A)
    first = trade.receive_invoice(an_invoice((1, "60", "10.00", "0.13")), actor=A)
    second = trade.receive_invoice(
        an_invoice((1, "60", "10.00", "0.13"), number="26442000000000000002"), actor=A
    )
    third = trade.receive_invoice(
        an_invoice((1, "40", "10.00", "0.13"), number="26442000000000000003"), actor=A
    )
    assert [first.status, second.status, third.status] == [
        InvoiceStatus.MATCHED,
        InvoiceStatus.EXCEPTIONS,
        InvoiceStatus.MATCHED,
    ]


def test_acceptance_drives_the_match(services: tuple[Parties, Trade]) -> None:
    _, trade = services
    trade.create_order(an_order(("100", "10.00", "0.13")), actor=A)
    receipt = Delivery("DN-9", "PO-1", "core", "tier1", date(2026, 10, 1),
                       (DeliveryLine(1, Decimal(100)),))  # fmt: skip
    trade.record_delivery(receipt, actor=A)
    invoice = trade.receive_invoice(an_invoice((1, "100", "10.00", "0.13")), actor=A)
    assert invoice.status is InvoiceStatus.EXCEPTIONS  # nothing accepted yet
    trade.accept_delivery("tier1", "DN-9", accepted={1: Decimal(90)}, actor="core:qc")
    with pytest.raises(errors.DeliveryAlreadyAccepted):
        trade.accept_delivery("tier1", "DN-9", actor="core:qc")
    trade.match(buyer="core", actor=A)
    assert trade.invoice("tier1", None, invoice.number).status is InvoiceStatus.EXCEPTIONS
    payable = trade.confirm_invoice(
        "tier1", None, invoice.number, due_date=date(2027, 1, 1),
        override_reason="10 replaced in kind", actor="core:ap",
    )  # fmt: skip
    assert payable.override_reason == "10 replaced in kind"
    with pytest.raises(errors.DeliveryNotFound):
        trade.accept_delivery("tier1", "DN-404", actor=A)


def test_a_seller_number_is_unique_in_the_database_itself(
    services: tuple[Parties, Trade],
) -> None:
    _, trade = services
    trade.receive_invoice(an_invoice((1, "1", "1.00", "0.13")), actor=A)
    with pytest.raises(sa.exc.IntegrityError), trade.db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO invoices (seller, buyer, code, number, order_number, currency, "
                "issue_date, amount, tax, total, status, created_at) VALUES ('tier1', 'core', "
                "'', '26442000000000000001', 'X', 'CNY', '2026-10-01', 1, 0, 1, 'received', 0)"
            )
        )


def test_invoices_import_from_json_with_nested_lines(
    services: tuple[Parties, Trade], tmp_path: Path
) -> None:
    parties, trade = services
    trade.create_order(an_order(("10", "100.00", "0.13")), actor=A)
    trade.record_delivery(delivered(l1="10"), actor=A)
    records = [
        {"seller": "tier1", "buyer": "core", "number": "26442000000000000042",
         "order_number": "PO-1", "currency": "CNY", "issue_date": "2026-10-20",
         "amount": 1000.00, "tax": "130.00", "total": "1130.00",
         "lines": [{"line_no": 1, "order_line_no": 1, "quantity": 10, "unit_price": "100.00",
                    "line_amount": "1000.00", "tax_rate": "13%", "line_tax": "130.00"}]},
        {"seller": "tier1", "buyer": "core", "number": "26442000000000000043",
         "order_number": "PO-1", "currency": "CNY", "issue_date": "2026-10-20",
         "amount": "1", "tax": "0", "total": "1",
         "lines": [{"line_no": 1, "order_line_no": 1, "quantity": "ten", "unit_price": "1",
                    "line_amount": "1", "tax_rate": "0", "line_tax": "0"}]},
    ]  # fmt: skip
    path = tmp_path / "invoices.json"
    path.write_text(json.dumps(records))
    report = ImportService(parties.service, trade.service).run_file(
        Kind.INVOICES, path, principal=as_("tier1"), key="import-1"
    )
    assert report.created == 1
    assert [(e.row, e.field) for e in report.errors] == [(2, "lines[1].quantity")]
    assert trade.invoice("tier1", None, "26442000000000000042").status is InvoiceStatus.MATCHED
