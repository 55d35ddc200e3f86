"""An organization's users, managed in the console by its admin (the operator's admin: any
organization's): add one with a first password, change a role, disable or enable. The
services decide who may; a staff or read-only user sees the list and changes nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from capillary.entrypoints.web.render import render
from capillary.entrypoints.web.session import PREFIX, acting, page, services, signed_in

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/users")
def users_page(request: Request) -> HTMLResponse:
    console = signed_in(request)
    found = services(request).users.users(principal=console.principal)
    return render(request, "users.html", page(request, console), users=found)


@router.post("/users")
def add_user(
    request: Request,
    login: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=120)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=256)],
    org: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    console, key = acting(request, csrf, form)
    services(request).users.add_user(
        principal=console.principal, org=org.strip() or console.principal.org, login=login,
        name=name, role=role, password=password, key=key,
    )  # fmt: skip
    return RedirectResponse(f"{PREFIX}/users", status_code=303)


@router.post("/users/{login}")
def change_user(
    request: Request,
    login: str,
    action: Annotated[str, Form(max_length=16)],
    role: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    form: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """``action``: role (to ``role``), disable or enable."""
    console, key = acting(request, csrf, form)
    users, who = services(request).users, console.principal
    if action == "role":
        users.set_role(login, principal=who, role=role, key=key)
    elif action == "disable":
        users.disable(login, principal=who, key=key)
    elif action == "enable":
        users.enable(login, principal=who, key=key)
    return RedirectResponse(f"{PREFIX}/users", status_code=303)
