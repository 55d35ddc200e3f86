"""Ledger use cases of units and accounts. Each public method is one unit of work: it opens
one database transaction, loads what it needs, lets the domain decide, writes, and commits
once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.domain.errors import (
    AccountExists,
    AccountNotFound,
    UnitExists,
    UnitNotFound,
    ValidationError,
)
from capillary.domain.ledger import (
    Account,
    Balance,
    BalanceConstraint,
    canonical_metadata,
    check_account_type,
)
from capillary.domain.units import ISO_4217, Unit, currency
from capillary.services.ledger_core import LedgerCore


class LedgerAccounts(LedgerCore):
    """Units and accounts: registered, opened, found."""

    # ------------------------------------------------------------ units and accounts

    def register_unit(self, unit: Unit) -> Unit:
        def work(conn: Connection) -> Unit:
            if account_repo.get_unit(conn, unit.code) is not None:
                raise UnitExists(f"Unit {unit.code!r} is already registered.")
            account_repo.insert_unit(conn, unit)
            return unit

        return self.db.transaction(work)

    def ensure_unit_in(self, conn: Connection, unit: Unit) -> None:
        """Register ``unit`` inside the caller's unit of work, unless it already is."""
        if account_repo.get_unit(conn, unit.code) is None:
            account_repo.insert_unit(conn, unit)

    def ensure_account_in(
        self,
        conn: Connection,
        *,
        org: str,
        unit: str,
        type: str,
        code: str,
        constraint: BalanceConstraint = BalanceConstraint.NONE,
    ) -> Account:
        """The account ``org``/``unit``/``code``, opened inside the caller's unit of work if
        it does not exist (the unit must be registered, or be an ISO currency)."""
        found = account_repo.find_account(conn, org=org, unit=unit, code=code)
        if found is not None:
            return found
        if account_repo.get_unit(conn, unit) is None:
            account_repo.insert_unit(conn, currency(unit))
        account_id = account_repo.insert_account(
            conn, org=org, unit=unit, type=type, code=code, constraint=constraint,
            metadata=None, created_at=self.clock.now_us(),
        )  # fmt: skip
        account = account_repo.get_account(conn, account_id)
        assert account is not None
        return account

    def unit(self, code: str) -> Unit:
        found = self.db.transaction(lambda conn: account_repo.get_unit(conn, code), readonly=True)
        if found is None:
            if code.upper() in ISO_4217:
                return currency(code)
            raise UnitNotFound(f"Unit {code!r} is not registered.")
        return found

    def units(self) -> list[Unit]:
        return self.db.transaction(account_repo.list_units, readonly=True)

    def open_account(
        self,
        *,
        org: str,
        unit: str,
        type: str,
        code: str,
        constraint: BalanceConstraint | str = BalanceConstraint.NONE,
        metadata: Mapping[str, Any] | None = None,
    ) -> Account:
        """Open an account. A currency unit is registered on first use; an instrument must
        be registered first (:meth:`register_unit`)."""
        constraint = BalanceConstraint(constraint)
        check_account_type(type)
        for field, value in (("org", org), ("type", type), ("code", code)):
            if not value or len(value) > 128:
                raise ValidationError(f"Account {field} must be 1 to 128 characters.")
        meta = canonical_metadata(metadata)

        def work(conn: Connection) -> Account:
            if account_repo.get_unit(conn, unit) is None:
                if unit.upper() != unit or unit not in ISO_4217:
                    raise UnitNotFound(
                        f"Unit {unit!r} is neither an ISO 4217 currency nor registered."
                    )
                account_repo.insert_unit(conn, currency(unit))
            if account_repo.find_account(conn, org=org, unit=unit, code=code) is not None:
                raise AccountExists(f"{org} already has an account {code!r} in {unit}.")
            account_id = account_repo.insert_account(
                conn,
                org=org,
                unit=unit,
                type=type,
                code=code,
                constraint=constraint,
                metadata=meta,
                created_at=self.clock.now_us(),
            )
            account = account_repo.get_account(conn, account_id)
            assert account is not None
            return account

        return self.db.transaction(work)

    def ensure_account(
        self,
        *,
        org: str,
        unit: str,
        type: str,
        code: str,
        constraint: BalanceConstraint | str = BalanceConstraint.NONE,
    ) -> Account:
        """The account ``org``/``unit``/``code``, opened if it does not exist yet."""
        try:
            return self.find_account(org=org, unit=unit, code=code)
        except AccountNotFound:
            try:
                return self.open_account(
                    org=org, unit=unit, type=type, code=code, constraint=constraint
                )
            except AccountExists:  # opened concurrently
                return self.find_account(org=org, unit=unit, code=code)

    def find_account(self, *, org: str, unit: str, code: str) -> Account:
        found = self.db.transaction(
            lambda c: account_repo.find_account(c, org=org, unit=unit, code=code), readonly=True
        )
        if found is None:
            raise AccountNotFound(f"{org} has no account {code!r} in {unit}.")
        return found

    def accounts(
        self, *, org: str | None = None, unit: str | None = None, after: int = 0,
        limit: int | None = None,
    ) -> list[tuple[Account, Balance]]:  # fmt: skip
        """Accounts and balances in id order (a page: after id ``after``, ``limit`` of them)."""
        return self.db.transaction(
            lambda c: account_repo.list_accounts(c, org=org, unit=unit, after=after, limit=limit),
            readonly=True,
        )
