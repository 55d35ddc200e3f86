"""``capillary platform init`` and ``capillary clock …``: the platform and its business date."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from capillary.domain.inputs import parse_day
from capillary.domain.parties import Role
from capillary.entrypoints.cli.context import (
    Key,
    new_key,
    platform,
    principal,
    strict_count,
)
from capillary.entrypoints.cli.render import console
from capillary.services.parties import new_organization
from capillary.services.platform import ClockReading

platform_app = typer.Typer(help="The platform: create it once.", no_args_is_help=True)
clock_app = typer.Typer(
    help="The platform's clock (a sandbox's can be moved).", no_args_is_help=True
)


def _day(text: str) -> date:
    return parse_day(text, what="A date")


def _say(r: ClockReading) -> None:
    console.print(f"{r.kind} platform, {r.timezone}: today is {r.today} "
                  f"(now {r.now:%Y-%m-%d %H:%M:%S %Z}).")  # fmt: skip


@platform_app.command()
def init(
    operator: Annotated[str, typer.Argument(help="The operator's organization code.")],
    name: Annotated[str, typer.Option(help="The operator's legal name.")],
    identifier: Annotated[str, typer.Option("--id", help="Its registered identifier.")],
    scheme: Annotated[str, typer.Option(help="uscc, or another declared scheme.")] = "uscc",
    sandbox: Annotated[
        bool, typer.Option(help="A sandbox: its clock is stored and moved by the operator.")
    ] = False,
    start: Annotated[str | None, typer.Option(help="A sandbox's first day, YYYY-MM-DD.")] = None,
    timezone: Annotated[str, typer.Option(help="The platform's time zone.")] = "Asia/Shanghai",
) -> None:
    """Create the platform on this store, with its operator (once)."""
    org = new_organization(
        code=operator, name=name, scheme=scheme, identifier=identifier,
        roles=frozenset({Role.OPERATOR}),
    )  # fmt: skip
    reading = platform(create=True).admin.init(
        org, sandbox=sandbox, start=_day(start) if start else None, timezone=timezone
    )
    console.print(f"Platform created; {operator} operates it.")
    _say(reading)


@clock_app.command()
def show() -> None:
    """The platform's date and time."""
    _say(platform().admin.reading())


@clock_app.command("set")
def set_(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD; never earlier than today.")],
    key: Key = None,
) -> None:
    """As the operator: move a sandbox's clock to the start of the day named."""
    reading = platform().admin.set_clock(_day(day), principal=principal(), key=new_key(key))
    _say(reading)


@clock_app.command()
def advance(
    days: Annotated[
        int, typer.Option(help="How many days forward.", parser=strict_count("--days", 3660))
    ] = 1,
    key: Key = None,
) -> None:
    """As the operator: move a sandbox's clock forward by whole days (a retry with the same
    --key moves it once)."""
    reading = platform().admin.advance_clock(days=days, principal=principal(), key=new_key(key))
    _say(reading)
