"""Running an import from the command line: the options every import shares, the summary,
the refused records (the first on screen, all of them in a file), and the exit status."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from capillary.domain.errors import ImportRefused, InvalidFile
from capillary.domain.imports import RowError
from capillary.entrypoints.cli.context import new_key, platform, principal
from capillary.entrypoints.cli.render import console
from capillary.services.imports import ImportReport, Kind

#: Refused records shown on screen; the rest are in the file.
SHOWN = 20

Encoding = Annotated[
    str | None,
    typer.Option(help="utf-8, gbk or gb18030 (default: UTF-8, or GBK/GB18030 when detected)."),
]
RefusedTo = Annotated[
    Path | None,
    typer.Option(
        "--refused-to",
        help="Where to write every refused record as CSV (default: FILE.refused.csv here).",
    ),
]


def run_import(
    kind: Kind, file: Path, *, key: str | None, encoding: str | None, refused_to: Path | None
) -> None:
    """Import ``file``; exit 1 when every record was refused."""
    target = refused_to or Path(f"{file.name}.refused.csv")
    if target.resolve() == file.resolve():
        raise InvalidFile("--refused-to must not be the file imported.")
    written = 0
    handle = None
    writer = None

    def keep(error: RowError) -> None:
        nonlocal written, handle, writer
        if writer is None:
            handle = target.open("w", encoding="utf-8", newline="")
            writer = csv.writer(handle)
            writer.writerow(("record", "field", "code", "reason"))
        writer.writerow((error.row, error.field, error.code, error.reason))
        written += 1

    try:
        with console.status(f"Importing {kind.value} from {file.name}…"):
            report = platform().imports.run_file(
                kind, file, principal=principal(), key=new_key(key), encoding=encoding,
                on_error=keep,
            )  # fmt: skip
    finally:
        if handle is not None:
            handle.close()
    summary(report)
    if written:
        console.print(f"All {written} refusal(s) are in {target}.")
    if report.nothing_taken:
        raise ImportRefused(
            f"Every one of the {report.records} record(s) of {file.name} was refused; nothing "
            "was imported."
        )


def summary(report: ImportReport) -> None:
    console.print(
        f"{report.kind.value}: {report.records} record(s) read; {report.created} document(s) "
        f"created, {report.unchanged} unchanged (already there); {report.refused} record(s) "
        f"refused, in {report.refused_documents} document(s)."
    )
    if report.errors:
        table = Table(show_edge=False)
        for column in ("record", "field", "code", "reason"):
            table.add_column(column, overflow="fold")
        for e in report.errors[:SHOWN]:
            table.add_row(str(e.row), e.field, e.code, e.reason)
        console.print(table)
        if report.refused > SHOWN:
            console.print(f"… and {report.refused - SHOWN} more refused record(s).")


def kind_of(text: str, allowed: tuple[Kind, ...]) -> Kind:
    if text not in {k.value for k in allowed}:
        raise InvalidFile(f"Import takes {' or '.join(k.value for k in allowed)}; got {text!r}.")
    return Kind(text)
