"""The ledger written as beancount (issue 15): what the platform's books, or one
organization's part of them, look like to a plain-text accounting tool.

- Every unit is a commodity: currencies by their ISO code, each certificate by its number
  (``CERT-CP20260124000003``): a holding of paper is a quantity of that commodity, in the
  certificate's own minor units, as our ledger counts it.
- Every account is ``<Root>:<Org>:<Code>:<Unit>``; the root follows the account's type
  (``asset`` → ``Assets``, ``liability`` → ``Liabilities``, and so on). A debit is a
  positive number, a credit a negative one, so a transaction's legs sum to zero per unit,
  as beancount requires and as our ledger already guarantees.
- One organization's part holds the transactions that touch its accounts; the legs on
  other organizations' accounts are summed into ``Equity:Counterparties:<Unit>``, so each
  transaction still balances and nothing of another organization's books shows.
- Every account closes the file with a ``balance`` assertion of what our ledger says it
  holds, on the day after the last posting: ``bean-check`` then proves, account by
  account and unit by unit, that the postings written add up to our balances.

Pure: rows in, lines of text out."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity",
         "income": "Income", "revenue": "Income", "expense": "Expenses"}  # fmt: skip
COUNTERPARTIES = "Equity:Counterparties"
_COMPONENT = re.compile(r"[^A-Za-z0-9-]+")
_COMMODITY = re.compile(r"[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]")


@dataclass(frozen=True, slots=True)
class BookAccount:
    id: int
    org: str
    type: str
    code: str
    unit: str
    exponent: int
    opened: date
    balance: int  # debits posted − credits posted, minor units


@dataclass(frozen=True, slots=True)
class BookLeg:
    account_id: int
    debit: bool
    amount: int  # minor units, > 0


@dataclass(frozen=True, slots=True)
class BookEntry:
    id: int
    day: date
    ref: str
    legs: tuple[BookLeg, ...]


def component(text: str) -> str:
    """``text`` as one component of an account name: letters, digits and dashes, starting
    with a capital letter or a digit."""
    cleaned = _COMPONENT.sub("-", text).strip("-") or "X"
    return cleaned[0].upper() + cleaned[1:]


@dataclass(frozen=True, slots=True)
class Names:
    """Each unit's commodity and each account's name, unique within one file."""

    commodities: dict[str, str]
    accounts: dict[int, str]
    exponents: dict[str, int]


def _commodity(unit: str, taken: set[str]) -> str:
    name = unit.upper().replace(":", ".")
    if not _COMMODITY.fullmatch(name) or name in taken:  # too long, or two codes alike
        name = "U" + hashlib.sha256(unit.encode()).hexdigest()[:20].upper()
    return name


def names(accounts: Iterable[BookAccount], units: dict[str, int]) -> Names:
    """Names for ``accounts`` and for every unit in ``units`` (code → exponent)."""
    commodities: dict[str, str] = {}
    for unit in sorted(units):
        commodities[unit] = _commodity(unit, set(commodities.values()))
    named: dict[int, str] = {}
    seen: set[str] = set()
    for a in sorted(accounts, key=lambda a: a.id):
        root = ROOTS.get(a.type, "Assets")
        name = f"{root}:{component(a.org)}:{component(a.code)}:{component(commodities[a.unit])}"
        if name in seen:
            name = f"{name}-{a.id}"
        seen.add(name)
        named[a.id] = name
    return Names(commodities, named, dict(units))


def _quantity(minor: int, exponent: int) -> str:
    return f"{Decimal(minor).scaleb(-exponent):f}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def header(title: str, accounts: list[BookAccount], n: Names, operating: str,
           counterparties: bool) -> Iterator[str]:  # fmt: skip
    """Options, commodities and the accounts opened (each on the day it was)."""
    yield f'option "title" {_quote(title)}'
    yield f'option "operating_currency" "{n.commodities.get(operating, operating)}"'
    yield ""
    first: dict[str, date] = {}
    for a in accounts:
        first[a.unit] = min(first.get(a.unit, a.opened), a.opened)
    for unit, day in sorted(first.items()):
        yield f"{day} commodity {n.commodities[unit]}"
        yield f"  capillary-unit: {_quote(unit)}"
    yield ""
    for a in sorted(accounts, key=lambda a: a.id):
        yield f"{a.opened} open {n.accounts[a.id]} {n.commodities[a.unit]}"
    if counterparties:
        for unit, day in sorted(first.items()):
            yield f"{day} open {COUNTERPARTIES}:{component(n.commodities[unit])}"
    yield ""


def entry(e: BookEntry, mine: dict[int, BookAccount], units: dict[int, str],
          n: Names) -> Iterator[str]:  # fmt: skip
    """One transaction: its legs on ``mine`` each on its own line; legs on any other
    account (``units``: each account's unit) summed per unit into the counterparties'."""
    yield f"{e.day} * {_quote(e.ref or f'transaction {e.id}')}"
    yield f'  capillary-id: "{e.id}"'
    others: dict[str, int] = {}
    for leg in e.legs:
        signed = leg.amount if leg.debit else -leg.amount
        a = mine.get(leg.account_id)
        if a is None:
            unit = units[leg.account_id]
            others[unit] = others.get(unit, 0) + signed
        else:
            yield f"  {n.accounts[a.id]}  {_quantity(signed, a.exponent)} {n.commodities[a.unit]}"
    for unit, signed in sorted(others.items()):
        if signed:
            c = n.commodities[unit]
            yield (f"  {COUNTERPARTIES}:{component(c)}  "
                   f"{_quantity(signed, n.exponents[unit])} {c}")  # fmt: skip


def balances(accounts: Iterable[BookAccount], n: Names, on: date) -> Iterator[str]:
    """Each account's balance as our ledger holds it, asserted at the start of ``on``."""
    for a in sorted(accounts, key=lambda a: a.id):
        yield (f"{on} balance {n.accounts[a.id]}  {_quantity(a.balance, a.exponent)} "
               f"{n.commodities[a.unit]}")  # fmt: skip
