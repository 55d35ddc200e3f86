"""Capillary: open infrastructure for supply-chain finance.

The public API of the ledger engine::

    from capillary import open_ledger, debit, credit

    ledger = open_ledger("sqlite:///books.db")
    cash = ledger.open_account(org="acme", unit="CNY", type="asset", code="cash")
    ...

Errors are in :mod:`capillary.errors` (each has a stable ``code``).
"""

from capillary.bootstrap import open_database, open_ledger
from capillary.domain import errors
from capillary.domain.journal import VerifyReport
from capillary.domain.ledger import (
    Account,
    Balance,
    BalanceConstraint,
    Leg,
    Side,
    Transaction,
    TransactionKind,
    TransactionRequest,
    credit,
    debit,
    make_request,
)
from capillary.domain.units import Unit, currency, format_minor, instrument, to_minor
from capillary.services.ledger import BatchResult, LedgerService

__all__ = [
    "Account",
    "Balance",
    "BalanceConstraint",
    "BatchResult",
    "LedgerService",
    "Leg",
    "Side",
    "Transaction",
    "TransactionKind",
    "TransactionRequest",
    "Unit",
    "VerifyReport",
    "credit",
    "currency",
    "debit",
    "errors",
    "format_minor",
    "instrument",
    "make_request",
    "open_database",
    "open_ledger",
    "to_minor",
]
