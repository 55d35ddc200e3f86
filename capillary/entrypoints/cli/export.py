"""``capillary export``: the ledger as beancount; documents, fragments, postings as files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from capillary.entrypoints.cli.context import platform, principal
from capillary.entrypoints.cli.render import console

app = typer.Typer(help="Exports for accounting and analysis tools.", no_args_is_help=True)


@app.command("beancount")
def beancount(
    out: Annotated[Path, typer.Argument(help="The beancount file to write.")],
    org: Annotated[str | None, typer.Option(help="Only this organization's accounts and the "
                                            "entries that touch them.")] = None,
) -> None:  # fmt: skip
    """The ledger as a beancount file (bean-check accepts it; Fava browses it): every unit
    a commodity — certificates too —, every account opened, every posted entry, and each
    account's balance asserted as Capillary holds it. The whole platform's books: the
    operator's and auditors'; an organization exports its own with --org."""
    who = principal()
    with console.status("Writing the books…"), out.open("w", encoding="utf-8") as f:
        count = platform().exports.beancount(f, principal=who, org=org)
    console.print(f"Wrote {count:,} entries to {out}; check them with `bean-check {out}`.")


@app.command("tables")
def tables(
    directory: Annotated[Path, typer.Argument(help="The folder to write into.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    only: Annotated[list[str] | None, typer.Option(help="Only this table (repeat for "
                                                   "several).")] = None,
) -> None:  # fmt: skip
    """As the operator or an auditor: orders, deliveries, invoices (with their lines),
    payables, certificates, fragments and postings, one file per table, amounts in minor
    units beside their unit, read from one snapshot of the store."""
    who = principal()
    with console.status("Exporting…") as status:
        counts = platform().exports.tables(directory, principal=who, fmt=fmt, only=only,
                                           say=status.update)  # fmt: skip
    for name, n in counts.items():
        console.print(f"{directory / f'{name}.{fmt}'}: {n:,} rows")
