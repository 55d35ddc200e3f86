"""What every command shares: the store URL, the services, and how amounts are read."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from capillary.bootstrap import open_database
from capillary.domain.errors import InvalidAmount, ValidationError
from capillary.domain.ledger import Account
from capillary.domain.units import to_minor
from capillary.services.ledger import LedgerService

_state: dict[str, str | None] = {"url": None}


def set_url(url: str | None) -> None:
    _state["url"] = url
    ledger.cache_clear()


def url() -> str | None:
    return _state["url"]


@cache
def ledger() -> LedgerService:
    return LedgerService(open_database(_state["url"]))


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
