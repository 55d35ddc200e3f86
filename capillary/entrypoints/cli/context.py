"""What every command shares: the store URL, the acting party, the services, and how
accounts and amounts are read from the command line."""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated, Any

import typer

from capillary.bootstrap import Platform, open_platform
from capillary.domain.access import Principal, UserRole
from capillary.domain.errors import NoPrincipal, ValidationError
from capillary.domain.inputs import RateRange, parse_count, parse_day, parse_id, parse_rate
from capillary.domain.ledger import Account
from capillary.domain.units import parse_major
from capillary.services.books import BooksService

_state: dict[str, str | None] = {"url": None, "as": None}


def set_url(url: str | None) -> None:
    _state["url"] = url
    platform.cache_clear()


def url() -> str | None:
    return _state["url"]


def set_acting(acting: str | None) -> None:
    _state["as"] = acting


def principal() -> Principal:
    """Who acts: ``--as ORG[:USER]`` (or ``CAPILLARY_AS``); the user defaults to the system
    user's name. Access to the database file is not an identity."""
    acting = _state["as"] or os.environ.get("CAPILLARY_AS")
    if not acting:
        raise NoPrincipal(
            "This command acts for an organization: name it with --as ORG[:USER] (or CAPILLARY_AS)."
        )
    org, _, user = acting.partition(":")
    # Whoever runs the command line for an organization is its admin there: the machine is
    # the boundary (the API's keys carry narrower scopes).
    return platform().parties.principal(org, user or getpass.getuser(), user_role=UserRole.ADMIN)


Key = Annotated[
    str | None,
    typer.Option("--key", help="Idempotency key: the same key and request again changes nothing."),
]


def new_key(key: str | None) -> str:
    """The idempotency key given with --key, or a fresh one (no retry will share it)."""
    return key or f"cli-{uuid.uuid4()}"


@cache
def platform(*, create: bool = False) -> Platform:
    """The services over the store named by --db. The command line never migrates: a store
    behind this version is refused with ``schema_behind`` (``create``: an empty store gets
    the schema, for ``platform init``)."""
    return open_platform(_state["url"], upgrade=False, create=create)


def books() -> BooksService:
    return platform().books


def resolve_account(ref: str) -> Account:
    """An account the acting principal may see, by id (``12``) or by ``org:code:unit``
    (``acme:cash:CNY``)."""
    who = principal()
    if ref.isdigit():
        return books().account(int(ref), principal=who)
    parts = ref.split(":")
    if len(parts) != 3:
        raise ValidationError(f"Name an account by its id or as org:code:unit; got {ref!r}.")
    org, code, unit = parts
    return books().find_account(org=org, unit=unit, code=code, principal=who)


def parse_amount(text: str, exponent: int) -> int:
    """``"1,000.50"`` in a unit of exponent 2 → ``100050`` minor units, exactly (see
    :func:`capillary.domain.units.parse_major` for what is accepted)."""
    return parse_major(text, exponent)


def strict_id(what: str) -> Callable[[Any], int]:
    """A Typer parser for an id: the domain's strict reading, so a bad one is our named
    error (exit 1, ``error invalid_id: …``), never a guess (``１２`` is not 12)."""
    return lambda value: value if isinstance(value, int) else parse_id(value, what=what)


def strict_count(what: str, high: int = 10_000) -> Callable[[Any], int]:
    return lambda value: (
        value if isinstance(value, int) else parse_count(value, what=what, high=high)
    )


def strict_day(what: str) -> Callable[[Any], date]:
    return lambda value: value if isinstance(value, date) else parse_day(value, what=what)


def rate(text: str, bounds: RateRange) -> Decimal:
    """A rate typed on the command line, within the platform's range for its purpose."""
    return parse_rate(text, bounds)
