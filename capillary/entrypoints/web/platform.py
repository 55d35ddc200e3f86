"""The operator's and the auditor's page: the participants, the cores' issuance limits, the
platform's date and the days off ahead, today's settlement run (the operator's to start), the
books verified on demand (the journal's and audit trail's chains, every balance against its
postings, the reconciliation of cash, certificates, credit and payables), the webhook
endpoints' health, and the audit trail a page at a time. The operator sets limits and
calendar days through forms; an auditor sees all of it and changes nothing; anyone else is
refused by the services."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.domain.calendar import BusinessCalendar
from capillary.domain.errors import Forbidden, ValidationError
from capillary.domain.inputs import parse_day
from capillary.domain.parties import Role
from capillary.domain.units import parse_major
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, Page, acting, page, services, signed_in
from capillary.services.users import Console

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PARTICIPANTS_SHOWN = 200  # a page of the directory
CALENDAR_DAYS = 60  # the days off ahead shown
AUDIT_SHOWN = 100


def _watching(console: Console) -> None:
    if not console.principal.sees_everything:
        raise Forbidden(f"{console.principal.org} is neither the operator nor an auditor.")


def _platform_page(request: Request, shown: Page, after: str = "", **extra: Any) -> HTMLResponse:
    assert shown.console is not None
    p, who = services(request), shown.console.principal
    clock = p.admin.reading()
    organizations = p.parties.organizations(after=after, limit=PARTICIPANTS_SHOWN + 1)
    return render(request, "platform.html", shown,
                  organizations=organizations[:PARTICIPANTS_SHOWN],
                  more_after=organizations[PARTICIPANTS_SHOWN - 1].code
                  if len(organizations) > PARTICIPANTS_SHOWN else None,
                  cores=[o.code for o in p.parties.organizations(role=Role.CORE)],
                  limits=p.credit.issuance_limits(principal=who), clock=clock,
                  days_off=days_off(p.settlement.calendar(), clock.today, CALENDAR_DAYS),
                  webhooks=p.webhooks.health(principal=who),
                  **extra)  # fmt: skip


def days_off(calendar: BusinessCalendar, start: date, days: int) -> list[tuple[date, bool, str]]:
    """The days in ``[start, start + days)`` that break the week's rhythm: weekdays closed
    (holidays, the operator's overrides) and weekend days open (make-up working days), each
    with whether it is a business day and why; plain weekends are left out."""
    found = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        open_ = calendar.is_business_day(day)
        if open_ == (day.weekday() < 5):
            continue
        why = "override" if day in calendar.overrides else calendar.holiday_name(day) or ""
        found.append((day, open_, why))
    return found


@router.get("/platform")
def platform_page(request: Request, after: str = "") -> HTMLResponse:
    console = signed_in(request)
    _watching(console)
    return _platform_page(request, page(request, console), after=after[:64])


@router.post("/platform/limits")
def set_limit(
    request: Request,
    obligor: Annotated[str, Form(max_length=64)],
    limit: Annotated[str, Form(max_length=40)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The operator sets a core's issuance limit (CNY); the services refuse anyone else."""
    console, key = acting(request, csrf, form)
    services(request).credit.set_issuance_limit(
        principal=console.principal, obligor=obligor, cur="CNY",
        limit=parse_major(limit.strip(), 2), key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/platform#limits-title", status_code=303)


@router.post("/platform/calendar")
def set_calendar_day(
    request: Request,
    day: Annotated[str, Form(max_length=10)],
    business_day: Annotated[str, Form(max_length=3)],
    reason: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """The operator marks a day open or closed for business (a published schedule)."""
    console, key = acting(request, csrf, form)
    if business_day not in ("yes", "no"):
        raise ValidationError("Say whether the day is a business day: yes or no.")
    if not reason.strip():
        raise ValidationError("Give the reason for the change (the published schedule).")
    services(request).settlement.set_calendar_day(
        parse_day(day, what="The day"), principal=console.principal,
        business_day=business_day == "yes", reason=reason.strip(), key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/platform#calendar-title", status_code=303)


@router.get("/platform/audit")
def audit_trail(request: Request, before: int | None = None) -> HTMLResponse:
    """The audit trail, newest first, a page at a time."""
    console = signed_in(request)
    entries = services(request).trade.audit_trail(principal=console.principal, before=before,
                                                  limit=AUDIT_SHOWN)  # fmt: skip
    return render(request, "audit.html", page(request, console), entries=entries,
                  older=entries[-1]["id"] if len(entries) == AUDIT_SHOWN else None)  # fmt: skip


@router.post("/platform/verify")
def verify(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """Verify the books now (it reads the whole journal: on demand, not on every view)."""
    console, _ = acting(request, csrf, form)
    _watching(console)
    books, who = services(request).books, console.principal
    started = time.perf_counter()
    report = books.verify(principal=who)
    audit, unsealed_audit = books.verify_audit(principal=who)
    mismatches = books.check_balances(principal=who)
    findings = books.reconcile(principal=who)
    return _platform_page(request, page(request, console), verified={
        "chain": report, "audit": audit, "audit_unsealed": unsealed_audit,
        "mismatches": mismatches, "findings": findings,
        "seconds": round(time.perf_counter() - started, 2)})  # fmt: skip


@router.post("/platform/settle")
def settle(
    request: Request,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """Today's settlement run (the operator's; the service refuses anyone else)."""
    console, key = acting(request, csrf, form)
    run = services(request).settlement.settle(principal=console.principal, key=key)
    return _platform_page(request, page(request, console), run=run)
