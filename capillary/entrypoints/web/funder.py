"""A funder's part of the loop in the console: the requests open to it (on obligors it has a
line to) with a form to quote on one, its open quotes, its standing rules (set one for a
grade, spread by tenor; withdraw one), its portfolio by obligor and tenor, and the use of its
credit lines."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.domain.inputs import parse_rate
from capillary.domain.market import Status
from capillary.domain.market_rules import TENOR_BUCKETS, parse_spread, tenor_bucket
from capillary.domain.units import parse_major
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, acting, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)
QUOTES_SHOWN = 200


@router.get("/funding")
def funding(request: Request) -> HTMLResponse:
    console = signed_in(request)
    p, who = services(request), console.principal
    today = p.admin.reading().today
    requests = [r for r in p.market.financing_requests(principal=who, status=Status.OPEN,
                                                       limit=200)
                if r.holder != who.org and r.expires_on >= today]  # fmt: skip
    portfolio: dict[tuple[str, str], int] = defaultdict(int)
    for f, c in p.certificates.held(who.org, principal=who):
        portfolio[(c.obligor, tenor_bucket((c.maturity - today).days) or "due")] += f.amount
    lines = [x for x in p.credit.credit_lines(principal=who) if x.funder == who.org]
    return render(request, "funding.html", page(request, console), requests=requests,
                  rules=p.standing.rules_of(principal=who), lines=lines,
                  quotes=p.market.open_quotes(principal=who, limit=QUOTES_SHOWN),
                  buckets=[label for label, _ in TENOR_BUCKETS],
                  portfolio=sorted(portfolio.items()), today=today)  # fmt: skip


@router.post("/funding/requests/{request_id}/quote")
def quote(
    request: Request,
    request_id: int,
    rate: Annotated[str, Form(max_length=20)],
    amount: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A quote on the request, valid until the request expires (at most a week)."""
    console, key = acting(request, csrf, form)
    p, who = services(request), console.principal
    asked = p.market.financing_request(request_id, principal=who)
    until = min(asked.expires_on, p.admin.reading().today + timedelta(days=7))
    p.market.quote_request(request_id, principal=who,
                           rate=parse_rate(rate, p.certificates.rules.discount_rates),
                           amount=parse_major(amount.strip(), 2), valid_until=until,
                           key=key)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/funding", status_code=303)


@router.post("/funding/rules")
def add_rule(
    request: Request,
    grade: Annotated[str, Form(max_length=16)],
    spread_0_30: Annotated[str, Form(alias="spread-0-30", max_length=20)] = "",
    spread_31_90: Annotated[str, Form(alias="spread-31-90", max_length=20)] = "",
    spread_91_180: Annotated[str, Form(alias="spread-91-180", max_length=20)] = "",
    spread_181_365: Annotated[str, Form(alias="spread-181-365", max_length=20)] = "",
    recourse: Annotated[str, Form(max_length=3)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A standing rule for one grade: the spread over the base rate for each tenor given
    (a blank tenor is not quoted)."""
    console, key = acting(request, csrf, form)
    p = services(request)
    written = [spread_0_30, spread_31_90, spread_91_180, spread_181_365]
    given = zip([label for label, _ in TENOR_BUCKETS], written, strict=True)
    spreads = {(grade.strip(), bucket): parse_spread(text)
               for bucket, text in given if text.strip()}  # fmt: skip
    p.standing.add_rule(principal=console.principal, spreads=spreads, recourse=bool(recourse),
                        key=key)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/funding", status_code=303)


@router.post("/funding/rules/{rule_id}/withdraw")
def withdraw_rule(
    request: Request,
    rule_id: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    console, key = acting(request, csrf, form)
    services(request).standing.withdraw_rule(rule_id, principal=console.principal, key=key)
    return RedirectResponse(f"{PREFIX}/funding", status_code=303)
