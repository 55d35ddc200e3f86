"""A core enterprise's part of the loop in the console: the payables it owes, a certificate
issued against one at a click (its face the open amount, its maturity the due date), what it
owes on certificates by month, the cash it needs for the next 30 days against the cash it
has on the platform, and the settlement calendar: each day certificates fall due in the next
60, with the cash still to wire by then."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.charts import bars
from capillary.domain.certificates import Certificate, CertificateStatus
from capillary.domain.errors import AccountNotFound
from capillary.domain.payables import PayableStatus
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, acting, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AHEAD_DAYS = 30  # the window of the cash-needed figure
CALENDAR_DAYS = 60  # the settlement calendar's window


@dataclass(frozen=True, slots=True)
class SettlementDay:
    """A day certificates of the core's fall due: how many, their face, the running total,
    and the cash still to wire by then beyond what is on the platform now."""

    day: date
    count: int
    face: int
    running: int
    short: int


def settlement_calendar(
    outstanding: Sequence[Certificate], *, until: date, cash: int
) -> list[SettlementDay]:
    """The days up to ``until`` on which certificates fall due (overdue ones first, on
    their own maturity)."""
    due: dict[date, list[int]] = defaultdict(list)
    for c in outstanding:
        if c.maturity <= until:
            due[c.maturity].append(c.face)
    days, running = [], 0
    for day in sorted(due):
        running += sum(due[day])
        days.append(SettlementDay(day, len(due[day]), sum(due[day]), running,
                                  max(running - cash, 0)))  # fmt: skip
    return days


@router.get("/payables")
def payables(request: Request) -> HTMLResponse:
    console = signed_in(request)
    shown = page(request, console)
    p, who = services(request), console.principal
    owed = [x for x in p.trade.payables(principal=who, status=PayableStatus.OPEN, limit=500)
            if x.buyer == who.org]  # fmt: skip
    outstanding = [c for c in p.certificates.certificates(principal=who, limit=1000,
                                                          obligor=who.org)
                   if c.status in (CertificateStatus.ACTIVE, CertificateStatus.OVERDUE,
                                   CertificateStatus.PENDING)]  # fmt: skip
    today = p.admin.reading().today
    by_month: dict[str, int] = defaultdict(int)
    for c in outstanding:
        by_month[c.maturity.strftime("%Y-%m")] += c.face
    months = sorted(by_month)
    title = shown.gettext("What you owe on certificates, by month of maturity (CNY)")
    ladder = bars(title, months, [(shown.gettext("owed"), [by_month[m] / 100 for m in months])])
    soon = sum(c.face for c in outstanding if c.maturity <= today + timedelta(days=AHEAD_DAYS))
    try:
        cash = p.cash.cash(who.org, "CNY", principal=who)
    except AccountNotFound:
        cash = 0
    calendar = settlement_calendar(outstanding, until=today + timedelta(days=CALENDAR_DAYS),
                                   cash=cash)  # fmt: skip
    return render(request, "payables.html", shown, owed=owed, outstanding=len(outstanding),
                  outstanding_face=sum(c.face for c in outstanding), ladder=ladder, soon=soon,
                  cash=cash, ahead=AHEAD_DAYS, today=today, calendar=calendar,
                  calendar_days=CALENDAR_DAYS)  # fmt: skip


@router.post("/payables/{payable_id}/issue")
def issue(
    request: Request,
    payable_id: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A certificate for what is open of the payable, due on its due date, to its supplier."""
    console, key = acting(request, csrf, form)
    made = services(request).certificates.issue_for_payable(
        payable_id, principal=console.principal, key=key
    )
    return RedirectResponse(f"{PREFIX}/certificates/{made.certificate.number}", status_code=303)
