"""Pages rendered from the package's Jinja2 templates, in the viewer's language, with the
navigation its organization's roles and its own role call for."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from capillary.domain.parties import Role
from capillary.entrypoints.web.session import Page

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Each write form drawn carries its own submission key: sent twice (a double click, the
#: browser's resend), it is one write, replayed.
_ENV.globals["form_key"] = lambda: uuid.uuid4().hex


def nav(page: Page) -> list[tuple[str, str]]:
    """The sections the viewer has, in its language."""
    _ = page.gettext
    if page.console is None:
        return []
    items = [("/console/", _("Overview"))]
    roles = page.console.principal.roles
    if roles & {Role.SUPPLIER, Role.CORE, Role.FUNDER} or page.console.principal.sees_everything:
        items.append(("/console/holdings", _("Certificates held")))
        items.append(("/console/invoices", _("Invoices")))
    if Role.CORE in roles:
        items.append(("/console/payables", _("Payables")))
    if Role.CORE in roles or page.console.principal.sees_everything:
        items.append(("/console/early-payment", _("Early payment")))
        items.append(("/console/reach", _("Reach")))
    if Role.FUNDER in roles:
        items.append(("/console/funding", _("Funding")))
    if page.console.principal.sees_everything:
        items.append(("/console/platform", _("The platform")))
    items.append(("/console/market", _("Market")))
    items.append(("/console/users", _("Users")))
    return items


def render(request: Request, template: str, page: Page, *, status: int = 200,
           csrf: str | None = None, **context: Any) -> HTMLResponse:  # fmt: skip
    """``template`` in ``page``'s language. ``csrf``: the token of forms on a page without a
    session (the sign-in page); otherwise the session's."""
    body = _ENV.get_template(template).render(
        page=page,
        _=page.gettext,
        f=page.formats,
        nav=nav(page),
        here=request.url.path,
        csrf=csrf if csrf is not None else (page.console.csrf if page.console else ""),
        **context,
    )
    return HTMLResponse(body, status_code=status, headers=_SECURITY_HEADERS)


#: Every page: no framing, no sniffing, nothing but our own scripts, styles and images.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
