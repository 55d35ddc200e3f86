"""A refusal on a console page is a page, not problem+json: the same status and sentence the
API gives, in the viewer's language where the sentence is ours; no lead to a sign-in form
that the viewer does not need, and never a traceback."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, SignInNeeded, page, signed_in
from capillary.services.users import Console

TITLES = {400: "The request cannot be read", 401: "Sign in again", 403: "Not allowed",
          404: "Not found", 405: "Not allowed", 409: "It changed meanwhile",
          413: "Too large", 422: "Refused", 429: "Too many attempts",
          500: "Something went wrong on our side", 503: "Not available now"}  # fmt: skip


def is_console(request: Request) -> bool:
    path = request.url.path
    return path == PREFIX or path.startswith(PREFIX + "/")


def sign_in_first(needed: SignInNeeded) -> Response:
    return RedirectResponse(f"{PREFIX}/sign-in?back_to={quote(needed.back_to)}", status_code=303)


def error_page(request: Request, status: int, detail: str, *, code: str = "") -> Response:
    viewer: Console | None
    try:
        viewer = signed_in(request)
    except (SignInNeeded, Exception):  # the error page never fails for want of a session
        viewer = None
    shown = page(request, viewer)
    title = shown.gettext(TITLES.get(status, "Refused"))
    if status == 404:  # the same page whether it does not exist or is not the viewer's
        detail = shown.gettext("There is nothing here for you to see.")
    elif code == "idempotency_conflict":  # a form sent again after it was changed
        detail = shown.gettext(
            "This form was sent already, with other values. Nothing more "
            "was done: reload the page to start afresh."
        )
    return render(request, "error.html", shown, status=status, title=title, detail=detail)
