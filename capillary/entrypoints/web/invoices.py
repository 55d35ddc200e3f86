"""An organization's invoices in the console, sent and received, with where each stands in
the match (received, matched, exceptions, confirmed into a payable)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/invoices")
def invoices(request: Request) -> HTMLResponse:
    console = signed_in(request)
    who = console.principal
    found = services(request).trade.invoices(principal=who, limit=200)
    sent = [i for i in found if i.seller == who.org]
    received = [i for i in found if i.buyer == who.org]
    return render(request, "invoices.html", page(request, console), sent=sent,
                  received=received)  # fmt: skip
