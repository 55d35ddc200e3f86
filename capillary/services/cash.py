"""Use cases of cash: what the platform holds for each organization, in and out."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from capillary.domain.access import (
    Act,
    Principal,
    authorize,
    may_see,
)
from capillary.domain.errors import (
    AccountNotFound,
    CapillaryError,
)
from capillary.domain.ledger import (
    Leg,
    Side,
)
from capillary.domain.units import currency
from capillary.services.bank import queue_withdrawal
from capillary.services.loop_core import LoopService, ledger_key


class CashService(LoopService):
    """Cash on the platform: deposits recorded by the operator, withdrawals, balances."""

    def deposit(
        self, *, principal: Principal, org: str, cur: str, amount: int, key: str, ref: str = ""
    ) -> int:
        """The operator records money that arrived in the platform's bank for ``org`` (from
        the bank's statement): clearing → org's cash. Returns the ledger transaction."""
        cur = currency(cur).code  # 'cny' is CNY; 'XYZ' is unknown_currency
        authorize(principal, Act.RECORD_DEPOSIT)
        request = {"org": org, "cur": cur, "amount": amount, "ref": ref}

        def work(conn: Connection) -> int:
            def run() -> int:
                self._orgs(conn, org)
                legs = [
                    Leg(self._clearing(conn, cur), Side.DEBIT, amount),
                    Leg(self._cash(conn, org, cur), Side.CREDIT, amount),
                ]
                tx = self._post(conn, ledger_key("deposit", principal, key), legs,
                                ref or f"deposit {org}")  # fmt: skip
                detail = {"amount": amount, "ref": ref}
                self._audit(conn, "cash", f"{org}/{cur}", "deposit", principal, detail)
                return tx

            return self._once(conn, principal, key, Act.RECORD_DEPOSIT, request, int, run)

        return self.db.transaction(work)

    def withdraw(
        self, *, principal: Principal, org: str, cur: str, amount: int, key: str, ref: str = ""
    ) -> int:
        """Money leaves for ``org``'s bank account on file, asked by ``org`` itself: org's
        cash → clearing, and a payment queued for the next payment run (pain.001). Returns
        the ledger transaction."""
        cur = currency(cur).code  # 'cny' is CNY; 'XYZ' is unknown_currency
        authorize(principal, Act.WITHDRAW_CASH, org)
        request = {"org": org, "cur": cur, "amount": amount, "ref": ref}

        def work(conn: Connection) -> int:
            def run() -> int:
                self._orgs(conn, org)
                legs = [
                    Leg(self._cash(conn, org, cur), Side.DEBIT, amount),
                    Leg(self._clearing(conn, cur), Side.CREDIT, amount),
                ]
                said = ref or f"withdrawal {org}"
                tx = self._post(conn, ledger_key("withdraw", principal, key), legs, said)
                queue_withdrawal(conn, org, cur, amount, said, tx, self.clock.now_us())
                self._audit(conn, "cash", f"{org}/{cur}", "withdrawal", principal,
                            {"amount": amount})  # fmt: skip
                return tx

            return self._once(conn, principal, key, Act.WITHDRAW_CASH, request, int, run)

        return self.db.transaction(work)

    def cash(self, org: str, cur: str, *, principal: Principal) -> int:
        """What the platform owes ``org`` in ``cur`` (its cash balance): for ``org`` itself,
        the operator and auditors."""
        cur = currency(cur).code  # 'cny' is CNY; 'XYZ' is unknown_currency
        if not may_see(principal, org):
            raise AccountNotFound(f"No cash account {org}:cash:{cur}.")
        try:
            account = self.ledger.find_account(org=org, unit=cur, code="cash")
        except CapillaryError:
            return 0
        return self.ledger.balance(account.id).net_credit
