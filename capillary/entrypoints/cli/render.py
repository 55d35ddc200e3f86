"""How ledger things look in a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable

from rich.console import Console
from rich.table import Table

from capillary.adapters.clock import from_us
from capillary.domain.ledger import Account, Balance
from capillary.domain.units import format_minor

# Piped output gets room for a balance table; a terminal keeps its own width.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
#: Refusals go to standard error, one line each, so a script's output stays clean.
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def money(amount: int, exponent: int) -> str:
    return format_minor(amount, exponent)


def balances_table(
    rows: Iterable[tuple[Account, Balance]], exponents: dict[str, int], *, title: str = ""
) -> Table:
    table = Table(title=title or None, title_justify="left", show_edge=False)
    table.add_column("id", justify="right", style="dim")
    table.add_column("account")
    table.add_column("unit")
    table.add_column("debits", justify="right")
    table.add_column("credits", justify="right")
    table.add_column("pending dr/cr", justify="right", style="yellow")
    table.add_column("balance", justify="right", style="bold")
    for account, balance in rows:
        e = exponents.get(account.unit, 2)
        pending = (
            f"{money(balance.debits_pending, e)} / {money(balance.credits_pending, e)}"
            if balance.debits_pending or balance.credits_pending
            else ""
        )
        net = balance.net_debit if account.type in ("asset", "expense") else balance.net_credit
        table.add_row(
            str(account.id),
            f"{account.org}:{account.code}",
            account.unit,
            money(balance.debits_posted, e),
            money(balance.credits_posted, e),
            pending,
            money(net, e),
        )
    return table


def when(us: int) -> str:
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
