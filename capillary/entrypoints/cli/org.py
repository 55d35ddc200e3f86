"""``capillary org …``: organizations and their trade relationships."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from capillary.domain.parties import RelationshipStatus, Tolerance, parse_percent, parse_roles
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    platform,
    principal,
    strict_count,
)
from capillary.entrypoints.cli.importing import Encoding, RefusedTo, kind_of, run_import
from capillary.entrypoints.cli.render import console, when
from capillary.services.imports import Kind
from capillary.services.parties import new_organization

app = typer.Typer(help="Organizations and who trades with whom.", no_args_is_help=True)


@app.command()
def create(
    code: Annotated[str, typer.Argument(help="Short code, e.g. huaxin-auto.")],
    name: Annotated[str, typer.Option(help="Legal name.")],
    identifier: Annotated[str, typer.Option("--id", help="Registered identifier.")],
    roles: Annotated[str, typer.Option(help="core, supplier, funder, operator, auditor; a|b.")],
    scheme: Annotated[str, typer.Option(help="uscc, or another declared scheme.")] = "uscc",
    industry: Annotated[
        str | None, typer.Option(help="What it makes or builds: autos, electronics…")
    ] = None,
    key: Key = None,
) -> None:
    """Register an organization."""
    org = new_organization(code=code, name=name, scheme=scheme, identifier=identifier,
                           roles=parse_roles(roles), industry=industry)  # fmt: skip
    org = platform().parties.register(org, principal=principal(), key=new_key(key))
    console.print(
        f"Registered {org.code} ({org.scheme} {org.identifier}): {', '.join(sorted(org.roles))}."
    )


@app.command("list")
def list_() -> None:
    """Every organization."""
    table = Table(show_edge=False)
    for column in ("code", "name", "identifier", "roles", "tolerance"):
        table.add_column(column)
    for org in platform().parties.organizations():
        table.add_row(
            org.code,
            org.name,
            f"{org.scheme}:{org.identifier}",
            ", ".join(sorted(org.roles)),
            f"{org.tolerance.percent}% + {org.tolerance.absolute}",
        )
    console.print(table)


@app.command()
def show(code: Annotated[str, typer.Argument(help="Organization code.")]) -> None:
    """One organization, its relationships and its history."""
    p = platform()
    org = p.parties.organization(code)
    console.print(f"[bold]{org.code}[/bold] {org.name} ({org.scheme} {org.identifier})")
    console.print(f"roles: {', '.join(sorted(org.roles))}; match tolerance "
                  f"{org.tolerance.percent}% + {org.tolerance.absolute} minor units")  # fmt: skip
    for rel in p.parties.relationships(code, principal=principal()):
        console.print(f"  {rel.buyer} buys from {rel.supplier} ({rel.status.value})")
    for entry in p.trade.audit("organization", code, principal=principal()):
        console.print(f"  [dim]{when(entry['at'])}[/dim] {entry['action']} by {entry['actor']}")


@app.command()
def relate(
    buyer: Annotated[str, typer.Argument(help="The buyer's organization code.")],
    supplier: Annotated[str, typer.Argument(help="The supplier's organization code.")],
    key: Key = None,
) -> None:
    """Record that BUYER buys from SUPPLIER."""
    platform().parties.relate(
        buyer=buyer, supplier=supplier, principal=principal(), key=new_key(key)
    )
    console.print(f"{buyer} buys from {supplier} (active).")


@app.command()
def suspend(
    buyer: Annotated[str, typer.Argument(help="The buyer's organization code.")],
    supplier: Annotated[str, typer.Argument(help="The supplier's organization code.")],
    key: Key = None,
) -> None:
    """Suspend a trade relationship: no documents flow along it until resumed."""
    platform().parties.set_relationship(
        buyer=buyer,
        supplier=supplier,
        status=RelationshipStatus.SUSPENDED,
        principal=principal(),
        key=new_key(key),
    )
    console.print(f"{buyer} → {supplier} suspended.")


@app.command()
def resume(
    buyer: Annotated[str, typer.Argument(help="The buyer's organization code.")],
    supplier: Annotated[str, typer.Argument(help="The supplier's organization code.")],
    key: Key = None,
) -> None:
    """Make a suspended trade relationship active again."""
    platform().parties.set_relationship(
        buyer=buyer,
        supplier=supplier,
        status=RelationshipStatus.ACTIVE,
        principal=principal(),
        key=new_key(key),
    )
    console.print(f"{buyer} → {supplier} active.")


@app.command()
def tolerance(
    code: Annotated[str, typer.Argument(help="The buyer.")],
    percent: Annotated[str, typer.Option(help="e.g. 2 or 2%.")] = "0",
    absolute: Annotated[
        int,
        typer.Option(
            help="An absolute allowance in minor units (fen).",
            parser=strict_count("--absolute", 2**63 - 1),
        ),
    ] = 0,
    key: Key = None,
) -> None:
    """Set how far invoices to this buyer may exceed what is supported and still match."""
    org = platform().parties.set_tolerance(
        code, Tolerance(parse_percent(percent), absolute), principal=principal(), key=new_key(key)
    )
    console.print(f"{org.code} matches within {org.tolerance.percent}% + {org.tolerance.absolute}.")


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="organizations or relationships")],
    file: Annotated[Path, typer.Argument(exists=False, help="A .csv or .json file.")],
    key: Key = None,
    encoding: Encoding = None,
    refused_to: RefusedTo = None,
) -> None:
    """Import organizations or relationships from CSV or JSON: good records go in, every
    refused one is named; exit 1 if all were refused."""
    chosen = kind_of(kind, (Kind.ORGANIZATIONS, Kind.RELATIONSHIPS))
    run_import(chosen, file, key=key, encoding=encoding, refused_to=refused_to)
