"""Signing in and out of the console, and the language a page is shown in."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.domain.errors import BadCredentials, SignInThrottled
from capillary.entrypoints.web.i18n import LOCALES
from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import (
    PREFIX,
    SESSION_COOKIE,
    SignInNeeded,
    check_csrf,
    end_session,
    keep_pre_session_token,
    page,
    pre_session_token,
    services,
    signed_in,
    start_session,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _safe_back(path: str) -> str:
    """Only a path of the console itself: never another site (no open redirect)."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not parts.path.startswith(PREFIX + "/"):
        return PREFIX + "/"
    return parts.path


@router.get("/sign-in")
def sign_in_form(request: Request, back_to: str = PREFIX + "/") -> HTMLResponse:
    token = pre_session_token(request)
    response = render(request, "sign_in.html", page(request, None), back_to=_safe_back(back_to),
                      login="", error=None, csrf=token)  # fmt: skip
    keep_pre_session_token(response, token)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    login: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    back_to: Annotated[str, Form(max_length=2000)] = PREFIX + "/",
) -> Response:
    check_csrf(request, None, csrf)
    shown = page(request, None)
    try:
        signed = services(request).users.sign_in(login, password)
    except (BadCredentials, SignInThrottled) as refused:
        status = 429 if isinstance(refused, SignInThrottled) else 401
        message = shown.gettext("The login name or the password is wrong.") if status == 401 \
            else refused.message  # fmt: skip
        return render(request, "sign_in.html", shown, status=status, back_to=_safe_back(back_to),
                      login=login, error=message, csrf=csrf)  # fmt: skip
    response = RedirectResponse(_safe_back(back_to), status_code=303)
    start_session(response, signed.token)
    return response


@router.post("/sign-out")
def sign_out(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    console = signed_in(request)
    check_csrf(request, console, csrf)
    token = request.cookies.get(SESSION_COOKIE, "")
    services(request).users.sign_out(token)
    response = RedirectResponse(PREFIX + "/sign-in", status_code=303)
    end_session(response)
    return response


@router.post("/language")
def language(
    request: Request,
    language: Annotated[str, Form(max_length=8)],
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Signed in: the user's own setting; before that, a cookie for this browser."""
    try:
        console = signed_in(request)
    except SignInNeeded:
        console = None
    check_csrf(request, console, csrf)
    chosen = language if language in LOCALES else ""
    back = _safe_back(urlsplit(request.headers.get("referer", "")).path)
    response = RedirectResponse(back, status_code=303)
    if console is not None:
        who = console.principal
        services(request).users.set_locale(console.user.login, principal=who, locale=chosen,
                                           key=f"console-{uuid.uuid4()}")  # fmt: skip
    else:
        response.set_cookie("capillary_lang", chosen, max_age=365 * 86400, httponly=True,
                            secure=True, samesite="lax", path=PREFIX)  # fmt: skip
    return response
