"""``capillary ledger …``: accounts, postings, balances, history and the journal."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from capillary.domain.errors import BooksDisagree, InvalidDate, ValidationError
from capillary.domain.ledger import Balance, BalanceConstraint, Leg, Side
from capillary.domain.units import format_minor
from capillary.entrypoints.cli.context import (
    books,
    parse_amount,
    principal,
    resolve_account,
    strict_count,
    strict_id,
)
from capillary.entrypoints.cli.render import balances_table, console, when

app = typer.Typer(help="The double-entry ledger.", no_args_is_help=True)

AccountRef = Annotated[str, typer.Argument(help="Account id, or org:code:unit (acme:cash:CNY).")]


@app.command("open")
def open_account(
    org: Annotated[str, typer.Argument(help="Owning organization.")],
    code: Annotated[str, typer.Argument(help="Account code, unique per organization and unit.")],
    unit: Annotated[str, typer.Argument(help="Currency (ISO 4217) or registered instrument.")],
    type_: Annotated[
        str, typer.Option("--type", help="asset, liability, equity, revenue or expense.")
    ] = "asset",
    constraint: Annotated[
        BalanceConstraint, typer.Option(help="Balance constraint.")
    ] = BalanceConstraint.NONE,
) -> None:
    """As the operator: open an account."""
    account = books().open_account(
        principal=principal(), org=org, unit=unit, type=type_, code=code, constraint=constraint
    )
    console.print(f"Opened account {account.id}: {org}:{code}:{unit} ({constraint.value}).")


@app.command()
def accounts(
    org: Annotated[str | None, typer.Option(help="Only this organization's.")] = None,
) -> None:
    """List the accounts you may see, with their balances."""
    service = books()
    rows = service.accounts(principal=principal(), org=org)
    exponents = {u.code: u.exponent for u in service.units()}
    console.print(balances_table(rows, exponents))


def _legs(debits: list[str], credits: list[str]) -> list[Leg]:
    legs = []
    for side, specs in ((Side.DEBIT, debits), (Side.CREDIT, credits)):
        for spec in specs:
            ref, _, amount = spec.rpartition("=")
            if not ref:
                raise ValidationError(
                    f"Write a leg as ACCOUNT=AMOUNT (acme:cash:CNY=100.00); got {spec!r}."
                )
            account = resolve_account(ref)
            exponent = books().unit(account.unit).exponent
            legs.append(Leg(account.id, side, parse_amount(amount, exponent)))
    return legs


@app.command()
def post(
    key: Annotated[str, typer.Option(help="Idempotency key: the same key never posts twice.")],
    debit: Annotated[list[str], typer.Option("--debit", "-d", help="ACCOUNT=AMOUNT")],
    credit: Annotated[list[str], typer.Option("--credit", "-c", help="ACCOUNT=AMOUNT")],
    ref: Annotated[str | None, typer.Option(help="External reference.")] = None,
    hold: Annotated[bool, typer.Option(help="Only reserve the amounts (pending).")] = False,
    timeout: Annotated[
        int | None,
        typer.Option(
            help="Seconds a hold lasts (with --hold).", parser=strict_count("--timeout", 10**9)
        ),
    ] = None,
) -> None:
    """As the operator: post a transaction (amounts in major units: 100.50 CNY)."""
    service = books()
    who = principal()
    legs = _legs(debit, credit)
    if hold:
        tx = service.hold(principal=who, key=key, legs=legs, timeout_seconds=timeout, ref=ref)
    else:
        tx = service.post(principal=who, key=key, legs=legs, ref=ref)
    what = "Replayed" if tx.replayed else ("Held" if hold else "Posted")
    console.print(f"{what} transaction {tx.id} ({tx.kind.value}) at {when(tx.posted_at)}.")


@app.command()
def balance(
    account: AccountRef,
    at_text: Annotated[
        str | None,
        typer.Option("--at", help="As of this moment: 2026-11-26T09:00:00+08:00 (UTC if no zone)."),
    ] = None,
) -> None:
    """An account's balance, now or as of a past moment."""
    service = books()
    acct = resolve_account(account)
    at = _moment(at_text) if at_text is not None else None
    bal = service.balance(acct.id, principal=principal(), at=at)
    exponents = {acct.unit: service.unit(acct.unit).exponent}
    title = f"as of {at.isoformat()}" if at else "now"
    console.print(balances_table([(acct, bal)], exponents, title=title))


def _moment(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidDate(
            f"--at is a moment written 2026-11-26T09:00:00+08:00; got {text!r}."
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


@app.command()
def history(
    account: AccountRef,
    limit: Annotated[
        int, typer.Option(help="How many legs, newest first.", parser=strict_count("--limit"))
    ] = 20,
    before: Annotated[
        int | None,
        typer.Option(help="Only transactions before this id.", parser=strict_id("An id")),
    ] = None,
) -> None:
    """An account's legs, newest first."""
    service = books()
    acct = resolve_account(account)
    exponent = service.unit(acct.unit).exponent
    table = Table(show_edge=False)
    for column in ("tx", "posted at", "kind", "key", "ref", "debit", "credit"):
        table.add_column(column, justify="right" if column in ("tx", "debit", "credit") else "left")
    for line in service.history(acct.id, principal=principal(), limit=limit, before_id=before):
        amount = format_minor(line.amount, exponent)
        table.add_row(
            str(line.transaction_id),
            when(line.posted_at),
            line.kind.value,
            line.key,
            line.ref or "",
            amount if line.side is Side.DEBIT else "",
            amount if line.side is Side.CREDIT else "",
        )
    console.print(table)


@app.command("post-pending")
def post_pending(
    pending: Annotated[
        int, typer.Argument(help="The hold's transaction id.", parser=strict_id("An id"))
    ],
    key: Annotated[str, typer.Option(help="Idempotency key: the same key never posts twice.")],
    amount: Annotated[
        list[str] | None,
        typer.Option(help="Post only part: one amount per leg of the hold, in its order."),
    ] = None,
) -> None:
    """As the operator: post a hold, in full or in part (what is not posted is released)."""
    service = books()
    who = principal()
    amounts = None
    if amount:
        held = service.transaction(pending, principal=who)
        if len(amount) != len(held.legs):
            raise ValidationError(
                f"Hold {pending} has {len(held.legs)} legs; give one --amount for each, "
                f"in order (got {len(amount)})."
            )
        amounts = [
            parse_amount(
                text, service.unit(service.account(leg.account_id, principal=who).unit).exponent
            )
            for text, leg in zip(amount, held.legs, strict=True)
        ]
    tx = service.post_pending(principal=who, key=key, pending_id=pending, amounts=amounts)
    what = "Replayed" if tx.replayed else "Posted"
    console.print(f"{what} hold {pending} as transaction {tx.id} at {when(tx.posted_at)}.")


@app.command()
def void(
    pending: Annotated[
        int, typer.Argument(help="The hold's transaction id.", parser=strict_id("An id"))
    ],
    key: Annotated[str, typer.Option(help="Idempotency key.")],
) -> None:
    """As the operator: release a hold."""
    tx = books().void_pending(principal=principal(), key=key, pending_id=pending)
    console.print(f"Hold {pending} voided by transaction {tx.id}.")


@app.command()
def expire() -> None:
    """As the operator: release every hold whose timeout has passed."""
    console.print(f"Expired {books().expire_holds(principal=principal())} hold(s).")


@app.command()
def reverse(
    transaction: Annotated[
        int, typer.Argument(help="The posted transaction to undo.", parser=strict_id("An id"))
    ],
    key: Annotated[str, typer.Option(help="Idempotency key.")],
) -> None:
    """As the operator: undo a posted transaction with a new reversing one."""
    tx = books().reverse(principal=principal(), key=key, transaction_id=transaction)
    console.print(f"Transaction {transaction} reversed by transaction {tx.id}.")


@app.command()
def seal() -> None:
    """As the operator: seal every journal entry and audit row added since the last seal
    into their hash chains."""
    count = books().seal(principal=principal())
    console.print(f"Sealed {count} entr{'y' if count == 1 else 'ies'}.")


_ANCHOR = re.compile(r"([0-9]{1,19}):([0-9a-fA-F]{64})")


def _anchor(text: str) -> tuple[int, bytes]:
    """``SEQ:HASH`` as ``ledger verify`` printed it: a sequence number and 64 hex digits.
    A malformed one is an input error, never a tampering alarm."""
    match = _ANCHOR.fullmatch(text.strip())
    if match is None or not 0 <= int(match.group(1)) <= 2**63 - 1:
        raise ValidationError(
            "--anchor is SEQ:HASH as `capillary ledger verify` printed it (a sequence number, "
            f"a colon and 64 hexadecimal digits); got {text!r}."
        )
    return int(match.group(1)), bytes.fromhex(match.group(2))


@app.command()
def verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH of a chain head published earlier, to check against."),
    ] = None,
) -> None:
    """As the operator or an auditor: prove the books intact: recompute the journal's and
    the audit trail's hash chains and every balance, and reconcile fragments with holdings,
    credit used with funders' holdings, payables with certificates, cash with clearing.
    Verify never seals (sealing is `capillary ledger seal`): what is not
    yet sealed is counted, with the age of the oldest."""
    service = books()
    who = principal()
    parsed = None
    if anchor is not None:
        parsed = _anchor(anchor)
    with console.status("Verifying the hash chain…"):
        report = service.verify(principal=who, anchor=parsed)
    with console.status("Recomputing balances from postings…"):
        mismatches = service.check_balances(principal=who)
    with console.status("Checking the audit trail's chain…"):
        audit_findings, audit_unsealed = service.verify_audit(principal=who)
    with console.status("Reconciling fragments, holdings, credit, payables and cash…"):
        reconciled = service.reconcile(principal=who)
    oldest = service.oldest_unsealed_at(principal=who) if report.unsealed else None
    since = f", the oldest posted {when(oldest)}" if oldest is not None else ""
    console.print(
        f"Hash chain: {report.entries} sealed entries, head {report.head_seq}:"
        f"{report.head_hash.hex()} (keep it; --anchor checks against it later); "
        f"{report.unsealed} not yet sealed{since}. Audit trail: {audit_unsealed} row(s) not "
        "yet sealed."
    )
    for finding in [*report.findings, *audit_findings]:
        console.print(f"[red]{finding.kind}[/red]: {finding.message}")
    for found in reconciled:
        console.print(f"[red]{found.kind}[/red]: {found.message}")
    for m in mismatches:
        acct = service.account(m.account_id, principal=who)
        e = service.unit(acct.unit).exponent

        def said(b: Balance, e: int = e) -> str:
            return (f"debits {format_minor(b.debits_posted, e)}, credits "
                    f"{format_minor(b.credits_posted, e)}")  # fmt: skip

        console.print(
            f"[red]balance_mismatch[/red]: {acct.org}:{acct.code}:{acct.unit} stores "
            f"{said(m.stored)} {acct.unit} but its postings add up to {said(m.recomputed)} "
            f"{acct.unit}."
        )
    if report.ok and not mismatches and not audit_findings and not reconciled:
        console.print("[green]Journal verified: no entry changed, removed, inserted or "
                      "reordered; every balance equals its postings; the audit trail is "
                      "intact; fragments, holdings, credit, payables and cash reconcile."
                      "[/green]")  # fmt: skip
    else:
        count = len(report.findings) + len(mismatches) + len(audit_findings) + len(reconciled)
        raise BooksDisagree(f"Verify found {count} thing(s) that do not add up (listed above).")
