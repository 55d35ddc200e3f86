"""A core enterprise's early-payment programmes and how far its credit reached, in the
console: the offers of its own cash to buy its certificates back early (what each has used,
the rate the last clearing cleared at), a form to open one, and its reach tier by tier —
suppliers that received its certificates, those that turned them into cash, at what rate,
and what that saved them. The operator and the auditor see any core's."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.charts import bars
from capillary.domain.errors import Forbidden, ValidationError
from capillary.domain.inputs import parse_rate
from capillary.domain.parties import Role
from capillary.domain.units import parse_major
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, acting, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/early-payment")
def programmes(request: Request) -> HTMLResponse:
    console = signed_in(request)
    p = services(request)
    offers = p.early_payment.programmes(principal=console.principal)
    return render(request, "early_payment.html", page(request, console), offers=offers,
                  today=p.admin.reading().today)  # fmt: skip


@router.post("/early-payment")
def offer(
    request: Request,
    cash: Annotated[str, Form(max_length=40)],
    hurdle: Annotated[str, Form(max_length=20)],
    days: Annotated[str, Form(max_length=4)] = "30",
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Offers the core's own cash for early payment of its certificates, for ``days``."""
    console, key = acting(request, csrf, form)
    p = services(request)
    if not days.strip().isdigit() or not 1 <= int(days) <= 365:
        raise ValidationError(f"An offer stays open 1 to 365 days; got {days!r}.")
    p.early_payment.offer(
        principal=console.principal, cash=parse_major(cash.strip(), 2), currency="CNY",
        hurdle=parse_rate(hurdle, p.certificates.rules.discount_rates),
        expires_on=p.admin.reading().today + timedelta(days=int(days)), key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/early-payment", status_code=303)


@router.get("/reach")
def reach(request: Request, obligor: str = "") -> HTMLResponse:
    """The viewer's own reach (a core's), or, for the platform's staff, the core chosen."""
    console = signed_in(request)
    shown = page(request, console)
    p, who = services(request), console.principal
    if not (who.sees_everything or Role.CORE in who.roles):
        raise Forbidden(f"Reach is a core enterprise's view; {who.org} is not one.")
    cores = ([o.code for o in p.parties.organizations(role=Role.CORE)]
             if who.sees_everything else [who.org])  # fmt: skip
    chosen = obligor if obligor in cores else (cores[0] if cores else who.org)
    rows = p.reach.reach(chosen, principal=who)
    _ = shown.gettext
    labels = [f"{_('tier')} {r.tier}" for r in rows]
    chart = bars(_("Suppliers reached by tier"), labels,
                 [(_("received certificates"), [r.received for r in rows]),
                  (_("turned them into cash"), [r.cashed for r in rows])])  # fmt: skip
    priced = [r for r in rows if r.mean_rate is not None]
    rates = bars(_("Rate by tier against the sellers' own ceiling (%)"),
                 [f"{_('tier')} {r.tier}" for r in priced],
                 [(_("paid"), [float((r.mean_rate or 0) * 100) for r in priced]),
                  (_("their ceiling"), [float((r.mean_ceiling or 0) * 100) for r in priced])],
                 unit="%")  # fmt: skip
    return render(request, "reach.html", shown, rows=rows, chart=chart, chosen=chosen,
                  rates=rates if priced else "",
                  cores=cores if who.sees_everything else [],
                  saved=sum(r.saved for r in rows))  # fmt: skip
