"""``capillary key …``: API keys, by the operator or an organization's admin."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from capillary.entrypoints.cli.context import Key, new_key, platform, principal
from capillary.entrypoints.cli.render import console, when

app = typer.Typer(help="API keys: how a bank's or an ERP's system reaches the API.",
                  no_args_is_help=True)  # fmt: skip


@app.command()
def create(
    org: Annotated[str, typer.Argument(help="The organization the key acts for.")],
    name: Annotated[str, typer.Option(help="What the key is for, e.g. 'ERP integration'.")],
    scopes: Annotated[
        str, typer.Option(help="read, write, admin (comma-separated; admin brings the others).")
    ] = "read,write",
    key: Key = None,
) -> None:
    """Create an API key; its secret is printed this once and stored only as a hash."""
    made = platform().keys.create(
        principal=principal(), org=org, name=name, scopes=scopes, key=new_key(key)
    )
    k = made.key
    console.print(f"Key {k.prefix} for {escape(k.org)} ({', '.join(sorted(k.scopes))}).")
    if made.token is None:
        console.print("This creation was replayed: the secret was shown once, when it was made.")
    else:
        console.print("Keep it now; it is not shown again:")
        console.print(made.token, markup=False, soft_wrap=True)


@app.command("list")
def list_(
    org: Annotated[str | None, typer.Option(help="Whose keys (default: yours).")] = None,
) -> None:
    """API keys: id, name, scopes, when made and by whom, revoked or not."""
    table = Table(show_edge=False)
    for column in ("key", "org", "name", "scopes", "created", "by", "status"):
        table.add_column(column)
    for k in platform().keys.keys(principal=principal(), org=org):
        table.add_row(k.prefix, escape(k.org), escape(k.name), ",".join(sorted(k.scopes)),
                      when(k.created_at), escape(k.created_by),
                      "active" if k.active else f"revoked {when(k.revoked_at or 0)}")  # fmt: skip
    console.print(table)


@app.command()
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id or prefix (cap_…).")],
    key: Key = None,
) -> None:
    """Revoke an API key: every request with it is refused from now on."""
    k = platform().keys.revoke(key_id, principal=principal(), key=new_key(key))
    console.print(f"Key {k.prefix} of {escape(k.org)} is revoked.")
