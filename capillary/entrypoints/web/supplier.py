"""A holder's two acts on a fragment, as forms: pay a supplier with (part of) it, naming the
invoice it pays; and get cash for it — a financing request to the market at the highest
rate the holder accepts (what it would pay borrowing alone), whose quotes the page shows as
they come (htmx polls a fragment of the page) with the cash each would pay today, and the
best taken at one click. Every rule is the services'."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.domain.certificates import Certificate, Fragment
from capillary.domain.errors import FragmentNotFound, ValidationError
from capillary.domain.inputs import parse_id, parse_rate
from capillary.domain.market import Status
from capillary.domain.pricing import discount
from capillary.domain.trade import InvoiceStatus
from capillary.domain.units import parse_major
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, acting, page, services, signed_in
from capillary.services.users import Console

router = APIRouter(prefix=PREFIX, include_in_schema=False)
PAYABLE = {InvoiceStatus.MATCHED, InvoiceStatus.CONFIRMED}  # what a buyer may pay
#: The ceiling the get-cash form suggests: what a small supplier pays borrowing alone (the
#: holder changes it to its own).
STANDALONE_DEFAULT = Decimal("0.12")


def _held(request: Request, console: Console, fragment_id: int) -> tuple[Fragment, Certificate]:
    """The viewer's active fragment ``fragment_id`` with its certificate, or not found."""
    for f, c in services(request).certificates.held(console.principal.org,
                                                    principal=console.principal):  # fmt: skip
        if f.id == fragment_id:
            return f, c
    raise FragmentNotFound(f"No fragment {fragment_id} of yours.")


@router.get("/fragments/{fragment_id}/pay")
def pay_form(request: Request, fragment_id: int) -> HTMLResponse:
    console = signed_in(request)
    fragment, cert = _held(request, console, fragment_id)
    p, who = services(request), console.principal
    invoices = [i for i in p.trade.invoices(principal=who, limit=200)
                if i.buyer == who.org and i.status in PAYABLE]  # fmt: skip
    suppliers = sorted(r.supplier for r in p.parties.relationships(principal=who)
                       if r.buyer == who.org)  # fmt: skip
    return render(request, "pay.html", page(request, console), fragment=fragment, cert=cert,
                  invoices=invoices, suppliers=suppliers)  # fmt: skip


@router.post("/fragments/{fragment_id}/pay")
def pay(
    request: Request,
    fragment_id: int,
    amount: Annotated[str, Form(max_length=40)],
    invoice: Annotated[str, Form(max_length=200)] = "",
    supplier: Annotated[str, Form(max_length=64)] = "",
    contract: Annotated[str, Form(max_length=120)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Pays the invoice chosen, or under a contract with the supplier chosen."""
    console, key = acting(request, csrf, form)
    seller, _, number = invoice.partition("/")
    if seller and number:
        recipient, reference = seller, number
    elif supplier and contract.strip():
        recipient, reference = supplier, f"contract:{contract.strip()}"
    else:
        raise ValidationError("Choose the invoice this pays, or a supplier and its contract.")
    minor = parse_major(amount.strip(), 2)
    services(request).certificates.transfer(
        principal=console.principal, fragment_id=fragment_id, recipient=recipient,
        amount=minor, reference=reference, key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/holdings", status_code=303)


@router.get("/fragments/{fragment_id}/cash")
def cash_form(request: Request, fragment_id: int) -> HTMLResponse:
    console = signed_in(request)
    fragment, cert = _held(request, console, fragment_id)
    now = services(request).market.indicative(fragment_id, principal=console.principal)
    best = None
    if now.best_rate is not None:
        best = fragment.amount - discount(fragment.amount, now.best_rate, now.days)
    alone = fragment.amount - discount(fragment.amount, STANDALONE_DEFAULT, now.days)
    return render(request, "cash_out.html", page(request, console), fragment=fragment,
                  cert=cert, now=now, best_cash=best, alone=STANDALONE_DEFAULT,
                  alone_cash=alone)  # fmt: skip


@router.post("/fragments/{fragment_id}/cash")
def ask_market(
    request: Request,
    fragment_id: int,
    amount: Annotated[str, Form(max_length=40)],
    max_rate: Annotated[str, Form(max_length=20)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    console, key = acting(request, csrf, form)
    p = services(request)
    rate = parse_rate(max_rate, p.certificates.rules.discount_rates)
    today = p.admin.reading().today
    asked = p.market.request_financing(
        principal=console.principal, fragment_id=parse_id(str(fragment_id)),
        amount=parse_major(amount.strip(), 2), max_rate=rate, expires_on=today + timedelta(days=3),
        key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/requests/{asked.id}", status_code=303)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: int) -> HTMLResponse:
    console = signed_in(request)
    offers = _offers(request, console, request_id)
    return render(request, "request.html", page(request, console), **offers)


@router.get("/requests/{request_id}/quotes")
def quotes_part(request: Request, request_id: int) -> HTMLResponse:
    """The live part of the request's page: what the market offers now (htmx polls it)."""
    console = signed_in(request)
    return render(request, "request_quotes.html", page(request, console),
                  **_offers(request, console, request_id))  # fmt: skip


@router.post("/requests/{request_id}/fill")
def take_best(
    request: Request,
    request_id: int,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    console, key = acting(request, csrf, form)
    services(request).market.fill(request_id, principal=console.principal,
                                  key=key)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/requests/{request_id}", status_code=303)


def _offers(request: Request, console: Console, request_id: int) -> dict[str, Any]:
    """The request, its open quotes best first with the cash each pays today, and what the
    holder's own ceiling (its standalone rate) would cost, for comparison."""
    p = services(request)
    asked = p.market.financing_request(request_id, principal=console.principal)
    cert = p.certificates.certificate_of(asked.fragment_id, principal=console.principal)
    today = p.admin.reading().today
    days = max(0, (cert.maturity - today).days)
    live = asked.status is Status.OPEN and asked.open_amount > 0
    open_quotes = sorted((q for q in p.market.quotes(request_id, principal=console.principal)
                          if live and q.status is Status.OPEN and q.open_amount > 0),
                         key=lambda q: (q.rate, q.created_at, q.id))  # fmt: skip
    face = asked.open_amount

    def cash_at(rate: Decimal) -> int:
        return face - discount(face, rate, days)

    return {"asked": asked, "cert": cert, "days": days,
            "quotes": [(q, cash_at(q.rate)) for q in open_quotes],
            "alone": cash_at(asked.max_rate), "open": live}  # fmt: skip
