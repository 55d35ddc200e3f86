"""``capillary cert …``, ``capillary credit …``, ``capillary cash …``: the closed loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer
from rich.table import Table

from capillary.domain.errors import ValidationError
from capillary.domain.pricing import DayCount
from capillary.domain.units import currency, format_minor
from capillary.entrypoints.cli.context import actor, parse_amount, platform
from capillary.entrypoints.cli.render import console

app = typer.Typer(help="Digital payable certificates.", no_args_is_help=True)
credit_app = typer.Typer(help="Credit lines and issuance limits.", no_args_is_help=True)
cash_app = typer.Typer(help="Cash in and out of the platform.", no_args_is_help=True)


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what} is a date, YYYY-MM-DD; got {text!r}.") from None


def _rate(text: str) -> Decimal:
    try:
        value = Decimal(text.rstrip("%"))
    except InvalidOperation:
        raise ValidationError(f"{text!r} is not a rate (4.5% or 0.045).") from None
    return value / 100 if text.endswith("%") else value


def _money(amount: int, cur: str) -> str:
    return f"{format_minor(amount, currency(cur).exponent)} {cur}"


@app.command()
def issue(
    obligor: Annotated[str, typer.Argument()],
    holder: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Option(help="Face, e.g. 1,000,000.00")],
    maturity: Annotated[str, typer.Option(help="YYYY-MM-DD; rolls to a business day.")],
    payable: Annotated[list[int], typer.Option(help="Payable id(s) backing it.")],
    on: Annotated[str, typer.Option(help="Issue date.")] = str(date.today()),
    cur: Annotated[str, typer.Option("--currency")] = "CNY",
) -> None:
    """Issue a certificate against confirmed payables (pending until the holder accepts)."""
    done = platform().certificates.issue(
        obligor=obligor,
        holder=holder,
        payable_ids=payable,
        face=parse_amount(amount, currency(cur).exponent),
        maturity=_day(maturity, "--maturity"),
        issue_date=_day(on, "--on"),
        actor=actor(),
    )
    c = done.certificate
    console.print(
        f"Certificate {c.number}: {obligor} owes {holder} {_money(c.face, c.currency)} "
        f"on {c.maturity}; pending {holder}'s acceptance."
    )
    for warning in done.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}")


@app.command()
def accept(number: Annotated[str, typer.Argument()], by: Annotated[str, typer.Option()]) -> None:
    """The first holder accepts (signs) a certificate."""
    c = platform().certificates.accept(number, by=by, actor=actor())
    console.print(f"Certificate {c.number} accepted by {by}: active.")


@app.command()
def cancel(
    number: Annotated[str, typer.Argument()], reason: Annotated[str, typer.Option()]
) -> None:
    """The issuer withdraws a certificate not yet accepted."""
    platform().certificates.cancel(number, actor=actor(), reason=reason)
    console.print(f"Certificate {number} cancelled.")


@app.command()
def transfer(
    fragment: Annotated[int, typer.Argument(help="Fragment id.")],
    sender: Annotated[str, typer.Option("--from")],
    recipient: Annotated[str, typer.Option("--to")],
    amount: Annotated[str, typer.Option()],
    reference: Annotated[str, typer.Option(help="Invoice number, or contract:<ref>.")],
    on: Annotated[str, typer.Option()] = str(date.today()),
) -> None:
    """Pay a supplier with (part of) a fragment."""
    certs = platform().certificates
    cur = _fragment_currency(fragment)
    made = certs.transfer(
        fragment_id=fragment,
        sender=sender,
        recipient=recipient,
        amount=parse_amount(amount, currency(cur).exponent),
        reference=reference,
        on=_day(on, "--on"),
        actor=actor(),
    )
    console.print(
        ", ".join(f"fragment {f.id}: {f.holder} holds {_money(f.amount, cur)}" for f in made)
    )


@app.command()
def finance(
    fragment: Annotated[int, typer.Argument(help="Fragment id.")],
    seller: Annotated[str, typer.Option("--from")],
    funder: Annotated[str, typer.Option("--to")],
    amount: Annotated[str, typer.Option()],
    rate: Annotated[str, typer.Option(help="Annual rate: 4.5% or 0.045.")],
    on: Annotated[str, typer.Option()] = str(date.today()),
    day_count: Annotated[DayCount, typer.Option()] = DayCount.ACT_360,
    fee: Annotated[str, typer.Option(help="Platform fee rate on the face.")] = "0",
    recourse: Annotated[bool, typer.Option(help="Sold with recourse to the seller.")] = False,
) -> None:
    """Sell (part of) a fragment to a funder for cash today."""
    cur = _fragment_currency(fragment)
    done = platform().certificates.finance(
        fragment_id=fragment,
        seller=seller,
        funder=funder,
        amount=parse_amount(amount, currency(cur).exponent),
        rate=_rate(rate),
        on=_day(on, "--on"),
        actor=actor(),
        day_count=day_count,
        fee_rate=_rate(fee),
        recourse=recourse,
    )
    q = done.quote
    console.print(
        f"{funder} bought {_money(q.face, cur)} for {_money(q.price, cur)} "
        f"({q.days} days, discount {_money(q.discount, cur)}, fee {_money(q.fee, cur)}); "
        f"{seller} receives {_money(q.to_seller, cur)}."
    )


@app.command()
def settle(on: Annotated[str, typer.Option(help="Settle what is due by this date.")]) -> None:
    """Settle every certificate due: the obligor pays once, every holder is paid."""
    run = platform().certificates.settle(on=_day(on, "--on"), actor=actor())
    console.print(
        f"Settled {len(run.settled)} certificate(s), {run.fragments} fragment(s), "
        f"{run.paid} minor units paid; overdue: {', '.join(run.overdue) or 'none'}."
    )


@app.command("pay-early")
def pay_early(
    number: Annotated[str, typer.Argument()],
    rate: Annotated[str, typer.Option()],
    on: Annotated[str, typer.Option()] = str(date.today()),
) -> None:
    """The obligor pays every holder now, at a discount (dynamic discounting)."""
    c = platform().certificates.certificate(number)
    paid = platform().certificates.pay_early(
        number, rate=_rate(rate), on=_day(on, "--on"), actor=actor()
    )
    console.print(f"Certificate {number} paid early: {_money(paid, c.currency)}.")


@app.command()
def show(number: Annotated[str, typer.Argument()]) -> None:
    """A certificate and its fragment tree."""
    certs = platform().certificates
    c = certs.certificate(number)
    console.print(
        f"[bold]{c.number}[/bold] {c.obligor} owes {_money(c.face, c.currency)} on "
        f"{c.maturity} (issued {c.issue_date} to {c.first_holder}); {c.status.value}"
    )
    table = Table(show_edge=False)
    for column in ("fragment", "parent", "holder", "amount", "tier", "status", "path"):
        table.add_column(column)
    for f in certs.fragments(number):
        table.add_row(
            str(f.id),
            str(f.parent_id or ""),
            f.holder,
            _money(f.amount, c.currency),
            str(f.tier),
            f.status.value,
            f.path,
        )
    console.print(table)


@app.command()
def lineage(fragment: Annotated[int, typer.Argument()]) -> None:
    """The path of a fragment from its certificate's root."""
    path = platform().certificates.lineage(fragment)
    console.print(" → ".join(f"{f.holder} ({f.id}, tier {f.tier})" for f in path))


def _fragment_currency(fragment_id: int) -> str:
    return platform().certificates.certificate_of(fragment_id).currency


@credit_app.command()
def grant(
    funder: Annotated[str, typer.Argument()],
    obligor: Annotated[str, typer.Argument()],
    limit: Annotated[str, typer.Option()],
    expires: Annotated[str, typer.Option()],
    cur: Annotated[str, typer.Option("--currency")] = "CNY",
) -> None:
    """A funder's credit line to an obligor."""
    line = platform().certificates.grant_credit(
        funder=funder,
        obligor=obligor,
        cur=cur,
        limit=parse_amount(limit, currency(cur).exponent),
        expires_on=_day(expires, "--expires"),
        actor=actor(),
    )
    console.print(f"{funder} → {obligor}: {_money(line.limit, cur)} until {line.expires_on}.")


@credit_app.command("limit")
def issuance_limit(
    obligor: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Argument()],
    cur: Annotated[str, typer.Option("--currency")] = "CNY",
) -> None:
    """The operator's cap on an obligor's outstanding certificates."""
    platform().certificates.set_issuance_limit(
        obligor=obligor, cur=cur, limit=parse_amount(amount, currency(cur).exponent), actor=actor()
    )
    console.print(f"{obligor} may have up to {amount} {cur} of certificates outstanding.")


@credit_app.command("list")
def credit_list(org: Annotated[str | None, typer.Option()] = None) -> None:
    """Credit lines, used and available."""
    table = Table(show_edge=False)
    for column in ("funder", "obligor", "limit", "used", "available", "expires"):
        table.add_column(column)
    for line in platform().certificates.credit_lines(org):
        table.add_row(
            line.funder,
            line.obligor,
            _money(line.limit, line.currency),
            _money(line.used, line.currency),
            _money(line.available, line.currency),
            str(line.expires_on),
        )
    console.print(table)


@cash_app.command()
def deposit(
    org: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Argument()],
    key: Annotated[str, typer.Option(help="Idempotency key (the bank reference).")],
    cur: Annotated[str, typer.Option("--currency")] = "CNY",
) -> None:
    """Money arrives in the platform's bank for ORG."""
    _move_cash(platform().certificates.deposit, org, amount, key, cur)


@cash_app.command()
def withdraw(
    org: Annotated[str, typer.Argument()],
    amount: Annotated[str, typer.Argument()],
    key: Annotated[str, typer.Option(help="Idempotency key.")],
    cur: Annotated[str, typer.Option("--currency")] = "CNY",
) -> None:
    """Money leaves for ORG's bank account."""
    _move_cash(platform().certificates.withdraw, org, amount, key, cur)


def _move_cash(move: Callable[..., int], org: str, amount: str, key: str, cur: str) -> None:
    move(
        org=org,
        cur=cur,
        amount=parse_amount(amount, currency(cur).exponent),
        key=key,
        actor=actor(),
    )
    console.print(f"{org} cash: {_money(platform().certificates.cash(org, cur), cur)}.")


@app.command()
def claims(
    org: Annotated[str | None, typer.Option(help="Only this organization's.")] = None,
) -> None:
    """Recourse claims opened when certificates went overdue."""
    table = Table(show_edge=False)
    for column in ("claim", "fragment", "claimant", "debtor", "amount", "status"):
        table.add_column(column)
    for c in platform().certificates.recourse_claims(org):
        table.add_row(
            str(c["id"]),
            str(c["fragment_id"]),
            c["claimant"],
            c["debtor"],
            format_minor(c["amount"], 2),
            c["status"],
        )
    console.print(table)


@app.command()
def calendar(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    business: Annotated[bool, typer.Option("--business/--holiday")],
    reason: Annotated[str, typer.Option()],
) -> None:
    """Override the platform calendar for one day (the official schedule comes late)."""
    platform().certificates.set_calendar_day(
        _day(day, "DAY"), business_day=business, reason=reason, actor=actor()
    )
    console.print(f"{day} is now a {'business day' if business else 'holiday'} on the platform.")
