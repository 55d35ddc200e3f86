"""Scenario builders: a test reads like the story it checks."""

from __future__ import annotations

from dataclasses import dataclass

from capillary.domain.ledger import Account, BalanceConstraint, credit, debit
from capillary.services.ledger import LedgerService

NO_OVERDRAFT = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS


@dataclass
class Books:
    """A platform clearing account and cash accounts for a few organizations, in CNY."""

    ledger: LedgerService
    clearing: Account
    cash: dict[str, Account]

    def deposit(self, org: str, amount: int, *, key: str | None = None) -> None:
        self.ledger.post(
            key=key or f"deposit-{org}-{amount}",
            legs=[debit(self.clearing.id, amount), credit(self.cash[org].id, amount)],
        )

    def pay(self, payer: str, payee: str, amount: int, *, key: str) -> int:
        tx = self.ledger.post(
            key=key, legs=[debit(self.cash[payer].id, amount), credit(self.cash[payee].id, amount)]
        )
        return tx.id

    def available(self, org: str) -> int:
        return self.ledger.balance(self.cash[org].id).available_credit


def open_books(ledger: LedgerService, *orgs: str, unit: str = "CNY") -> Books:
    clearing = ledger.open_account(org="platform", unit=unit, type="asset", code="clearing")
    cash = {
        org: ledger.open_account(
            org=org, unit=unit, type="liability", code="cash", constraint=NO_OVERDRAFT
        )
        for org in orgs
    }
    return Books(ledger, clearing, cash)
