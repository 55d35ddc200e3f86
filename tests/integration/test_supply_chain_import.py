"""The fixture supply chain (tests/data/supply_chain) imported end to end, on both stores:
a core automaker, three tiers of suppliers, a factor and the operator, with their orders,
deliveries and invoices, bad rows included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from capillary.adapters.clock import ManualClock
from capillary.adapters.database import Database
from capillary.adapters.import_files import read_records
from capillary.bootstrap import Platform
from capillary.domain import errors
from capillary.domain.imports import RowError
from capillary.domain.trade import InvoiceStatus
from capillary.domain.webhooks import RetryPolicy
from capillary.services.api_keys import ApiKeyService
from capillary.services.backup import BackupService
from capillary.services.bank import BankService
from capillary.services.books import BooksService
from capillary.services.closed_loop import loop_services
from capillary.services.credit_decisions import CreditDecisions
from capillary.services.exports import ExportService
from capillary.services.imports import ImportReport, ImportService, Kind
from capillary.services.ledger import LedgerService
from capillary.services.parties import PartiesService
from capillary.services.platform import PlatformService
from capillary.services.reach import ReachService
from capillary.services.relay import Relay
from capillary.services.risk import RiskService
from capillary.services.scoring import ScoringService
from capillary.services.trade import TradeService
from capillary.services.users import UserService
from capillary.services.webhooks import WebhookService
from tests.support.acting import Parties, Trade, as_, key, operator

DATA = Path(__file__).resolve().parents[1] / "data" / "supply_chain"
ACTOR = "ops:li.wei"


@pytest.fixture
def platform(store_url: str, clock: ManualClock) -> Iterator[Platform]:
    db = Database(store_url)
    ledger = LedgerService(db, clock=clock)
    parties = PartiesService(db, ledger, clock=clock)
    trade = TradeService(db, clock=clock)
    imports = ImportService(parties, trade)
    loop = loop_services(db, ledger, clock=clock)
    yield Platform(  # type: ignore[arg-type]
        ledger, Parties(parties), Trade(trade), imports, loop.cash, loop.credit,
        loop.certificates, loop.financing, loop.settlement, PlatformService(db, clock=clock),
        BooksService(ledger), ApiKeyService(db), WebhookService(db, clock=clock),
        Relay(db, clock=clock, policy=RetryPolicy(10**9, 10**6, 10**8)), loop.market,
        loop.early_payment, loop.standing, UserService(db, clock=clock), ReachService(db),
        RiskService(db, clock=clock, timezone="Asia/Shanghai"),
        ScoringService(db, clock=clock, timezone="Asia/Shanghai"),
        CreditDecisions(loop.credit, loop.standing), BackupService(ledger),
        ExportService(db, clock=clock, timezone="Asia/Shanghai"),
        BankService(db, ledger, clock=clock, timezone="Asia/Shanghai", debtors={}, name="P"),
    )  # fmt: skip
    db.dispose()


PARTY = {Kind.ORDERS: "buyer", Kind.DELIVERIES: "supplier", Kind.INVOICES: "seller"}


def records_of(path: Path) -> list[tuple[int, dict[str, object]]]:
    return [r for r in read_records(path) if not isinstance(r, RowError)]


def load(p: Platform, kind: Kind, name: str) -> ImportReport:
    """The file imported as each party may import it: organizations and relationships by
    the operator, documents by each party that issues them (the rows of others refused as
    forbidden in its run, and taken in their own)."""
    path = DATA / name
    if kind not in PARTY:
        return p.imports.run_file(kind, path, principal=operator(), key=key())
    parties = sorted({str(r.get(PARTY[kind]) or "") for _, r in records_of(path)} - {""})
    merged = ImportReport(kind)
    seen = set()
    for org in parties:
        report = p.imports.run_file(kind, path, principal=as_(org), key=key())
        merged.records = report.records
        merged.created += report.created
        merged.unchanged += report.unchanged
        for e in report.errors:
            if e.code != "forbidden" and (e.row, e.field, e.code) not in seen:
                seen.add((e.row, e.field, e.code))
                merged.errors.append(e)
    merged.errors.sort(key=lambda e: (e.row, e.field))
    return merged


def errors_of(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.code) for e in report.errors]


def import_all(p: Platform) -> dict[Kind, ImportReport]:
    return {
        Kind.ORGANIZATIONS: load(p, Kind.ORGANIZATIONS, "organizations.csv"),
        Kind.RELATIONSHIPS: load(p, Kind.RELATIONSHIPS, "relationships.csv"),
        Kind.ORDERS: load(p, Kind.ORDERS, "orders.csv"),
        Kind.DELIVERIES: load(p, Kind.DELIVERIES, "deliveries.json"),
        Kind.INVOICES: load(p, Kind.INVOICES, "invoices.csv"),
    }


def test_the_supply_chain_imports_with_every_bad_row_named(platform: Platform) -> None:
    reports = import_all(platform)

    orgs = reports[Kind.ORGANIZATIONS]
    assert (orgs.created, orgs.unchanged) == (6, 0)
    assert errors_of(orgs) == [
        (7, "id_value", "invalid_identifier"),  # wrong USCC check character
        (8, "code", "invalid_field"),  # no code
        (9, "roles", "validation_error"),  # 'wholesaler' is not a role
    ]
    rels = reports[Kind.RELATIONSHIPS]
    assert rels.created == 3
    assert errors_of(rels) == [(4, "-", "organization_not_found"), (5, "-", "role_missing")]

    orders = reports[Kind.ORDERS]
    assert orders.created == 3  # PO-2026-0001 (two rows), PO-PP-0107, DC-77812
    assert errors_of(orders) == [
        (5, "quantity", "invalid_quantity"),  # 'abc'
        (6, "currency", "unknown_currency"),
        (7, "-", "no_relationship"),  # the core never bought from tier 2
        (8, "order_date", "invalid_date"),  # 2026-09-31
    ]
    deliveries = reports[Kind.DELIVERIES]
    assert deliveries.created == 3
    assert errors_of(deliveries) == [(4, "-", "order_not_found"), (5, "-", "invalid_quantity")]

    invoices = reports[Kind.INVOICES]
    assert invoices.created == 4
    assert errors_of(invoices) == [
        (6, "-", "inconsistent_amounts"),  # total is not amount + tax
        (7, "-", "invalid_invoice_number"),  # 19 digits
        (8, "-", "no_relationship"),  # tier 3 never sold to the core
    ]
    trade = platform.trade
    statuses = {(v.seller, v.number): (v.status, v.total) for v in trade.invoices(limit=10)}
    assert statuses == {
        ("precision-parts", "26442000000012345678"): (InvoiceStatus.MATCHED, 20_771_943),
        ("dongguan-castings", "26442000000087654321"): (InvoiceStatus.EXCEPTIONS, 2_832_232),
        ("foshan-alloys", "00582211"): (InvoiceStatus.MATCHED, 26_343_125),
        ("precision-parts", "26442000000012349999"): (InvoiceStatus.EXCEPTIONS, 39_550),
    }
    tier2 = trade.invoice("dongguan-castings", None, "26442000000087654321")
    assert [x["code"] for x in trade.invoice_exceptions(tier2.id)] == [
        "quantity_exceeds_accepted",
        "amount_exceeds_accepted",
    ]
    no_order = trade.invoice("precision-parts", None, "26442000000012349999")
    assert [x["code"] for x in trade.invoice_exceptions(no_order.id)] == ["no_order"]


def test_importing_the_same_files_again_changes_nothing(platform: Platform) -> None:
    first = import_all(platform)
    again = import_all(platform)
    for kind, report in again.items():
        assert report.created == 0, kind
        assert report.unchanged == first[kind].created, kind
        assert errors_of(report) == errors_of(first[kind]), kind
    # A changed document under a number already used is refused, not merged.
    late = load(platform, Kind.INVOICES, "invoices-late.csv")
    assert errors_of(late) == [(1, "-", "duplicate_invoice")]


def test_from_acceptance_to_payables(platform: Platform) -> None:
    import_all(platform)
    trade = platform.trade
    label = ("dongguan-castings", None, "26442000000087654321")
    with pytest.raises(errors.OverrideReasonRequired):
        trade.confirm_invoice(*label, due_date=date(2027, 1, 28), actor="precision-parts:zm")
    # precision-parts accepts 520 of the 520 housings; matching again clears the exceptions.
    trade.accept_delivery("dongguan-castings", "DC-SHIP-2231", actor="precision-parts:zm")
    results = trade.match(buyer="precision-parts", actor=ACTOR)
    assert [r.matched for r in results.values()] == [True]
    payable = trade.confirm_invoice(*label, due_date=date(2027, 1, 28), actor="precision-parts:zm")
    assert (payable.amount, payable.open_amount, payable.override_reason) == (
        2_832_232,
        2_832_232,
        None,
    )
    with pytest.raises(errors.AlreadyConfirmed):
        trade.confirm_invoice(*label, due_date=date(2027, 1, 28), actor="precision-parts:zm")
    # The audit trail tells the story of the invoice.
    history = trade.audit("invoice", "dongguan-castings/26442000000087654321")
    assert [(h["action"], h["actor"]) for h in history] == [
        ("received", "dongguan-castings:test"),
        ("exceptions", "dongguan-castings:test"),
        ("matched", "precision-parts:test"),
        ("confirmed", "precision-parts:test"),
    ]
    # A payable's open amount only goes down.
    reduced = trade.reduce_payable(payable.id, 1_000_000, why="certificate", actor=ACTOR)
    assert reduced.open_amount == 1_832_232
    with pytest.raises(errors.OverPayable):
        trade.reduce_payable(payable.id, 1_832_233, why="certificate", actor=ACTOR)
    # Cash accounts are opened as organizations need them.
    cash = platform.parties.cash_account("precision-parts", "CNY")
    assert platform.parties.cash_account("precision-parts", "CNY") == cash
    assert platform.ledger.balance(cash.id).net_credit == 0
    accepted = trade.delivery("dongguan-castings", "DC-SHIP-2231").lines[0].accepted
    assert accepted == Decimal(520)
