"""``capillary ledger demo``: a walk through the ledger alone, on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capillary.bootstrap import open_ledger
from capillary.domain.errors import CapillaryError
from capillary.domain.ledger import Account, BalanceConstraint, credit, debit, make_request
from capillary.entrypoints.cli.render import balances_table, console
from capillary.services.ledger import LedgerService

CNY = 100  # fen per yuan


def run(
    file: Annotated[
        Path, typer.Option(help="SQLite file to create afresh for the walk-through.")
    ] = Path("capillary-ledger-demo.db"),
) -> None:
    """Walk through the ledger: deposit, pay, replay, refuse, hold, reverse, batch, verify."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)
    service = open_ledger(f"sqlite:///{file}")
    console.rule("[bold]Capillary ledger walk-through")
    console.print(f"A fresh ledger in {file} (SQLite, WAL, synchronous=FULL).\n")

    def show(title: str, *accounts: Account) -> None:
        rows = [(a, service.balance(a.id)) for a in accounts]
        console.print(balances_table(rows, {"CNY": 2}, title=title))
        console.print()

    no_overdraft = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
    clearing = service.open_account(org="platform", unit="CNY", type="asset", code="clearing")
    core = service.open_account(
        org="core-electronics", unit="CNY", type="liability", code="cash", constraint=no_overdraft
    )
    tier1 = service.open_account(
        org="precision-parts", unit="CNY", type="liability", code="cash", constraint=no_overdraft
    )
    console.print(
        "Three accounts: the platform's clearing account (an asset: money in the platform's "
        "bank) and two organizations' cash accounts (what the platform owes them), which may "
        "never be debited beyond their credits."
    )
    show("1. Accounts opened", clearing, core, tier1)

    service.post(
        key="deposit-core-1",
        legs=[debit(clearing.id, 1_000_000 * CNY), credit(core.id, 1_000_000 * CNY)],
        ref="bank statement 2026-11-26 #1",
    )
    show("2. core-electronics deposits 1,000,000.00 CNY", clearing, core)

    pay = [debit(core.id, 300_000 * CNY), credit(tier1.id, 300_000 * CNY)]
    service.post(key="pay-inv-0001", legs=pay, ref="invoice 0001")
    show("3. core pays precision-parts 300,000.00 CNY", core, tier1)

    again = service.post(key="pay-inv-0001", legs=pay, ref="invoice 0001")
    console.print(
        f"4. The same payment sent again with the same key is a replay: transaction "
        f"{again.id} returned, replayed={again.replayed}, nothing posted.\n"
    )

    try:
        service.post(
            key="pay-too-much",
            legs=[debit(tier1.id, 400_000 * CNY), credit(core.id, 400_000 * CNY)],
        )
    except CapillaryError as exc:
        console.print(f"5. Paying out more than it has is refused: [red]{exc.code}[/red]: {exc}\n")

    hold = service.hold(
        key="hold-po-77",
        legs=[debit(core.id, 200_000 * CNY), credit(tier1.id, 200_000 * CNY)],
        timeout_seconds=3600,
        ref="purchase order 77",
    )
    show("6. core holds 200,000.00 CNY for one hour (pending)", core, tier1)

    service.post_pending(
        key="post-po-77", pending_id=hold.id, amounts=[150_000 * CNY, 150_000 * CNY]
    )
    show("7. 150,000.00 of the hold is posted; the other 50,000.00 is released", core, tier1)

    mistake = service.post(
        key="pay-dup", legs=[debit(core.id, 5_000 * CNY), credit(tier1.id, 5_000 * CNY)]
    )
    service.reverse(key="reverse-pay-dup", transaction_id=mistake.id, ref="paid twice")
    show("8. A mistaken 5,000.00 is undone by a reversing transaction", core, tier1)

    _batch(service, tier1)

    sealed = service.seal()
    report = service.verify()
    mismatches = service.check_balances()
    totals = service.unit_totals()
    console.print(
        f"10. {sealed} entries sealed into the hash chain; verify: "
        f"{'[green]intact[/green]' if report.ok else '[red]TAMPERED[/red]'} "
        f"(head seq {report.head_seq}, {report.head_hash.hex()[:16]}…); balances recomputed "
        f"from postings: {mismatches or '[green]all equal[/green]'}; "
        f"CNY debits {totals['CNY'][0]:,} = credits {totals['CNY'][1]:,} fen."
    )
    if not report.ok or mismatches:
        raise typer.Exit(code=1)


def _batch(service: LedgerService, payer: Account) -> None:
    suppliers = [
        service.open_account(
            org=f"tier2-{n:02d}",
            unit="CNY",
            type="liability",
            code="cash",
            constraint=BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS,
        )
        for n in range(10)
    ]
    requests = [
        make_request(
            key=f"batch-pay-{i}",
            legs=[debit(payer.id, 100 * CNY + i), credit(suppliers[i % 10].id, 100 * CNY + i)],
        )
        for i in range(1000)
    ]
    result = service.submit(requests)
    console.print(
        f"9. precision-parts pays its ten tier-2 suppliers in one atomic batch of "
        f"{len(requests):,} transactions: {result.posted:,} posted."
    )
    console.print()
    show_rows = [(a, service.balance(a.id)) for a in [payer, *suppliers[:3]]]
    console.print(balances_table(show_rows, {"CNY": 2}, title="   (payer and three of the ten)"))
    console.print()
