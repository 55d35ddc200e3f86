"""What every command shares: the store URL, the acting party, the services, and how
accounts and amounts are read from the command line."""

from __future__ import annotations

import getpass
import os
from decimal import Decimal, InvalidOperation
from functools import cache

from capillary.bootstrap import Platform, open_platform
from capillary.domain.errors import InvalidAmount, ValidationError
from capillary.domain.ledger import Account
from capillary.domain.units import to_minor
from capillary.services.ledger import LedgerService

_state: dict[str, str | None] = {"url": None, "actor": None}


def set_url(url: str | None) -> None:
    _state["url"] = url
    platform.cache_clear()


def url() -> str | None:
    return _state["url"]


def set_actor(actor: str | None) -> None:
    _state["actor"] = actor


def actor() -> str:
    """Who the audit trail records: --as, CAPILLARY_ACTOR, or the system user."""
    return _state["actor"] or os.environ.get("CAPILLARY_ACTOR") or f"cli:{getpass.getuser()}"


@cache
def platform() -> Platform:
    return open_platform(_state["url"])


def ledger() -> LedgerService:
    return platform().ledger


def resolve_account(ref: str) -> Account:
    """An account by id (``12``) or by ``org:code:unit`` (``acme:cash:CNY``)."""
    service = ledger()
    if ref.isdigit():
        return service.account(int(ref))
    parts = ref.split(":")
    if len(parts) != 3:
        raise ValidationError(f"Name an account by its id or as org:code:unit; got {ref!r}.")
    org, code, unit = parts
    return service.find_account(org=org, unit=unit, code=code)


def parse_amount(text: str, exponent: int) -> int:
    """``"1,000.50"`` in a unit of exponent 2 → ``100050`` minor units, exactly."""
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InvalidAmount(f"{text!r} is not an amount.") from None
    return to_minor(value, exponent)
