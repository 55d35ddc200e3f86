"""``capillary backup`` / ``capillary restore``: the store copied with its journal head, and
brought back only once the copy verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capillary.adapters.database import normalize_url
from capillary.config import Settings
from capillary.domain.backups import Manifest
from capillary.entrypoints.cli import context
from capillary.entrypoints.cli.render import console
from capillary.services.backup import restore as restore_store


def _head(m: Manifest) -> str:
    return (f"journal head {m.journal.seq}:{m.journal.chain} "
            f"({m.journal.unsealed} entries not yet sealed)")  # fmt: skip


def backup(
    out: Annotated[Path, typer.Argument(help="The archive to write (a tar file; never "
                                        "overwritten).")],
) -> None:  # fmt: skip
    """As the operator: seal the journal and copy the store consistently while it runs
    (SQLite's online backup API; pg_dump for PostgreSQL) into one archive with a manifest
    that records the journal's head and the copy's SHA-256."""
    who = context.principal()
    with console.status("Backing up…") as status:
        made = context.platform().backups.backup(out, principal=who, say=status.update)
    console.print(f"Backed up the {made.store} store (schema {made.schema_revision}) to "
                  f"{out}: {made.size:,} bytes, SHA-256 {made.sha256}; {_head(made)}.")  # fmt: skip


def restore(
    archive: Annotated[Path, typer.Argument(help="A backup made by `capillary backup`.")],
    replace: Annotated[bool, typer.Option(help="Replace the store at --db once the backup "
                                          "has verified.")] = False,
) -> None:  # fmt: skip
    """Restore a backup as the store at --db: beside it first, verified against the
    recorded journal head, every balance recomputed, the audit trail and the books
    reconciled; put in place only then. A backup that does not verify is refused and the
    target is left as it was."""
    target = normalize_url(context.url() or Settings().database_url)
    with console.status("Restoring…") as status:
        done = restore_store(archive, target, replace=replace, say=status.update)
    console.print(f"[green]Restored[/green] the backup of {done.manifest.taken_at} "
                  f"({_head(done.manifest)}): {done.entries} sealed entries verified against "
                  f"it, {done.accounts} balances recomputed, audit trail and books "
                  "reconciled.")  # fmt: skip
