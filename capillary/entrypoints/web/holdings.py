"""The console's overview, what an organization holds of the cores' certificates (with its
maturity ladder), a certificate's tree as the viewer may see it, and accepting a certificate
issued to it. Every read and write is the services' own, under the viewer's principal."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.charts import bars
from capillary.domain.access import Principal
from capillary.domain.certificates import Certificate, CertificateStatus, Fragment
from capillary.domain.errors import AccountNotFound
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, Page, acting, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SHOWN = 200  # fragments listed on the holdings page, soonest first (the ladder counts all)


@router.get("/")
def overview(request: Request) -> HTMLResponse:
    console = signed_in(request)
    shown = page(request, console)
    p, who = services(request), console.principal
    try:
        cash = p.cash.cash(who.org, "CNY", principal=who)
    except AccountNotFound:
        cash = 0
    held = p.certificates.held(who.org, principal=who)
    pending = _pending(request)
    return render(request, "overview.html", shown, cash=cash, held=len(held),
                  held_face=sum(f.amount for f, _ in held), pending=len(pending))  # fmt: skip


@router.get("/holdings")
def holdings(request: Request) -> HTMLResponse:
    console = signed_in(request)
    shown = page(request, console)
    held = services(request).certificates.held(console.principal.org,
                                               principal=console.principal)  # fmt: skip
    today = services(request).admin.reading().today
    rows = sorted(held, key=lambda fc: (fc[1].maturity, fc[0].id))
    return render(request, "holdings.html", shown, rows=rows[:SHOWN], more=len(rows) - SHOWN,
                  today=today, ladder=_ladder(shown, rows), pending=_pending(request))  # fmt: skip


@router.get("/certificates/{number}")
def certificate(request: Request, number: str) -> HTMLResponse:
    """The certificate and what the viewer may see of its tree (another organization's is
    the same 404 as one that does not exist)."""
    console = signed_in(request)
    shown = page(request, console)
    p = services(request)
    who = console.principal
    cert = p.certificates.certificate(number, principal=who)
    tree = p.certificates.fragments(number, principal=who)
    return render(request, "certificate.html", shown, cert=cert, tree=_nested(tree),
                  party=_steps_seen(tree, cert.obligor, who))  # fmt: skip


@router.get("/certificates/{number}/steps/{fragment_id}")
def step(request: Request, number: str, fragment_id: int) -> HTMLResponse:
    """The ledger transaction that made one fragment of the tree, with its postings."""
    console = signed_in(request)
    found = services(request).certificates.step(number, fragment_id,
                                                principal=console.principal)  # fmt: skip
    return render(request, "step.html", page(request, console), number=number,
                  fragment_id=fragment_id, step=found)  # fmt: skip


@router.post("/certificates/{number}/accept")
def accept(
    request: Request,
    number: str,
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    console, key = acting(request, csrf, form)
    services(request).certificates.accept(number, principal=console.principal,
                                          key=key)  # fmt: skip
    return RedirectResponse(f"{PREFIX}/certificates/{number}", status_code=303)


def _pending(request: Request) -> list[Certificate]:
    """Certificates issued to the viewer that wait for its signature."""
    console = signed_in(request)
    found = services(request).certificates.certificates(
        principal=console.principal, status=CertificateStatus.PENDING, limit=100
    )
    return [c for c in found if c.first_holder == console.principal.org]


def _ladder(shown: Page, rows: list[tuple[Fragment, Certificate]]) -> str:
    """What falls due each month, as a bar chart (inline SVG)."""
    by_month: dict[str, int] = defaultdict(int)
    for f, c in rows:
        by_month[c.maturity.strftime("%Y-%m")] += f.amount
    months = sorted(by_month)
    return bars(shown.gettext("Maturity ladder: what falls due each month (CNY)"), months,
                [(shown.gettext("held"), [by_month[m] / 100 for m in months])])  # fmt: skip


def _steps_seen(tree: list[Fragment], obligor: str, who: Principal) -> set[int]:
    """The fragments whose making the viewer was a party to (it received the fragment, or
    gave it, or as obligor accepted its certificate's first holder): their postings are
    one click away; the services decide again when the link is followed."""
    holder = {f.id: f.holder for f in tree}
    seen = set()
    for f in tree:
        giver = obligor if f.parent_id is None else holder.get(f.parent_id)
        if who.sees_everything or who.org in (f.holder, giver):
            seen.add(f.id)
    return seen


def _nested(tree: list[Fragment]) -> list[tuple[Fragment, int]]:
    """The visible fragments in tree order, each with its depth."""
    children: dict[int | None, list[Fragment]] = defaultdict(list)
    ids = {f.id for f in tree}
    for f in tree:
        children[f.parent_id if f.parent_id in ids else None].append(f)
    out: list[tuple[Fragment, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for f in sorted(children[parent], key=lambda x: x.id):
            out.append((f, depth))
            walk(f.id, depth + 1)

    walk(None, 0)
    return out
