"""``capillary bank``: accounts on file, payment runs (pain.001), bank statements in and
out (camt.053)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.errors import BankFileRefused
from capillary.domain.inputs import parse_day
from capillary.domain.units import currency
from capillary.entrypoints.cli.context import Key, new_key, platform, principal
from capillary.entrypoints.cli.render import console, money

app = typer.Typer(help="Money between the platform and the banks: ISO 20022 files.",
                  no_args_is_help=True)  # fmt: skip

Currency = Annotated[str, typer.Option("--cur", help="The currency.")]


def _money(minor: int, cur: str) -> str:
    return f"{money(minor, currency(cur).exponent)} {cur}"


@app.command("set-account")
def set_account(
    number: Annotated[str, typer.Argument(help="An IBAN, or your bank's account number.")],
    holder: Annotated[str, typer.Option(help="The account holder's name, as the bank has it.")],
    bic: Annotated[str, typer.Option(help="Your bank's BIC (8 or 11 characters).")] = "",
    sweep: Annotated[bool, typer.Option(help="Pay settlement proceeds straight out to "
                                        "it.")] = False,
    cur: Currency = "CNY",
    key: Key = None,
) -> None:  # fmt: skip
    """Put your own bank account in a currency on file: withdrawals (and, with --sweep,
    what certificates pay you at maturity) leave for it."""
    who = principal()
    done = platform().bank.set_account(
        principal=who, org=who.org, cur=cur, number=number, holder=holder, bic=bic,
        sweep=sweep, key=new_key(key),
    )  # fmt: skip
    console.print(f"{who.org}'s {done.currency} account on file: {done.number}, "
                  f"{done.bic or 'no BIC'}, held by {escape(done.holder)}"
                  f"{'; settlement proceeds swept to it' if done.sweep else ''}")  # fmt: skip


@app.command("payments")
def payments(
    org: Annotated[str | None, typer.Option(help="Whose (the operator and auditors: "
                                            "everyone's by default).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 50,
) -> None:  # fmt: skip
    """Payments to bank accounts, newest first: queued, sent (in which file) or booked
    (seen on the bank's statement)."""
    found = platform().bank.payments(principal=principal(), org=org, limit=limit)
    table = Table("id", "organization", "kind", "amount", "to account", "status", "file")
    for p, status, file in found:
        table.add_row(str(p.id), p.org, p.kind, _money(p.amount, p.currency),
                      p.creditor.number, status, file)  # fmt: skip
    console.print(table)


@app.command("pay-run")
def pay_run(
    out: Annotated[Path, typer.Option(help="The folder the pain.001 files go to.")] = Path("."),
    key: Key = None,
) -> None:  # fmt: skip
    """As the operator: send every queued payment — one pain.001.001.09 file per debtor
    account (the platform's bank account in each currency), each valid against the ISO
    20022 XSD. The same --key again writes the same files and sends nothing twice."""
    files = platform().bank.run_payments(principal=principal(), key=new_key(key))
    if not files:
        console.print("No payment was queued: no file.")
    out.mkdir(parents=True, exist_ok=True)
    for f in files:
        path = out / f"{f.message_id}.pain.001.xml"
        path.write_bytes(f.document)
        console.print(f"{path}: {f.payments} payment(s), {_money(f.total, f.currency)}.")


@app.command("import-statement")
def import_statement(
    path: Annotated[Path, typer.Argument(help="The bank's camt.053.001.08 file.")],
    key: Key = None,
) -> None:  # fmt: skip
    """As the operator: book a bank statement of the platform's account: money in that
    names its organization (by the account it came from, or the organization's code in
    the remittance) becomes a deposit; our payments seen through are marked booked; the
    rest is listed. Importing the same statement again changes nothing."""
    try:
        document = path.read_bytes()
    except OSError as exc:
        raise BankFileRefused(f"{path} cannot be read: {exc.strerror}.") from exc
    report = platform().bank.import_statement(document, principal=principal(), key=new_key(key))
    totals: dict[str, int] = {}
    for d in report.deposits:
        totals[d.currency] = totals.get(d.currency, 0) + d.amount
    booked = ", ".join(_money(v, k) for k, v in sorted(totals.items())) or "nothing"
    console.print(f"{report.statements} statement(s): {len(report.deposits)} deposit(s) of "
                  f"{booked} booked, {len(report.booked_payments)} of our payment(s) seen "
                  f"through, {report.already} entr{'y' if report.already == 1 else 'ies'} "
                  f"imported before (left as they were), {len(report.unmatched)} not "
                  "matched.")  # fmt: skip
    for d in report.deposits:
        console.print(f"  deposit {d.org}: {_money(d.amount, d.currency)} (bank ref "
                      f"{escape(d.reference)}, {d.matched})")  # fmt: skip
    for line, why in report.unmatched:
        console.print(f"  [yellow]unmatched[/yellow] {escape(line.reference)}: "
                      f"{_money(line.amount, line.currency)} "
                      f"{'in' if line.credit else 'out'} — {escape(why)}")  # fmt: skip


@app.command("statement")
def statement(
    out: Annotated[Path, typer.Argument(help="The camt.053 file to write.")],
    org: Annotated[str | None, typer.Option(help="Whose (default: your own).")] = None,
    from_day: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD); "
                                                 "default: the first of the month.")] = None,
    to_day: Annotated[str | None, typer.Option("--to", help="Last day; default: "
                                               "today.")] = None,
    cur: Currency = "CNY",
) -> None:  # fmt: skip
    """Your platform cash as a camt.053.001.08 statement for your own bookkeeping:
    opening and closing balances and every movement, money in as credits."""
    who = principal()
    document = platform().bank.statement(
        org or who.org, principal=who, cur=cur,
        from_day=parse_day(from_day) if from_day else None,
        to_day=parse_day(to_day) if to_day else None,
    )  # fmt: skip
    out.write_bytes(document)
    console.print(f"Wrote {out} ({len(document):,} bytes).")
