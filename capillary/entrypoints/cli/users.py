"""``capillary user …``: console users, by the operator or an organization's admin.

A password is never an argument (it would sit in the shell's history and the process list):
it is asked for twice without echo, or read from ``CAPILLARY_NEW_PASSWORD`` for scripts."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.entrypoints.cli.context import Key, new_key, platform, principal
from capillary.entrypoints.cli.render import console, when

app = typer.Typer(help="Console users: who signs in to the web console for an organization.",
                  no_args_is_help=True)  # fmt: skip

Password = Annotated[
    str,
    typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                 envvar="CAPILLARY_NEW_PASSWORD",
                 help="Asked for without echo (or CAPILLARY_NEW_PASSWORD); 12 characters or more."),
]  # fmt: skip


@app.command()
def add(
    org: Annotated[str, typer.Argument(help="The organization the user belongs to.")],
    login: Annotated[str, typer.Argument(help="The login name, e.g. wang.fang.")],
    name: Annotated[str, typer.Option(help="The person's name.")],
    password: Password,
    role: Annotated[str, typer.Option(help="admin, staff or read_only.")] = "staff",
    locale: Annotated[str, typer.Option(help="en, zh, or '' to follow the browser.")] = "",
    key: Key = None,
) -> None:
    """Add a user to an organization (its admin, or the operator's)."""
    u = platform().users.add_user(principal=principal(), org=org, login=login, name=name,
                                  role=role, password=password, locale=locale,
                                  key=new_key(key))  # fmt: skip
    console.print(f"User {escape(u.login)} ({escape(u.name)}) of {escape(u.org)}: {u.role.value}.")


@app.command("list")
def list_(
    org: Annotated[str | None, typer.Option(help="Whose users (default: yours).")] = None,
) -> None:
    """Users: login, organization, name, role, language, status, when made and by whom."""
    table = Table(show_edge=False)
    for column in ("login", "org", "name", "role", "locale", "status", "created", "by"):
        table.add_column(column)
    for u in platform().users.users(principal=principal(), org=org):
        table.add_row(escape(u.login), escape(u.org), escape(u.name), u.role.value,
                      u.locale or "browser", "active" if u.active else "disabled",
                      when(u.created_at), escape(u.created_by))  # fmt: skip
    console.print(table)


@app.command()
def role(
    login: Annotated[str, typer.Argument(help="The user's login name.")],
    to: Annotated[str, typer.Argument(help="admin, staff or read_only.")],
    key: Key = None,
) -> None:
    """Change a user's role (its organization's admin, or the operator's)."""
    u = platform().users.set_role(login, principal=principal(), role=to, key=new_key(key))
    console.print(f"User {escape(u.login)} of {escape(u.org)} is now {u.role.value}.")


@app.command()
def password(
    login: Annotated[str, typer.Argument(help="The user's login name.")],
    password: Password,
    key: Key = None,
) -> None:
    """Set a user's password (the user itself, or its organization's admin); its sessions
    end."""
    u = platform().users.set_password(login, principal=principal(), password=password,
                                      key=new_key(key))  # fmt: skip
    console.print(f"The password of {escape(u.login)} is changed; its sessions have ended.")


@app.command()
def disable(
    login: Annotated[str, typer.Argument(help="The user's login name.")],
    key: Key = None,
) -> None:
    """Disable a user: it signs in no more, and its sessions end."""
    u = platform().users.disable(login, principal=principal(), key=new_key(key))
    console.print(f"User {escape(u.login)} of {escape(u.org)} is disabled.")


@app.command()
def enable(
    login: Annotated[str, typer.Argument(help="The user's login name.")],
    key: Key = None,
) -> None:
    """Let a disabled user sign in again."""
    u = platform().users.enable(login, principal=principal(), key=new_key(key))
    console.print(f"User {escape(u.login)} of {escape(u.org)} may sign in again.")
