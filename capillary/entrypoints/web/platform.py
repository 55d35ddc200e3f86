"""The operator's and the auditor's page: the participants, the cores' issuance limits, the
platform's date, today's settlement run (the operator's to start), and the books verified on
demand (the journal's and audit trail's chains, every balance against its postings, the
reconciliation of cash, certificates, credit and payables). An auditor sees all of it and
starts nothing; anyone else is refused by the services."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from capillary.domain.errors import Forbidden
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, Page, acting, page, services, signed_in
from capillary.services.users import Console

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _watching(console: Console) -> None:
    if not console.principal.sees_everything:
        raise Forbidden(f"{console.principal.org} is neither the operator nor an auditor.")


def _platform_page(request: Request, shown: Page, **extra: Any) -> HTMLResponse:
    assert shown.console is not None
    p, who = services(request), shown.console.principal
    return render(request, "platform.html", shown,
                  organizations=p.parties.organizations(limit=2000),
                  limits=p.credit.issuance_limits(principal=who), clock=p.admin.reading(),
                  **extra)  # fmt: skip


@router.get("/platform")
def platform_page(request: Request) -> HTMLResponse:
    console = signed_in(request)
    _watching(console)
    return _platform_page(request, page(request, console))


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
