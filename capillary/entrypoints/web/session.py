"""Who a console request is: the session cookie turned into the user's principal by the
services, the forms' CSRF tokens checked, the page's language chosen.

The session cookie is HTTP-only, Secure and SameSite=Lax; it carries a random token the
platform keeps only as a digest. Every form carries a CSRF token: the session's own once
signed in, and before that (the sign-in form) one also set in a short-lived cookie, both
compared in constant time."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from capillary.bootstrap import Platform
from capillary.domain.errors import CsrfRefused, SessionEnded
from capillary.entrypoints.web.i18n import Formats, choose, translations
from capillary.services.users import Console

SESSION_COOKIE = "capillary_session"
PRE_SESSION_COOKIE = "capillary_csrf"  # the sign-in form's token, before any session
PREFIX = "/console"


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


@dataclass(frozen=True, slots=True)
class Page:
    """What every page is rendered with: who looks, in which language."""

    console: Console | None
    language: str
    formats: Formats

    def gettext(self, message: str) -> str:
        return translations(self.language).gettext(message)


def services(request: Request) -> Platform:
    found: Platform = request.app.state.platform
    return found


def signed_in(request: Request) -> Console:
    """The request's console session (cached on the request), or :class:`SignInNeeded`."""
    found = getattr(request.state, "console", None)
    if isinstance(found, Console):
        return found
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignInNeeded(request.url.path)
    try:
        console = services(request).users.session(token)
    except SessionEnded:
        raise SignInNeeded(request.url.path) from None
    request.state.console = console
    return console


def page(request: Request, console: Console | None) -> Page:
    chosen = choose(console.user.locale if console else request.cookies.get("capillary_lang", ""),
                    request.headers.get("accept-language"))  # fmt: skip
    return Page(console, chosen, Formats(chosen))


def check_csrf(request: Request, console: Console | None, sent: str | None) -> None:
    """A form's token must be the session's (or, before sign-in, the pre-session cookie's)."""
    expected = console.csrf if console else request.cookies.get(PRE_SESSION_COOKIE)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfRefused("This form has expired or did not come from this console: reload "
                          "the page and send it again.")  # fmt: skip


def acting(request: Request, csrf: str | None, form: str | None) -> tuple[Console, str]:
    """The sender of a console form: signed in, the form's token checked; with the
    idempotency key of the one write the form asks for — the key drawn into the form when
    the page was rendered, so that the same form sent twice is one write."""
    console = signed_in(request)
    check_csrf(request, console, csrf)
    if not form or not _FORM_KEY.fullmatch(form):
        raise CsrfRefused("This form has expired or did not come from this console: reload "
                          "the page and send it again.")  # fmt: skip
    return console, f"console-{form}"


_FORM_KEY = re.compile(r"[0-9a-f]{32}")


def pre_session_token(request: Request) -> str:
    """The sign-in form's CSRF token: the browser's, or a new one."""
    return request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)


def keep_pre_session_token(response: Response, token: str) -> None:
    response.set_cookie(PRE_SESSION_COOKIE, token, max_age=3600, httponly=True, secure=True,
                        samesite="strict", path=PREFIX)  # fmt: skip


def start_session(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, secure=True, samesite="lax",
                        path=PREFIX)  # fmt: skip
    response.delete_cookie(PRE_SESSION_COOKIE, path=PREFIX)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=PREFIX, secure=True, httponly=True)
