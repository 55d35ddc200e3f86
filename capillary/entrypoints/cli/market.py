"""``capillary market …``: a holder asks the market to finance a fragment, funders quote, the
holder takes the best the market offers."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.domain.inputs import RateRange, percent_text
from capillary.domain.market import RECOURSE_BY_NAME, MarketFill, Status
from capillary.domain.market_view import DIMENSIONS, Summary
from capillary.domain.units import currency
from capillary.entrypoints.cli.cert import (
    Amount,
    FragmentId,
    _discount,
    _fragment_currency,
    _money,
)
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

app = typer.Typer(help="The marketplace: financing requests, quotes, best execution.",
                  no_args_is_help=True)  # fmt: skip

RequestId = Annotated[
    int, typer.Argument(help="The request's id.", parser=strict_id("The request id"))
]


@app.command()
def request(
    fragment: FragmentId,
    amount: Amount,
    expires: Annotated[str, typer.Option("--expires", help="Last day it stands (YYYY-MM-DD).")],
    max_rate: Annotated[
        str | None, typer.Option(help="The highest APR you accept: 4.5% or 0.045.")
    ] = None,
    flat: Annotated[
        str | None, typer.Option(help="Or the highest flat discount off the face: 1% or 0.01.")
    ] = None,
    recourse: Annotated[str, typer.Option(help="any, with or without.")] = "any",
    key: Key = None,
) -> None:
    """As a holder: ask the market to finance (part of) a fragment."""
    if recourse not in RECOURSE_BY_NAME:
        raise typer.BadParameter("recourse is any, with or without")
    cur = _fragment_currency(fragment)
    made = platform().market.request_financing(
        principal=principal(), fragment_id=fragment,
        amount=parse_amount(amount, currency(cur).exponent),
        expires_on=strict_day("The expiry")(expires), key=new_key(key),
        max_rate=None if max_rate is None else _discount(max_rate),
        flat_discount=None if flat is None else _flat(flat), recourse=RECOURSE_BY_NAME[recourse],
    )  # fmt: skip
    console.print(f"Request {made.id}: {escape(made.holder)} asks for "
                  f"{_money(made.amount, cur)} of fragment {made.fragment_id} at "
                  f"{percent_text(made.max_rate)} a year or better, until {made.expires_on}; "
                  "open.")  # fmt: skip


def _flat(text: str) -> Decimal:
    return rate(text, RateRange(Decimal(0), Decimal("0.99"), "A flat discount"))


@app.command("requests")
def requests_(
    status: Annotated[str | None, typer.Option(help="open, filled, cancelled…")] = None,
) -> None:
    """Your requests; for a funder, those open to it (obligors it has a line to)."""
    if status is not None and status not in {s.value for s in Status}:
        raise typer.BadParameter("status is open, filled, cancelled or expired")
    wanted = None if status is None else Status(status)
    table = Table(show_edge=False)
    for column in ("id", "holder", "obligor", "amount", "filled", "max rate", "expires",
                   "status"):  # fmt: skip
        table.add_column(column)
    for r in platform().market.financing_requests(principal=principal(), status=wanted):
        table.add_row(str(r.id), escape(r.holder), escape(r.obligor),
                      _money(r.amount, r.currency), _money(r.filled, r.currency),
                      percent_text(r.max_rate), str(r.expires_on), r.status.value)  # fmt: skip
    console.print(table)


@app.command()
def quote(
    request_id: RequestId,
    amount: Amount,
    rate: Annotated[str, typer.Option(help="Your APR: 4.5% or 0.045.")],
    until: Annotated[str, typer.Option("--until", help="Valid through (YYYY-MM-DD).")],
    recourse: Annotated[bool, typer.Option(help="With recourse to the seller.")] = False,
    key: Key = None,
) -> None:
    """As a funder with a line to the obligor: quote on a request."""
    m = platform().market
    found = m.financing_request(request_id, principal=principal())
    made = m.quote_request(
        request_id, principal=principal(), rate=_discount(rate),
        amount=parse_amount(amount, currency(found.currency).exponent),
        valid_until=strict_day("The validity")(until), key=new_key(key), recourse=recourse,
    )  # fmt: skip
    console.print(f"Quote {made.id}: {escape(made.funder)} offers "
                  f"{_money(made.amount, found.currency)} at {percent_text(made.rate)} a year "
                  f"on request {request_id}, valid through {made.valid_until}.")  # fmt: skip


@app.command()
def quotes(request_id: RequestId) -> None:
    """The quotes on a request: all for its holder, your own for a funder."""
    m = platform().market
    found = m.financing_request(request_id, principal=principal())
    table = Table(show_edge=False)
    for column in ("id", "funder", "rate", "amount", "filled", "valid through", "status"):
        table.add_column(column)
    for q in m.quotes(request_id, principal=principal()):
        table.add_row(str(q.id), escape(q.funder), percent_text(q.rate),
                      _money(q.amount, found.currency), _money(q.filled, found.currency),
                      str(q.valid_until), q.status.value)  # fmt: skip
    console.print(table)


@app.command()
def fill(request_id: RequestId, key: Key = None) -> None:
    """As the holder: take the best the market offers now, cheapest quotes first."""
    m = platform().market
    fills: list[MarketFill] = m.fill(request_id, principal=principal(), key=new_key(key))
    found = m.financing_request(request_id, principal=principal())
    if not fills:
        console.print(f"Request {request_id}: nothing fills now (no valid quote within your "
                      "rate, or none with room).")  # fmt: skip
    for f in fills:
        console.print(f"Filled {_money(f.amount, found.currency)} by {escape(f.funder)} at "
                      f"{percent_text(f.rate)} a year: fragment {f.fragment_id}, ledger "
                      f"transaction {f.ledger_transaction}.")  # fmt: skip
    filled, asked = _money(found.filled, found.currency), _money(found.amount, found.currency)
    console.print(f"Request {request_id}: {filled} of {asked} filled; {found.status.value}.")


@app.command()
def cancel(request_id: RequestId, key: Key = None) -> None:
    """As the holder: withdraw what is left of a request."""
    r = platform().market.cancel_request(request_id, principal=principal(), key=new_key(key))
    console.print(f"Request {r.id} is {r.status.value}.")


@app.command()
def view(
    by: Annotated[str, typer.Option(help="all, obligor, industry, tier, tenor or month.")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="The figures as JSON.")] = False,
) -> None:
    """Supply and demand across the marketplace: asked, quoted, filled, the unmet demand and
    the idle supply, rates and time to cash."""
    if by not in DIMENSIONS:
        raise typer.BadParameter(f"by is one of {', '.join(DIMENSIONS)}")
    found = platform().market.view(principal=principal(), by=by)
    if as_json:
        typer.echo(json.dumps([_summary_json(s) for s in found], indent=2))
        return
    table = Table(show_edge=False, title=f"The marketplace by {by}")
    for column in ("group", "requests", "requested", "quoted", "filled", "unmet", "idle",
                   "avg rate", "spread", "median to cash"):  # fmt: skip
        table.add_column(column, justify="right" if column != "group" else "left")
    for s in found:
        cur = s.currency
        wait = "" if s.median_seconds_to_cash is None else f"{s.median_seconds_to_cash:,} s"
        table.add_row(escape(s.group), str(s.requests), _money(s.requested, cur),
                      _money(s.quoted, cur), _money(s.filled, cur), _money(s.unmet, cur),
                      _money(s.idle, cur),
                      "" if s.average_rate is None else percent_text(s.average_rate),
                      "" if s.spread is None else percent_text(s.spread), wait)  # fmt: skip
    console.print(table)


def _summary_json(s: Summary) -> dict[str, object]:
    out = dataclasses.asdict(s)
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in out.items()}


early_app = typer.Typer(help="Early payment: an obligor's cash for holders' bids.",
                        no_args_is_help=True)  # fmt: skip
app.add_typer(early_app, name="early")
OfferId = Annotated[
    int, typer.Argument(help="The early-payment offer's id.", parser=strict_id("The offer id"))
]


@early_app.command("offer")
def early_offer(
    cash: Annotated[str, typer.Option("--cash", help="In major units, e.g. 500,000.00.")],
    hurdle: Annotated[str, typer.Option(help="The lowest APR a bid may give up: 4%.")],
    until: Annotated[str, typer.Option("--until", help="Last day (YYYY-MM-DD).")],
    cur: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")] = "CNY",
    key: Key = None,
) -> None:
    """As an obligor: offer your cash for early payment of your certificates."""
    made = platform().early_payment.offer(
        principal=principal(), cash=parse_amount(cash, currency(cur).exponent),
        currency=currency(cur).code, hurdle=_discount(hurdle),
        expires_on=strict_day("The last day")(until), key=new_key(key),
    )  # fmt: skip
    console.print(f"Early-payment offer {made.id}: {escape(made.obligor)} pays up to "
                  f"{_money(made.cash, made.currency)} to bids at {percent_text(made.hurdle)} "
                  f"a year or more, until {made.expires_on}.")  # fmt: skip


@early_app.command("bid")
def early_bid(
    offer: OfferId,
    fragment: Annotated[
        int,
        typer.Option(
            "--fragment", help="The fragment you bid on.", parser=strict_id("The fragment id")
        ),
    ],
    amount: Amount,
    apr: Annotated[str, typer.Option(help="The APR you give up to be paid now: 6%.")],
    key: Key = None,
) -> None:
    """As a holder: bid the APR you give up to be paid (part of) a fragment now."""
    ep = platform().early_payment
    found = ep.programme(offer, principal=principal())
    made = ep.bid(offer, principal=principal(), fragment_id=fragment,
                  amount=parse_amount(amount, currency(found.currency).exponent),
                  apr=_discount(apr), key=new_key(key))  # fmt: skip
    seen = ep.outlook(offer, made.id, principal=principal())
    certain = "—" if seen.certain_rate is None else percent_text(seen.certain_rate)
    console.print(f"Bid {made.id}: {_money(made.amount, found.currency)} of fragment "
                  f"{made.fragment_id} at {percent_text(made.apr)}; clears now: "
                  f"{_money(seen.clearing_now, found.currency)}; clears in full for certain at "
                  f"{certain}.")  # fmt: skip


@early_app.command("bids")
def early_bids(offer: OfferId) -> None:
    """The bids on an offer: all for its obligor, your own for a holder."""
    ep = platform().early_payment
    found = ep.programme(offer, principal=principal())
    table = Table(show_edge=False)
    for column in ("id", "holder", "fragment", "amount", "apr", "status", "cleared", "paid"):
        table.add_column(column)
    cur = found.currency
    for b in ep.bids(offer, principal=principal()):
        table.add_row(str(b.id), escape(b.holder), str(b.fragment_id), _money(b.amount, cur),
                      percent_text(b.apr), b.status.value, _money(b.face_cleared, cur),
                      _money(b.paid, cur))  # fmt: skip
    console.print(table)


@early_app.command("clear")
def early_clear(offer: OfferId, key: Key = None) -> None:
    """As the obligor: run the clearing, paying the best bids first."""
    ep = platform().early_payment
    found = ep.programme(offer, principal=principal())
    done = ep.clear(offer, principal=principal(), key=new_key(key))
    for c in done.cleared:
        console.print(f"Paid {escape(c.holder)} {_money(c.paid, found.currency)} for "
                      f"{_money(c.face, found.currency)} of fragment {c.fragment_id} at "
                      f"{percent_text(c.apr)}.")  # fmt: skip
    rate = "nothing cleared" if done.rate is None else f"cleared at {percent_text(done.rate)}"
    console.print(f"Offer {offer}: {_money(done.cash_used, found.currency)} paid; {rate}.")
