"""The ledger's use cases (see :mod:`capillary.domain.ledger` for the rules): units and
accounts, postings, reading and the journal, each in its own module; this is the service
that composes them."""

from __future__ import annotations

from capillary.services.ledger_accounts import LedgerAccounts
from capillary.services.ledger_journal import BalanceMismatch, LedgerJournal
from capillary.services.ledger_postings import BatchResult, LedgerPostings

__all__ = ["BalanceMismatch", "BatchResult", "LedgerService"]


class LedgerService(LedgerAccounts, LedgerPostings, LedgerJournal):
    """The ledger's use cases; see :mod:`capillary.domain.ledger` for the rules."""
