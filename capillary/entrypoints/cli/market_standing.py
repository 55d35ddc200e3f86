"""``capillary market …``, the standing parts: amend a request and replay its book; the
operator's base rate and grades; funders' standing rules; holders' standing requests and the
sweep that runs them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.inputs import percent_text
from capillary.domain.market import RECOURSE_BY_NAME, RECOURSE_NAMES
from capillary.domain.market_rules import TENOR_BUCKETS, parse_spread
from capillary.domain.units import currency
from capillary.entrypoints.cli.cert import _discount, _money
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    parse_amount,
    platform,
    principal,
    strict_day,
    strict_id,
)
from capillary.entrypoints.cli.market import RequestId, _flat, app
from capillary.entrypoints.cli.render import console
from capillary.services.market import UNCHANGED

Recourse = Annotated[str, typer.Option(help="any, with or without.")]


def _recourse(text: str) -> bool | None:
    if text not in RECOURSE_BY_NAME:
        raise typer.BadParameter("recourse is any, with or without")
    return RECOURSE_BY_NAME[text]


@app.command()
def amend(
    request_id: RequestId,
    amount: Annotated[str | None, typer.Option(help="The amount still wanted.")] = None,
    max_rate: Annotated[str | None, typer.Option(help="A new highest APR: 4.5%.")] = None,
    flat: Annotated[str | None, typer.Option(help="Or a new highest flat discount.")] = None,
    recourse: Annotated[str | None, typer.Option(help="any, with or without.")] = None,
    expires: Annotated[str | None, typer.Option(help="A new last day (YYYY-MM-DD).")] = None,
    key: Key = None,
) -> None:
    """As the holder: change what is open of a request; what you leave out stands."""
    m = platform().market
    found = m.financing_request(request_id, principal=principal())
    r = m.amend_request(
        request_id, principal=principal(), key=new_key(key),
        amount=None if amount is None else parse_amount(amount,
                                                        currency(found.currency).exponent),
        max_rate=None if max_rate is None else _discount(max_rate),
        flat_discount=None if flat is None else _flat(flat),
        recourse=UNCHANGED if recourse is None else _recourse(recourse),
        expires_on=None if expires is None else strict_day("The expiry")(expires),
    )  # fmt: skip
    console.print(f"Request {r.id}: {_money(r.open_amount, r.currency)} open at "
                  f"{percent_text(r.max_rate)} or better, recourse {RECOURSE_NAMES[r.recourse]}, "
                  f"until {r.expires_on}.")  # fmt: skip


@app.command()
def replay(request_id: RequestId) -> None:
    """Run each recorded book of a request through best execution again, beside what it
    filled then (its holder, operators, auditors)."""
    done = platform().market.replay(request_id, principal=principal())
    if not done:
        console.print(f"Request {request_id} has not filled: no book to replay.")
    for r in done:
        verdict = "reproduced" if r.reproduced else "[red]DIFFERS[/red]"
        fills = ", ".join(f"{f.kind.value} {f.source_id}: {f.amount:,} at {percent_text(f.rate)}"
                          for f in r.replayed) or "nothing"  # fmt: skip
        console.print(f"Execution {r.execution_id} by {escape(r.by)}: {escape(fills)} — "
                      f"{verdict}.")  # fmt: skip
    if any(not r.reproduced for r in done):
        raise typer.Exit(1)


@app.command("base-rate")
def base_rate(
    publish: Annotated[str | None, typer.Option(help="As the operator: publish this rate.")] = None,
    cur: Annotated[str, typer.Option("--currency", help="Its currency.")] = "CNY",
    name: Annotated[str, typer.Option(help="What it is.")] = "1Y LPR",
    key: Key = None,
) -> None:
    """The base rate standing rules price over; the operator publishes it, from today."""
    s = platform().standing
    if publish is not None:
        made = s.publish_base_rate(principal=principal(), currency=cur.upper(),
                                   rate=_discount(publish), key=new_key(key),
                                   name=name)  # fmt: skip
        console.print(f"{made.name} ({made.currency}) is {percent_text(made.rate)} from "
                      f"{made.effective_on}.")  # fmt: skip
        return
    found = s.base_rate(cur.upper())
    if found is None:
        console.print(f"No base rate is published for {cur.upper()}: standing rules quote "
                      "nothing in it.")  # fmt: skip
        return
    console.print(f"{found.name} ({found.currency}): {percent_text(found.rate)}, in effect "
                  f"from {found.effective_on}.")  # fmt: skip


@app.command()
def grade(
    obligor: Annotated[str, typer.Argument(help="The obligor's code.")],
    set_: Annotated[str | None, typer.Option("--set", help="As the operator: its grade.")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (required with --set).")] = None,
    key: Key = None,
) -> None:
    """An obligor's grade; the operator sets it with a reason (audited)."""
    s = platform().standing
    if set_ is not None:
        if not reason:
            raise typer.BadParameter("a grade is set with --reason")
        s.set_grade(obligor, principal=principal(), grade=set_, reason=reason, key=new_key(key))
    console.print(f"{escape(obligor)}: {escape(s.grade(obligor, principal=principal()))}.")


rule_app = typer.Typer(help="A funder's standing quote rules.", no_args_is_help=True)
app.add_typer(rule_app, name="rule")
RuleId = Annotated[int, typer.Argument(help="The rule's id.", parser=strict_id("The rule id"))]
BUCKETS = ", ".join(label for label, _ in TENOR_BUCKETS)


def _spread(text: str) -> tuple[tuple[str, str], Decimal]:
    """``AA:31-90=1.2%`` → ((AA, 31-90), 0.012); a negative spread with a leading minus."""
    try:
        where, value = text.split("=", 1)
        grade_, bucket = where.split(":", 1)
    except ValueError:
        raise typer.BadParameter(
            f"a spread is GRADE:TENOR=RATE (AA:31-90=1.2%); got {text!r}"
        ) from None
    return (grade_.strip(), bucket.strip()), parse_spread(value)


@rule_app.command("add")
def rule_add(
    spread: Annotated[list[str], typer.Option(
        help=f"GRADE:TENOR=SPREAD over the base rate, e.g. AA:31-90=1.2%; tenors {BUCKETS}.")],
    cur: Annotated[str, typer.Option("--currency", help="Its currency.")] = "CNY",
    cap_obligor: Annotated[str | None, typer.Option(help="At most this per obligor.")] = None,
    cap_tier: Annotated[str | None, typer.Option(help="At most this per tier.")] = None,
    cap_total: Annotated[str | None, typer.Option(help="At most this in all.")] = None,
    recourse: Annotated[bool, typer.Option(help="Quote with recourse to the seller.")] = False,
    obligor: Annotated[list[str] | None, typer.Option(help="Only these obligors.")] = None,
    key: Key = None,
) -> None:  # fmt: skip
    """As a funder: quote every request you may fund at the base rate + a spread."""
    exp = currency(cur.upper()).exponent

    def cap(v: str | None) -> int | None:
        return None if v is None else parse_amount(v, exp)

    made = platform().standing.add_rule(
        principal=principal(), spreads=dict(_spread(s) for s in spread), key=new_key(key),
        currency=cur.upper(), cap_per_obligor=cap(cap_obligor), cap_per_tier=cap(cap_tier),
        cap_total=cap(cap_total), recourse=recourse, obligors=frozenset(obligor or ()),
    )  # fmt: skip
    console.print(f"Standing rule {made.id}: {escape(made.funder)} quotes "
                  f"{len(made.spreads)} grade and tenor pairs over the base rate.")  # fmt: skip


@rule_app.command("list")
def rule_list() -> None:
    """Your standing rules (all, for operators and auditors)."""
    table = Table(show_edge=False)
    for column in ("id", "funder", "spreads", "caps (obligor / tier / total)", "recourse",
                   "status"):  # fmt: skip
        table.add_column(column)
    for r in platform().standing.rules_of(principal=principal()):
        spreads = ", ".join(
            f"{g} {b} +{percent_text(v)}" for (g, b), v in sorted(r.spreads.items())
        )
        caps = " / ".join("—" if c is None else _money(c, r.currency)
                          for c in (r.cap_per_obligor, r.cap_per_tier, r.cap_total))  # fmt: skip
        table.add_row(str(r.id), escape(r.funder), escape(spreads), caps,
                      "with" if r.recourse else "without",
                      "open" if r.active else "withdrawn")  # fmt: skip
    console.print(table)


@rule_app.command("withdraw")
def rule_withdraw(rule_id: RuleId, key: Key = None) -> None:
    """As its funder: withdraw a rule and its open quotes."""
    platform().standing.withdraw_rule(rule_id, principal=principal(), key=new_key(key))
    console.print(f"Standing rule {rule_id} is withdrawn, with its open quotes.")


standing_app = typer.Typer(help="Standing requests: every certificate of an obligor you "
                           "receive, offered on set terms.", no_args_is_help=True)  # fmt: skip
app.add_typer(standing_app, name="standing")
StandingId = Annotated[
    int, typer.Argument(help="The standing request's id.", parser=strict_id("The id"))
]


@standing_app.command("add")
def standing_add(
    obligor: Annotated[str, typer.Argument(help="Whose certificates to offer.")],
    max_rate: Annotated[str | None, typer.Option(help="The highest APR: 5%.")] = None,
    flat: Annotated[str | None, typer.Option(help="Or the highest flat discount.")] = None,
    recourse: Recourse = "any",
    days: Annotated[int, typer.Option(help="How long each request stays open.")] = 5,
    cur: Annotated[str, typer.Option("--currency", help="Its currency.")] = "CNY",
    key: Key = None,
) -> None:
    """Offer every fragment of OBLIGOR's certificates you receive from now on."""
    made = platform().standing.add_standing_request(
        principal=principal(), obligor=obligor, key=new_key(key), currency=cur.upper(),
        max_rate=None if max_rate is None else _discount(max_rate),
        flat_discount=None if flat is None else _flat(flat), recourse=_recourse(recourse),
        days=days,
    )  # fmt: skip
    terms = (percent_text(made.max_rate) + " a year" if made.max_rate is not None
             else percent_text(made.flat_discount or Decimal(0)) + " flat")  # fmt: skip
    console.print(f"Standing request {made.id}: every certificate of {escape(obligor)} "
                  f"{escape(made.holder)} receives is offered at {terms} or better, "
                  f"{made.days} days at a time.")  # fmt: skip


@standing_app.command("list")
def standing_list() -> None:
    """Your standing requests."""
    table = Table(show_edge=False)
    for column in ("id", "holder", "obligor", "terms", "recourse", "days", "status"):
        table.add_column(column)
    for s in platform().standing.standing_requests(principal=principal()):
        terms = (percent_text(s.max_rate) if s.max_rate is not None
                 else f"{percent_text(s.flat_discount or Decimal(0))} flat")  # fmt: skip
        table.add_row(str(s.id), escape(s.holder), escape(s.obligor), terms,
                      RECOURSE_NAMES[s.recourse], str(s.days),
                      "open" if s.active else "cancelled")  # fmt: skip
    console.print(table)


@standing_app.command("cancel")
def standing_cancel(standing_id: StandingId, key: Key = None) -> None:
    """Offer no more; the requests it posted stand until they fill, expire or you cancel."""
    platform().standing.cancel_standing_request(standing_id, principal=principal(),
                                                key=new_key(key))  # fmt: skip
    console.print(f"Standing request {standing_id} is cancelled.")


@standing_app.command("run")
def standing_run() -> None:
    """As the operator: run the standing requests now (the worker does it every 30 s)."""
    done = platform().standing.run_standing(principal=principal())
    console.print(f"Posted {done.posted} requests; {done.fills} fills; "
                  f"{done.refused} standing requests refused (see the log).")  # fmt: skip
