"""``capillary cert …``, ``capillary credit …``, ``capillary cash …``: the closed loop."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.errors import SettlementIncomplete
from capillary.domain.inputs import percent_text
from capillary.domain.pricing import DayCount
from capillary.domain.units import currency, format_minor
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    parse_amount,
    platform,
    principal,
    rate,
    strict_day,
    strict_id,
)
from capillary.entrypoints.cli.render import console

app = typer.Typer(help="Digital payable certificates.", no_args_is_help=True)
credit_app = typer.Typer(help="Credit lines and issuance limits.", no_args_is_help=True)
cash_app = typer.Typer(help="Cash in and out of the platform.", no_args_is_help=True)


def _discount(text: str) -> Decimal:
    return rate(text, platform().certificates.rules.discount_rates)


def _fee(text: str) -> Decimal:
    return rate(text, platform().certificates.rules.fee_rates)


FragmentId = Annotated[
    int, typer.Argument(help="Fragment id.", parser=strict_id("The fragment id"))
]
OfferId = Annotated[int, typer.Argument(help="Offer id.", parser=strict_id("The offer id"))]
Currency = Annotated[str, typer.Option("--currency", help="ISO 4217 code, e.g. CNY.")]
Amount = Annotated[str, typer.Option("--amount", help="In major units, e.g. 1,000,000.00.")]


def _money(amount: int, cur: str) -> str:
    return f"{format_minor(amount, currency(cur).exponent)} {cur}"


@app.command()
def issue(
    holder: Annotated[str, typer.Argument(help="The first holder (the supplier paid).")],
    amount: Annotated[str, typer.Option(help="Face in major units, e.g. 1,000,000.00.")],
    maturity: Annotated[
        date, typer.Option(help="YYYY-MM-DD; rolls to a business day.", parser=strict_day("A date"))
    ],
    payable: Annotated[
        list[int],
        typer.Option(
            help="Payable id(s) backing it; repeat for several.", parser=strict_id("A payable id")
        ),
    ],
    cur: Currency = "CNY",
    key: Key = None,
) -> None:
    """As the obligor: issue a certificate against your confirmed payables, dated today
    (pending until the holder accepts)."""
    who = principal()
    done = platform().certificates.issue(
        principal=who,
        obligor=who.org,
        holder=holder,
        payable_ids=payable,
        face=parse_amount(amount, currency(cur).exponent),
        maturity=maturity,
        key=new_key(key),
        currency=currency(cur).code,
    )
    c = done.certificate
    console.print(
        f"Certificate {c.number}: {c.obligor} owes {holder} {_money(c.face, c.currency)} "
        f"on {c.maturity} (issued {c.issue_date}); pending {holder}'s acceptance."
    )
    for warning in done.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}")


@app.command()
def accept(
    number: Annotated[str, typer.Argument(help="The certificate's number.")], key: Key = None
) -> None:
    """As the first holder: accept (sign) a certificate."""
    who = principal()
    c = platform().certificates.accept(number, principal=who, key=new_key(key))
    console.print(f"Certificate {c.number} accepted by {who.org}: active.")


@app.command()
def cancel(
    number: Annotated[str, typer.Argument(help="The certificate's number.")],
    reason: Annotated[str, typer.Option(help="Why it is withdrawn (kept in the audit trail).")],
    key: Key = None,
) -> None:
    """As the obligor: withdraw a certificate not yet accepted."""
    platform().certificates.cancel(number, principal=principal(), reason=reason, key=new_key(key))
    console.print(f"Certificate {number} cancelled.")


@app.command()
def transfer(
    fragment: FragmentId,
    recipient: Annotated[str, typer.Option("--to", help="The supplier paid.")],
    amount: Amount,
    reference: Annotated[str, typer.Option(help="Invoice number, or contract:<ref>.")],
    key: Key = None,
) -> None:
    """As the holder: pay a supplier with (part of) a fragment, today."""
    who = principal()
    cur = _fragment_currency(fragment)
    made = platform().certificates.transfer(
        principal=who,
        fragment_id=fragment,
        recipient=recipient,
        amount=parse_amount(amount, currency(cur).exponent),
        reference=reference,
        key=new_key(key),
    )
    console.print(
        ", ".join(f"fragment {f.id}: {f.holder} holds {_money(f.amount, cur)}" for f in made)
    )


@app.command()
def offer(
    fragment: FragmentId,
    funder: Annotated[str, typer.Option("--to", help="The funder offered to.")],
    amount: Amount,
    rate: Annotated[str, typer.Option(help="Annual discount rate: 4.5% or 0.045.")],
    day_count: Annotated[DayCount, typer.Option(help="Days over 360 or 365.")] = DayCount.ACT_360,
    fee: Annotated[str, typer.Option(help="Platform fee rate on the face.")] = "0",
    recourse: Annotated[bool, typer.Option(help="Sold with recourse to the seller.")] = False,
    key: Key = None,
) -> None:
    """As the holder: offer (part of) a fragment to a funder; it moves when the funder
    takes the offer."""
    cur = _fragment_currency(fragment)
    o = platform().financing.offer_financing(
        principal=principal(), fragment_id=fragment, funder=funder,
        amount=parse_amount(amount, currency(cur).exponent), rate=_discount(rate),
        day_count=day_count, fee_rate=_fee(fee), recourse=recourse, key=new_key(key),
    )  # fmt: skip
    console.print(f"Offer {o.id}: {o.seller} offers {_money(o.amount, cur)} of fragment "
                  f"{o.fragment_id} to {o.funder} at {percent_text(o.rate)} a year; "
                  "open.")  # fmt: skip


@app.command()
def quote(
    fragment: FragmentId,
    seller: Annotated[str, typer.Option("--from", help="Its holder, who offers it to you.")],
    amount: Amount,
    rate: Annotated[str, typer.Option(help="Annual discount rate: 4.5% or 0.045.")],
    day_count: Annotated[DayCount, typer.Option(help="Days over 360 or 365.")] = DayCount.ACT_360,
    fee: Annotated[str, typer.Option(help="Platform fee rate on the face.")] = "0",
    recourse: Annotated[bool, typer.Option(help="Bought with recourse to the seller.")] = False,
    cur: Annotated[str, typer.Option("--currency", help="The certificate's currency.")] = "CNY",
    key: Key = None,
) -> None:
    """As a funder: quote a rate to buy (part of) a fragment; it moves when the holder takes
    the quote."""
    o = platform().financing.quote_financing(
        principal=principal(), fragment_id=fragment, seller=seller,
        amount=parse_amount(amount, currency(cur).exponent), rate=_discount(rate),
        day_count=day_count, fee_rate=_fee(fee), recourse=recourse, key=new_key(key),
    )  # fmt: skip
    console.print(f"Offer {o.id}: {o.funder} quotes {percent_text(o.rate)} a year for "
                  f"{_money(o.amount, cur)} of fragment {o.fragment_id}; open.")  # fmt: skip


@app.command()
def take(offer_id: OfferId, key: Key = None) -> None:
    """Accept an open financing offer made to you: the fragment and the cash move today."""
    who = principal()
    cur = platform().financing.financing_offer(offer_id, principal=who).currency
    done = platform().financing.accept_financing(offer_id, principal=who, key=new_key(key))
    q = done.quote
    funder = done.fragments[0].holder
    console.print(
        f"{funder} bought {_money(q.face, cur)} for {_money(q.price, cur)} "
        f"({q.days} days, discount {_money(q.discount, cur)}, fee {_money(q.fee, cur)}); "
        f"the seller receives {_money(q.to_seller, cur)}."
    )


@app.command("withdraw-offer")
def withdraw_offer(offer_id: OfferId, key: Key = None) -> None:
    """Withdraw an open financing offer you made."""
    o = platform().financing.withdraw_financing(offer_id, principal=principal(), key=new_key(key))
    console.print(f"Offer {o.id} withdrawn.")


@app.command()
def offers() -> None:
    """Financing offers you made or received."""
    table = Table(show_edge=False)
    for column in ("offer", "fragment", "seller", "funder", "by", "amount", "rate", "status"):
        table.add_column(column)
    for o in platform().financing.financing_offers(principal=principal()):
        table.add_row(str(o.id), str(o.fragment_id), o.seller, o.funder, o.proposer,
                      _money(o.amount, o.currency), percent_text(o.rate),
                      o.status.value)  # fmt: skip
    console.print(table)


@app.command()
def settle(key: Key = None) -> None:
    """As the operator: settle every certificate due today: the obligor pays once, every
    holder is paid."""
    run = platform().settlement.settle(principal=principal(), key=new_key(key))
    paid = ", ".join(_money(amount, cur) for cur, amount in sorted(run.paid_by_currency.items()))
    console.print(
        f"{run.on}: settled {len(run.settled)} certificate(s), {run.fragments} fragment(s), "
        f"{paid or 'nothing'} paid; overdue: {', '.join(run.overdue) or 'none'}; "
        f"due today, cash short: {', '.join(run.unpaid) or 'none'}."
    )
    for number, reason in run.failed:
        console.print(f"[red]not settled[/red] {number}: {reason}")
    if run.failed:
        raise SettlementIncomplete(
            f"{len(run.failed)} certificate(s) could not be settled (listed above); the others "
            "were."
        )


@app.command("pay-early")
def pay_early(
    number: Annotated[str, typer.Argument(help="The certificate's number.")],
    rate: Annotated[str, typer.Option(help="Annual discount rate: 4.5% or 0.045.")],
    key: Key = None,
) -> None:
    """As the obligor: pay every holder today, at a discount (dynamic discounting)."""
    who = principal()
    c = platform().certificates.certificate(number, principal=who)
    paid = platform().settlement.pay_early(
        number, principal=who, rate=_discount(rate), key=new_key(key)
    )
    console.print(f"Certificate {number} paid early: {_money(paid, c.currency)}.")


@app.command()
def show(number: Annotated[str, typer.Argument(help="The certificate's number.")]) -> None:
    """A certificate and what you may see of its fragment tree."""
    certs = platform().certificates
    who = principal()
    c = certs.certificate(number, principal=who)
    console.print(
        f"[bold]{c.number}[/bold] {c.obligor} owes {_money(c.face, c.currency)} on "
        f"{c.maturity} (issued {c.issue_date} to {c.first_holder}); {c.status.value}"
    )
    table = Table(show_edge=False)
    for column in ("fragment", "parent", "holder", "amount", "tier", "status", "path"):
        table.add_column(column)
    for f in certs.fragments(number, principal=who):
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
def lineage(fragment: FragmentId) -> None:
    """The path of a fragment from its certificate's root."""
    path = platform().certificates.lineage(fragment, principal=principal())
    console.print(" → ".join(f"{f.holder} ({f.id}, tier {f.tier})" for f in path))


def _fragment_currency(fragment_id: int) -> str:
    return platform().certificates.certificate_of(fragment_id, principal=principal()).currency


@credit_app.command()
def grant(
    obligor: Annotated[str, typer.Argument(help="The core enterprise you lend against.")],
    amount: Annotated[str, typer.Option(help="The line's limit in major units.")],
    expires: Annotated[
        date, typer.Option(help="Last day of the line, YYYY-MM-DD.", parser=strict_day("A date"))
    ],
    cur: Currency = "CNY",
    key: Key = None,
) -> None:
    """As a funder: your credit line to an obligor."""
    who = principal()
    line = platform().credit.grant_credit(
        principal=who,
        funder=who.org,
        obligor=obligor,
        cur=cur,
        limit=parse_amount(amount, currency(cur).exponent),
        expires_on=expires,
        key=new_key(key),
    )
    console.print(f"{who.org} → {obligor}: {_money(line.limit, cur)} until {line.expires_on}.")


@credit_app.command("limit")
def issuance_limit(
    obligor: Annotated[str, typer.Argument(help="The core enterprise capped.")],
    amount: Annotated[str, typer.Option(help="The cap in major units.")],
    cur: Currency = "CNY",
    key: Key = None,
) -> None:
    """As the operator: cap an obligor's outstanding certificates."""
    limit = parse_amount(amount, currency(cur).exponent)
    platform().credit.set_issuance_limit(
        principal=principal(), obligor=obligor, cur=cur,
        limit=limit, key=new_key(key),
    )  # fmt: skip
    console.print(
        f"{obligor} may have up to {_money(limit, currency(cur).code)} of certificates outstanding."
    )


@credit_app.command("limits")
def limits(
    obligor: Annotated[str | None, typer.Option(help="Only this obligor's.")] = None,
) -> None:
    """Issuance limits: how much of its certificates each obligor may have outstanding."""
    table = Table(show_edge=False)
    for column in ("obligor", "limit", "outstanding", "available"):
        table.add_column(column)
    for lim in platform().credit.issuance_limits(obligor, principal=principal()):
        table.add_row(lim.obligor, _money(lim.limit, lim.currency),
                      _money(lim.used, lim.currency),
                      _money(lim.limit - lim.used, lim.currency))  # fmt: skip
    console.print(table)


@credit_app.command("list")
def credit_list(
    org: Annotated[str | None, typer.Option(help="Only this organization's.")] = None,
) -> None:
    """Credit lines you are a party to, used and available."""
    table = Table(show_edge=False)
    for column in ("funder", "obligor", "limit", "used", "available", "expires"):
        table.add_column(column)
    for line in platform().credit.credit_lines(org, principal=principal()):
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
    org: Annotated[str, typer.Argument(help="The organization whose money arrived.")],
    amount: Amount,
    key: Key = None,
    cur: Currency = "CNY",
) -> None:
    """As the operator: record money that arrived in the platform's bank for the
    organization named."""
    who = principal()
    platform().cash.deposit(
        principal=who, org=org, cur=cur,
        amount=parse_amount(amount, currency(cur).exponent), key=new_key(key),
    )  # fmt: skip
    console.print(f"{org} cash: {_money(platform().cash.cash(org, cur, principal=who), cur)}.")


@cash_app.command()
def withdraw(
    amount: Amount,
    key: Key = None,
    cur: Currency = "CNY",
) -> None:
    """Send your own cash to your bank account."""
    who = principal()
    platform().cash.withdraw(
        principal=who, org=who.org, cur=cur,
        amount=parse_amount(amount, currency(cur).exponent), key=new_key(key),
    )  # fmt: skip
    console.print(
        f"{who.org} cash: {_money(platform().cash.cash(who.org, cur, principal=who), cur)}."
    )


@cash_app.command()
def balance(
    org: Annotated[str | None, typer.Argument(help="Default: your own.")] = None,
    cur: Currency = "CNY",
) -> None:
    """A cash balance you may see."""
    who = principal()
    org = org or who.org
    console.print(f"{org} cash: {_money(platform().cash.cash(org, cur, principal=who), cur)}.")


@app.command()
def claims(
    org: Annotated[str | None, typer.Option(help="Only this organization's.")] = None,
) -> None:
    """Recourse claims you are a party to, opened when certificates went overdue."""
    table = Table(show_edge=False)
    for column in ("claim", "certificate", "fragment", "claimant", "debtor", "amount", "status"):
        table.add_column(column)
    for c in platform().settlement.recourse_claims(org, principal=principal()):
        table.add_row(
            str(c["id"]),
            c["number"],
            str(c["fragment_id"]),
            c["claimant"],
            c["debtor"],
            _money(c["amount"], c["currency"]),
            c["status"],
        )
    console.print(table)


@app.command()
def collect(
    claim: Annotated[int, typer.Argument(help="The claim's id.", parser=strict_id("A claim id"))],
    key: Key = None,
) -> None:
    """As the funder that bought with recourse: collect an open claim from the seller (its
    cash pays you; the overdue fragment goes back to it)."""
    platform().settlement.collect_recourse(claim, principal=principal(), key=new_key(key))
    console.print(f"Recourse claim {claim} collected.")


@app.command("list")
def list_(
    org: Annotated[str | None, typer.Option(help="Whose (operator and auditors).")] = None,
) -> None:
    """Your fragments held, and the certificates you are a party to."""
    who = principal()
    certs = platform().certificates
    holder = org or who.org
    table = Table(
        title=f"Fragments held by {escape(holder)}", title_justify="left", show_edge=False
    )
    for column in ("fragment", "certificate", "obligor", "amount", "maturity", "tier", "status"):
        table.add_column(column)
    for f in certs.holdings(holder, principal=who):
        c = certs.certificate_of(f.id, principal=who)
        table.add_row(str(f.id), c.number, c.obligor, _money(f.amount, c.currency),
                      str(c.maturity), str(f.tier), f.status.value)  # fmt: skip
    console.print(table)
    table = Table(title="Certificates", title_justify="left", show_edge=False)
    for column in ("certificate", "obligor", "first holder", "face", "issued", "maturity",
                   "status"):  # fmt: skip
        table.add_column(column)
    for c in certs.certificates(principal=who, org=org):
        table.add_row(c.number, c.obligor, c.first_holder, _money(c.face, c.currency),
                      str(c.issue_date), str(c.maturity), c.status.value)  # fmt: skip
    console.print(table)


@app.command()
def calendar(
    day: Annotated[date, typer.Argument(help="The day, YYYY-MM-DD.", parser=strict_day("A date"))],
    business: Annotated[
        bool, typer.Option("--business/--holiday", help="Open or closed for business.")
    ],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")],
    key: Key = None,
) -> None:
    """As the operator: override the platform calendar for one day (the official schedule
    comes late)."""
    platform().settlement.set_calendar_day(
        day, principal=principal(), business_day=business, reason=reason,
        key=new_key(key),
    )  # fmt: skip
    console.print(f"{day} is now a {'business day' if business else 'holiday'} on the platform.")
