"""``capillary db …``: the schema."""

from __future__ import annotations

import typer

from capillary.bootstrap import upgrade_schema
from capillary.entrypoints.cli import context
from capillary.entrypoints.cli.render import console

app = typer.Typer(help="The store's schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Run every migration not yet applied (creates the store if it does not exist)."""
    before, after = upgrade_schema(context.url())
    if before == after:
        console.print(f"Schema already at revision {after}.")
    else:
        console.print(f"Schema upgraded from {before or 'empty'} to revision {after}.")
