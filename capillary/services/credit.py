"""Use cases of credit: funders' lines to obligors, obligors' issuance limits."""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Connection

from capillary.adapters import certificate_repository as repo
from capillary.domain.access import (
    Act,
    Principal,
    authorize,
    may_see,
)
from capillary.domain.credit import CreditLine, IssuanceLimit
from capillary.domain.errors import (
    CreditLineNotFound,
    LimitBelowUsed,
    ValidationError,
)
from capillary.domain.events import EventType, credit_line_event
from capillary.domain.parties import Role, require_role
from capillary.domain.units import currency, describe
from capillary.services.loop_core import LoopService
from capillary.services.outbox import emit


class CreditService(LoopService):
    """Funders' credit lines to obligors and the operator's issuance limits."""

    def grant_credit(
        self,
        *,
        principal: Principal,
        funder: str,
        obligor: str,
        cur: str,
        limit: int,
        expires_on: date,
        key: str,
    ) -> CreditLine:
        """A funder sets its own credit line to an obligor (a new line, or a new limit and
        expiry for an existing one; never below what is already used)."""
        cur = currency(cur).code  # 'cny' is CNY; 'XYZ' is unknown_currency
        authorize(principal, Act.GRANT_CREDIT, funder)
        request = {"funder": funder, "obligor": obligor, "cur": cur, "limit": limit,
                   "expires_on": expires_on}  # fmt: skip

        def work(conn: Connection) -> CreditLine:
            def run() -> CreditLine:
                orgs = self._orgs(conn, funder, obligor)
                require_role(orgs[funder], Role.FUNDER, doing="grant credit")
                require_role(orgs[obligor], Role.CORE, doing="be an obligor")
                if expires_on < self.today():
                    raise ValidationError(
                        f"A credit line expiring on {expires_on} would be expired already "
                        f"(today is {self.today()})."
                    )
                current = repo.credit_line(conn, funder, obligor, cur, lock=True)
                if current is not None and current.used > limit:
                    raise LimitBelowUsed(
                        f"{funder} has {describe(current.used, cur)} drawn on its line to "
                        f"{obligor}; a limit of {describe(limit, cur)} would be below it."
                    )
                repo.upsert_credit_line(
                    conn,
                    funder=funder,
                    obligor=obligor,
                    currency=cur,
                    limit=limit,
                    expires_on=expires_on,
                    now=self.clock.now_us(),
                )
                detail = {"limit": limit, "expires_on": expires_on}
                self._audit(
                    conn, "credit", f"{funder}>{obligor}/{cur}", "granted", principal, detail
                )
                line = repo.credit_line(conn, funder, obligor, cur)
                assert line is not None
                emit(conn, [credit_line_event(EventType.CREDIT_LINE_GRANTED, line,
                                              self.clock.now_us())])  # fmt: skip
                return line

            return self._once(conn, principal, key, Act.GRANT_CREDIT, request, CreditLine, run)

        return self.db.transaction(work)

    def credit_line(
        self, funder: str, obligor: str, cur: str, *, principal: Principal
    ) -> CreditLine:
        found = None
        if may_see(principal, funder, obligor):
            found = self.db.transaction(
                lambda c: repo.credit_line(c, funder, obligor, cur), readonly=True
            )
        if found is None:
            raise CreditLineNotFound(f"{funder} has no credit line to {obligor} in {cur}.")
        return found

    def credit_lines(self, org: str | None = None, *, principal: Principal) -> list[CreditLine]:
        """Credit lines (of ``org``, as funder or obligor), those the principal may see."""
        lines = self.db.transaction(lambda c: repo.credit_lines(c, org), readonly=True)
        return [ln for ln in lines if may_see(principal, ln.funder, ln.obligor)]

    def issuance_limits(
        self, obligor: str | None = None, *, principal: Principal
    ) -> list[IssuanceLimit]:
        """Issuance limits: an obligor sees its own, the operator and auditors all."""
        if not principal.sees_everything:
            if obligor is not None and obligor != principal.org:
                return []
            obligor = principal.org
        return self.db.transaction(lambda c: repo.issuance_limits(c, obligor), readonly=True)

    def set_issuance_limit(
        self, *, principal: Principal, obligor: str, cur: str, limit: int, key: str
    ) -> None:
        cur = currency(cur).code  # 'cny' is CNY; 'XYZ' is unknown_currency
        authorize(principal, Act.SET_ISSUANCE_LIMIT)
        request = {"obligor": obligor, "cur": cur, "limit": limit}

        def work(conn: Connection) -> None:
            def run() -> None:
                self.set_issuance_limit_in(conn, principal, obligor, cur, limit)

            self._once(conn, principal, key, Act.SET_ISSUANCE_LIMIT, request, None, run)

        self.db.transaction(work)

    def set_issuance_limit_in(self, conn: Connection, principal: Principal, obligor: str,
                              cur: str, limit: int) -> None:  # fmt: skip
        """Set the limit inside the caller's unit of work (a credit decision sets a grade
        and a limit together); the caller has authorized the principal."""
        orgs = self._orgs(conn, obligor)
        require_role(orgs[obligor], Role.CORE, doing="issue certificates")
        current = repo.issuance_limit(conn, obligor, cur, lock=True)
        if current is not None and current.used > limit:
            raise LimitBelowUsed(
                f"{obligor} has {describe(current.used, cur)} of certificates "
                f"outstanding; a limit of {describe(limit, cur)} would be below it."
            )
        repo.upsert_issuance_limit(conn, obligor, cur, limit)
        self._audit(conn, "credit", f"{obligor}/{cur}", "issuance_limit", principal,
                    {"limit": limit})  # fmt: skip
