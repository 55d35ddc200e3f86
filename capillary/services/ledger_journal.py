"""Ledger use cases that read: transactions, balances (now and as of a moment), history,
balances recomputed from postings; and the journal: sealing its hash chain and verifying
it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import journal_repository as journal_repo
from capillary.adapters import journal_scan
from capillary.adapters import ledger_repository as repo
from capillary.adapters.clock import to_us
from capillary.domain.errors import (
    AccountNotFound,
    ValidationError,
)
from capillary.domain.journal import VerifyReport, combine, scan_chain, seal_entries
from capillary.domain.ledger import (
    Balance,
)
from capillary.services.ledger_core import LedgerCore


@dataclass(frozen=True, slots=True)
class BalanceMismatch:
    account_id: int
    stored: Balance
    recomputed: Balance


class LedgerJournal(LedgerCore):
    """Reading balances and history; sealing and verifying the journal."""

    # ------------------------------------------------------------ reading

    def balance(self, account_id: int) -> Balance:
        """The account's balance now: one row read, however long its history."""
        found = self.db.transaction(
            lambda c: account_repo.read_balance(c, account_id), readonly=True
        )
        if found is None:
            raise AccountNotFound(f"Account {account_id} does not exist.")
        return found

    def balance_at(self, account_id: int, at: datetime | int) -> Balance:
        """The account's balance as it stood at ``at`` (a datetime or µs since the epoch)."""
        moment = at if isinstance(at, int) else to_us(at)
        self.account(account_id)
        return self.db.transaction(lambda c: repo.balance_at(c, account_id, moment), readonly=True)

    def history(
        self, account_id: int, *, limit: int = 50, before_id: int | None = None
    ) -> list[repo.HistoryLine]:
        if not 0 < limit <= 10_000:
            raise ValidationError("limit must be between 1 and 10,000.")
        self.account(account_id)
        return self.db.transaction(
            lambda c: repo.history(c, account_id, limit=limit, before_id=before_id),
            readonly=True,
        )

    def check_balances(self) -> list[BalanceMismatch]:
        """Recompute every balance from the postings; list the accounts that differ."""
        pairs = self.db.transaction(repo.recomputed_balances, readonly=True)
        return [
            BalanceMismatch(account_id, stored, recomputed)
            for account_id, (stored, recomputed) in pairs.items()
            if stored != recomputed
        ]

    def unit_totals(self) -> dict[str, tuple[int, int]]:
        return self.db.transaction(repo.unit_totals, readonly=True)

    # ------------------------------------------------------------ the journal

    def seal(self, *, batch_size: int = 20_000) -> int:
        """Seal every entry posted since the last seal into the hash chain, in id order."""
        total = 0

        def work(conn: Connection) -> int:
            journal_repo.lock_for_sealing(conn)
            last = journal_repo.last_seal(conn)
            entries = journal_repo.unsealed_entries(
                conn, after_id=last.transaction_id if last else 0, limit=batch_size
            )
            if not entries:
                return 0
            seals = seal_entries(
                entries,
                last_seq=last.seq if last else 0,
                last_chain=last.chain if last else bytes(32),
            )
            journal_repo.insert_seals(conn, seals, self.clock.now_us())
            return len(seals)

        while sealed := self.db.transaction(work):
            total += sealed
        return total

    def oldest_unsealed_at(self) -> int | None:
        """When the oldest entry not yet in the hash chain was posted (µs), if any."""
        return self.db.transaction(journal_repo.oldest_unsealed_at, readonly=True)

    def verify(
        self, *, anchor: tuple[int, bytes] | None = None, parallel: bool | None = None
    ) -> VerifyReport:
        """Recompute the hash chain over every sealed entry and name any tampering.

        A long journal is scanned in ranges by one process per core (``parallel=None``
        decides by length)."""

        def survey(conn: Connection) -> tuple[list[int], int, int, int]:
            count, top = journal_repo.seal_count(conn)
            return (
                journal_repo.unsealed_inside_sealed_range(conn),
                journal_repo.count_unsealed(conn),
                count,
                top,
            )

        inserted, unsealed, count, top = self.db.transaction(survey, readonly=True)
        if parallel is None:
            parallel = (
                count >= journal_scan.PARALLEL_FROM
                and (os.cpu_count() or 1) > 1
                and journal_scan.can_fork()
            )
        if parallel and top:
            scans = journal_scan.scan_parallel(self.db.url, top, anchor)
        else:
            scans = [
                self.db.transaction(
                    lambda conn: scan_chain(journal_repo.sealed_rows(conn), anchor=anchor),
                    readonly=True,
                )
            ]
        return combine(scans, inserted_ids=inserted, unsealed=unsealed, anchor=anchor)
