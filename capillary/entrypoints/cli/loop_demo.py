"""``capillary tour``: the closed loop, from a confirmed payable to settlement, on a fresh
SQLite file, every step printed with the balances it changed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from capillary.bootstrap import Platform, open_platform
from capillary.domain.access import Principal
from capillary.domain.certificates import FragmentStatus
from capillary.domain.parties import Role
from capillary.domain.trade import (
    Delivery,
    DeliveryLine,
    Invoice,
    InvoiceLine,
    OrderLine,
    PurchaseOrder,
)
from capillary.domain.units import format_minor
from capillary.entrypoints.cli.render import console
from capillary.services.parties import new_organization

Y = 100
OPS = "capillary-ops"
OPS_ID = "91310115MA1K4LQP0J"
CAST = [
    ("huaxin-auto", "Shenzhen Huaxin Automotive", "91440300MA5F8Q2K1L", Role.CORE),
    ("precision-parts", "Dongguan Precision Brake Parts", "91441900MA4UR6XB4L", Role.SUPPLIER),
    ("dongguan-castings", "Foshan Nanhai Castings", "91440604MA4X3D7T8Y", Role.SUPPLIER),
    ("foshan-alloys", "Shanghai Pudong Alloys", "91310000MA1FL4TB2Q", Role.SUPPLIER),
    ("merchants-bank", "China Merchants Factoring", "91110000100003962Y", Role.FUNDER),
    ("cicc-factoring", "CICC Supply Chain Factoring", "91440300X8812345YA", Role.FUNDER),
]
CORE, TIER1, TIER2, TIER3, BANK, BANK2 = (c[0] for c in CAST)


def run(
    file: Annotated[Path, typer.Option(help="SQLite file to create afresh.")] = Path(
        "capillary-demo.db"
    ),
) -> None:
    """The closed loop: a payable becomes a certificate that pays three tiers of suppliers,
    is financed, sold on, and settled at maturity; then the ledger proves it."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{file}"
    operator = new_organization(code=OPS, name="Capillary Platform Operations", scheme="uscc",
                                identifier=OPS_ID, roles=frozenset({Role.OPERATOR}))  # fmt: skip
    open_platform(url).admin.init(operator, sandbox=True, start=date(2026, 11, 2))
    p = open_platform(url)  # on the sandbox's stored clock from here on
    console.rule("[bold]Capillary: the closed loop")
    console.print(f"A fresh sandbox platform in {file} (SQLite), its clock at "
                  f"{p.admin.reading().today}, operated by {OPS}. Amounts in CNY.\n")  # fmt: skip
    ops = _as(p, OPS)
    _participants(p, ops)
    payable = _trade(p)
    certs = p.certificates
    p.credit.set_issuance_limit(
        principal=ops, obligor=CORE, cur="CNY", limit=5_000_000 * Y, key="limit-huaxin"
    )
    for funder in (BANK, BANK2):
        p.credit.grant_credit(
            principal=_as(p, funder),
            funder=funder,
            obligor=CORE,
            cur="CNY",
            limit=2_000_000 * Y,
            expires_on=date(2027, 12, 31),
            key="line-huaxin",
        )
        p.cash.deposit(principal=ops, org=funder, cur="CNY", amount=1_000_000 * Y,
                      key=f"wire-{funder}")  # fmt: skip
    _cash(
        p,
        "3. Credit: the operator caps huaxin-auto's issuance at 5,000,000.00; two factors "
        "grant it 2,000,000.00 lines and wire 1,000,000.00 each onto the platform",
    )

    issued = certs.issue(
        principal=_as(p, CORE, "treasury"),
        obligor=CORE,
        holder=TIER1,
        payable_ids=[payable],
        face=1_000_000 * Y,
        maturity=date(2027, 1, 31),
        key="cert-1",
    )
    number = issued.certificate.number
    maturity = issued.certificate.maturity
    certs.accept(number, principal=_as(p, TIER1, "cfo"), key="accept-1")
    _tree(
        p,
        number,
        f"4. huaxin-auto issues certificate {number}: 1,000,000.00 due 2027-01-31, "
        f"which is not a business day, so due {maturity}; precision-parts accepts",
    )

    (root,) = certs.fragments(number, principal=ops)
    to2, _ = certs.transfer(
        principal=_as(p, TIER1, "ap"),
        fragment_id=root.id,
        recipient=TIER2,
        amount=300_000 * Y,
        reference="26442000000000000102",
        key="pay-housings",
    )
    _tree(
        p,
        number,
        "5. precision-parts pays dongguan-castings 300,000.00 with it (naming "
        "the invoice it pays); it keeps 700,000.00 as change",
    )
    _to(p, ops, date(2026, 11, 3))
    to3, _ = certs.transfer(
        principal=_as(p, TIER2, "ap"),
        fragment_id=to2.id,
        recipient=TIER3,
        amount=50_000 * Y,
        reference="contract:NH-ALLOY-2026-11",
        key="pay-alloys",
    )
    _tree(p, number, "6. dongguan-castings pays foshan-alloys 50,000.00 under their contract")

    _to(p, ops, maturity - timedelta(days=90))
    offer = p.financing.offer_financing(
        principal=_as(p, TIER3, "cfo"), fragment_id=to3.id, funder=BANK, amount=50_000 * Y,
        rate=Decimal("0.045"), key="sell-to-merchants",
    )  # fmt: skip
    financed = p.financing.accept_financing(offer.id, principal=_as(p, BANK, "desk"), key="buy-1")
    q = financed.quote
    _cash(
        p,
        f"7. {maturity - timedelta(days=90)}: foshan-alloys offers its 50,000.00 to "
        f"merchants-bank at 4.5%, which accepts ({q.days} days, ACT/360): discount "
        f"{_m(q.discount)}, cash today {_m(q.price)} -- the fragment and the cash move in one "
        "ledger transaction",
        [TIER3, BANK],
    )
    (at_bank,) = financed.fragments
    _to(p, ops, maturity - timedelta(days=60))
    bid = p.financing.quote_financing(
        principal=_as(p, BANK2, "desk"), fragment_id=at_bank.id, seller=BANK, amount=50_000 * Y,
        rate=Decimal("0.04"), key="bid-1",
    )  # fmt: skip
    sold = p.financing.accept_financing(bid.id, principal=_as(p, BANK, "desk"), key="sell-on-1")
    _cash(
        p,
        f"8. cicc-factoring quotes merchants-bank 4.0% for it with {sold.quote.days} days "
        f"left; merchants-bank accepts and sells it on for {_m(sold.quote.price)}",
        [BANK, BANK2],
    )
    path = certs.lineage(sold.fragments[0].id, principal=ops)
    console.print("   lineage: " + " → ".join(f"{f.holder} (tier {f.tier})" for f in path) + "\n")

    p.cash.deposit(principal=ops, org=CORE, cur="CNY", amount=1_000_000 * Y, key="wire-huaxin")
    _to(p, ops, maturity)
    run_ = p.settlement.settle(principal=ops, key=f"settle-{maturity}")
    _cash(
        p,
        f"9. Maturity, {maturity}: huaxin-auto (which wired in 1,000,000.00) pays once; "
        f"{run_.fragments} fragments settled, every final holder paid",
        [CORE, TIER1, TIER2, TIER3, BANK, BANK2],
    )

    ledger = p.ledger
    sealed = ledger.seal()
    report = ledger.verify()
    mismatches = ledger.check_balances()
    clearing = ledger.find_account(org="platform", unit="CNY", code="clearing")
    owed = sum(b.net_credit for a, b in ledger.accounts() if a.unit == "CNY" and a.code == "cash")
    console.print(
        f"10. The ledger: {sealed} entries sealed; verify "
        f"{'[green]intact[/green]' if report.ok else '[red]TAMPERED[/red]'} "
        f"(head seq {report.head_seq}, {report.head_hash.hex()[:16]}…); balances equal their "
        f"postings: {mismatches or '[green]yes[/green]'}; cash owed to "
        f"organizations {_m(owed)} = clearing {_m(ledger.balance(clearing.id).net_debit)}; "
        f"certificate {number} fully retired."
    )
    if not report.ok or mismatches:
        raise typer.Exit(code=1)


def _m(amount: int) -> str:
    return format_minor(amount, 2)


def _cash(p: Platform, title: str, orgs: list[str] | None = None) -> None:
    console.print(title)
    table = Table(show_edge=False)
    table.add_column("organization")
    table.add_column("cash (CNY)", justify="right")
    for org in orgs or [BANK, BANK2]:
        table.add_row(org, _m(p.cash.cash(org, "CNY", principal=_as(p, OPS))))
    console.print(table)
    console.print()


def _tree(p: Platform, number: str, title: str) -> None:
    console.print(title)
    table = Table(show_edge=False)
    for column in ("fragment", "holder", "amount", "tier", "status"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for f in p.certificates.fragments(number, principal=_as(p, CORE)):
        if f.status is FragmentStatus.ACTIVE:
            table.add_row(str(f.id), f.holder, _m(f.amount), str(f.tier), f.status.value)
    console.print(table)
    console.print()


def _to(p: Platform, ops: Principal, day: date) -> None:
    """The operator moves the sandbox's clock to ``day``."""
    p.admin.set_clock(day, principal=ops, key=f"clock-{day}")


def _as(p: Platform, org: str, user: str = "demo") -> Principal:
    return p.parties.principal(org, user)


def _participants(p: Platform, ops: Principal) -> None:
    for code, name, uscc, role in CAST:
        p.parties.register(
            new_organization(
                code=code, name=name, scheme="uscc", identifier=uscc, roles=frozenset({role})
            ),
            principal=ops,
            key=f"register-{code}",
        )
    for buyer, supplier in ((CORE, TIER1), (TIER1, TIER2), (TIER2, TIER3)):
        p.parties.relate(buyer=buyer, supplier=supplier, principal=ops, key=f"{buyer}>{supplier}")
    console.print(
        "1. Participants: a core automaker, three tiers of suppliers beneath it, two factors; "
        "each identified by its Unified Social Credit Code; who buys from whom recorded.\n"
    )


def _trade(p: Platform) -> int:
    """The trade behind the claims: core ← tier-1 brake calipers, tier-1 ← tier-2 housings."""
    trade = p.trade
    for buyer, supplier, number, qty, price, inv in (
        (CORE, TIER1, "PO-2026-0001", 5_000, "200.00", "26442000000000000101"),
        (TIER1, TIER2, "PO-PP-0107", 6_000, "50.00", "26442000000000000102"),
    ):
        line = OrderLine(
            1, "BC-220", "brake caliper", Decimal(qty), "pcs", Decimal(price), Decimal(0)
        )
        trade.create_order(
            PurchaseOrder(number, buyer, supplier, "CNY", date(2026, 9, 1), None, (line,)),
            principal=_as(p, buyer, "purchasing"),
            key=number,
        )
        trade.record_delivery(
            Delivery(
                f"DN-{number}",
                number,
                buyer,
                supplier,
                date(2026, 10, 12),
                (DeliveryLine(1, Decimal(qty), Decimal(qty), Decimal(0)),),
            ),
            principal=_as(p, supplier, "logistics"),
            key=f"DN-{number}",
        )
        amount = qty * int(Decimal(price) * Y)
        trade.receive_invoice(
            Invoice(
                supplier,
                buyer,
                None,
                inv,
                number,
                "CNY",
                date(2026, 10, 20),
                amount,
                0,
                amount,
                (InvoiceLine(1, 1, Decimal(qty), Decimal(price), amount, Decimal(0), 0),),
            ),
            principal=_as(p, supplier, "billing"),
            key=inv,
        )
    payable = trade.confirm_invoice(
        TIER1, None, "26442000000000000101", due_date=date(2027, 2, 28),
        principal=_as(p, CORE, "ap"), key="confirm-101",
    )  # fmt: skip
    console.print(
        "2. The trade, digitized: huaxin-auto ordered 5,000 brake calipers from precision-parts "
        "(1,000,000.00); the delivery was accepted, the invoice matched it, and huaxin-auto "
        f"confirmed payable {payable.id} for {_m(payable.amount)}. precision-parts did the same "
        "with dongguan-castings for its housings (300,000.00).\n"
    )
    return payable.id
