"""What the ledger's use cases share: the store and the clock. The ledger itself is
:class:`capillary.services.ledger.LedgerService`: units and accounts
(:mod:`~capillary.services.ledger_accounts`), postings
(:mod:`~capillary.services.ledger_postings`), reading and the journal
(:mod:`~capillary.services.ledger_journal`); each finds an account or a transaction here."""

from __future__ import annotations

from capillary.adapters import account_repository as account_repo
from capillary.adapters import ledger_repository as repo
from capillary.adapters.clock import Clock, SystemClock
from capillary.adapters.database import Database
from capillary.domain.errors import AccountNotFound, TransactionNotFound
from capillary.domain.ledger import Account, Transaction


class LedgerCore:
    """The ledger service's state: the store and the clock."""

    def __init__(self, db: Database, *, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def account(self, account_id: int) -> Account:
        found = self.db.transaction(
            lambda c: account_repo.get_account(c, account_id), readonly=True
        )
        if found is None:
            raise AccountNotFound(f"Account {account_id} does not exist.")
        return found

    def transaction(self, transaction_id: int) -> Transaction:
        found = self.db.transaction(
            lambda c: repo.transaction_by_id(c, transaction_id), readonly=True
        )
        if found is None:
            raise TransactionNotFound(f"Transaction {transaction_id} does not exist.")
        return found
