"""The platform's books, as a principal reaches them: the ledger engine behind the trust
boundary (DESIGN.md §8).

:class:`~capillary.services.ledger.LedgerService` is the double-entry engine; a program that
embeds it owns its store outright. On a platform every request goes through here instead:
raw postings, holds, voids, reversals, account openings and sealing are the operator's
(``operate_ledger``; every other movement comes from a use case that knows its parties);
an organization reads its own accounts, their balances and history; the operator and
auditors read everything and verify the journal. An account the principal may not see is
``account_not_found``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from capillary.adapters import audit_journal
from capillary.adapters import party_repository as party_repo
from capillary.adapters.ledger_repository import HistoryLine
from capillary.adapters.metrics_queries import DomainCounts, domain_counts
from capillary.adapters.reconciliation_queries import load_books
from capillary.domain.access import Act, Principal, authorize, may_see
from capillary.domain.errors import AccountNotFound, Forbidden, OrganizationNotFound
from capillary.domain.journal import Finding, VerifyReport
from capillary.domain.ledger import Account, Balance, BalanceConstraint, Leg, Transaction
from capillary.domain.parties import PLATFORM_BOOKS
from capillary.domain.reconciliation import Finding as Reconciled
from capillary.domain.reconciliation import reconcile
from capillary.domain.units import Unit
from capillary.services.ledger import BalanceMismatch, LedgerService


class BooksService:
    def __init__(self, ledger: LedgerService) -> None:
        self.ledger = ledger

    # ------------------------------------------------------------ reading

    def _visible(self, principal: Principal, account: Account) -> Account:
        if not may_see(principal, account.org):
            raise AccountNotFound(f"No account {account.id}.")
        return account

    def account(self, account_id: int, *, principal: Principal) -> Account:
        try:
            return self._visible(principal, self.ledger.account(account_id))
        except AccountNotFound:
            raise AccountNotFound(f"No account {account_id}.") from None

    def find_account(self, *, org: str, unit: str, code: str, principal: Principal) -> Account:
        if not may_see(principal, org):
            raise AccountNotFound(f"No account {org}:{code}:{unit}.")
        return self.ledger.find_account(org=org, unit=unit, code=code)

    def accounts(
        self, *, principal: Principal, org: str | None = None, unit: str | None = None,
        after: int = 0, limit: int | None = None,
    ) -> list[tuple[Account, Balance]]:  # fmt: skip
        """The accounts the principal may see (its own; any org's for those who see all),
        in id order, a page at a time."""
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        return self.ledger.accounts(org=org, unit=unit, after=after, limit=limit)

    def balance(
        self, account_id: int, *, principal: Principal, at: datetime | None = None
    ) -> Balance:
        self.account(account_id, principal=principal)
        if at is None:
            return self.ledger.balance(account_id)
        return self.ledger.balance_at(account_id, at)

    def history(
        self, account_id: int, *, principal: Principal, limit: int = 50,
        before_id: int | None = None,
    ) -> list[HistoryLine]:  # fmt: skip
        self.account(account_id, principal=principal)
        return self.ledger.history(account_id, limit=limit, before_id=before_id)

    def unit(self, code: str) -> Unit:
        return self.ledger.unit(code)

    def units(self) -> list[Unit]:
        return self.ledger.units()

    def _auditing(self, principal: Principal) -> None:
        if not principal.sees_everything:
            raise Forbidden(
                f"Only the operator and auditors verify the books; {principal.org} is neither."
            )

    def verify(
        self, *, principal: Principal, anchor: tuple[int, bytes] | None = None
    ) -> VerifyReport:
        self._auditing(principal)
        return self.ledger.verify(anchor=anchor)

    def oldest_unsealed_at(self, *, principal: Principal) -> int | None:
        self._auditing(principal)
        return self.ledger.oldest_unsealed_at()

    def check_balances(self, *, principal: Principal) -> list[BalanceMismatch]:
        self._auditing(principal)
        return self.ledger.check_balances()

    def verify_audit(self, *, principal: Principal) -> tuple[list[Finding], int]:
        """The audit trail's chain: findings, and how many audit rows are not sealed yet."""
        self._auditing(principal)
        return self.ledger.db.transaction(audit_journal.verify, readonly=True)

    def reconcile(self, *, principal: Principal) -> list[Reconciled]:
        """The books beyond the journal (see :mod:`capillary.domain.reconciliation`)."""
        self._auditing(principal)
        books, currency_of = self.ledger.db.transaction(load_books, readonly=True)
        return reconcile(books, currency_of)

    def domain_counts(self) -> DomainCounts:
        """Platform-wide counts for the operator's metrics (no organization's detail)."""
        return self.ledger.db.transaction(domain_counts, readonly=True)

    # ------------------------------------------------------------ the operator's writes

    def open_account(
        self, *, principal: Principal, org: str, unit: str, type: str, code: str,
        constraint: BalanceConstraint = BalanceConstraint.NONE,
    ) -> Account:  # fmt: skip
        authorize(principal, Act.OPERATE_LEDGER)
        known = self.ledger.db.transaction(
            lambda conn: party_repo.orgs_by_code(conn, [org]), readonly=True
        )
        if org != PLATFORM_BOOKS and org not in known:
            raise OrganizationNotFound(
                f"No organization {org!r}: register it first (`capillary org register`); "
                f"the platform's own accounts belong to {PLATFORM_BOOKS!r}."
            )
        return self.ledger.open_account(
            org=org, unit=unit, type=type, code=code, constraint=constraint
        )

    def post(
        self, *, principal: Principal, key: str, legs: Iterable[Leg], ref: str | None = None
    ) -> Transaction:
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.post(key=key, legs=legs, ref=ref)

    def hold(
        self, *, principal: Principal, key: str, legs: Iterable[Leg],
        timeout_seconds: int | None = None, ref: str | None = None,
    ) -> Transaction:  # fmt: skip
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.hold(key=key, legs=legs, timeout_seconds=timeout_seconds, ref=ref)

    def void_pending(self, *, principal: Principal, key: str, pending_id: int) -> Transaction:
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.void_pending(key=key, pending_id=pending_id)

    def reverse(self, *, principal: Principal, key: str, transaction_id: int) -> Transaction:
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.reverse(key=key, transaction_id=transaction_id)

    def expire_holds(self, *, principal: Principal) -> int:
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.expire_holds()

    def post_pending(
        self, *, principal: Principal, key: str, pending_id: int,
        amounts: list[int] | None = None, ref: str | None = None,
    ) -> Transaction:  # fmt: skip
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.post_pending(key=key, pending_id=pending_id, amounts=amounts, ref=ref)

    def transaction(self, transaction_id: int, *, principal: Principal) -> Transaction:
        authorize(principal, Act.OPERATE_LEDGER)
        return self.ledger.transaction(transaction_id)

    def seal(self, *, principal: Principal) -> int:
        """Seal the journal's new entries and the audit trail's new rows; returns the
        journal entries sealed."""
        authorize(principal, Act.OPERATE_LEDGER)
        sealed = self.ledger.seal()
        now = self.ledger.clock.now_us()
        self.ledger.db.transaction(lambda conn: audit_journal.seal(conn, now))
        return sealed
