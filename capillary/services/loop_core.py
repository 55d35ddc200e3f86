"""What the closed loop's services (cash, credit, certificates, financing, settlement) share:
the store, the ledger, the clock, the rules, and how a use case reads certificates, opens
the accounts it touches and posts inside its unit of work.

Ledger mapping. Each certificate is its own ledger unit (``CERT-<number>``, the currency's
exponent): the obligor's ``issued`` account (a liability) is credited with the face, each
holder's ``held`` account (an asset, never credited beyond its debits) holds its fragments,
so the ledger itself proves conservation. Cash lives in each organization's ``cash`` account
(a liability of the platform, never overdrawn), against the platform's ``clearing`` account
(the platform's bank); fees go to the platform's ``fees`` account.

Every operation is one database transaction: fragments, credit, payables and the ledger
posting commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import party_repository as party_repo
from capillary.adapters.clock import DEFAULT_TIMEZONE, Clock, SystemClock, business_date
from capillary.adapters.database import Database
from capillary.domain.access import (
    Act,
    Principal,
    UserRole,
    authorize,
    may_see_certificate,
    sees_whole_tree,
    visible_fragments,
)
from capillary.domain.certificates import (
    Certificate,
    Fragment,
    Rules,
)
from capillary.domain.errors import (
    BatchRejected,
    CertificateNotFound,
    DebitsExceedCredits,
    FragmentNotFound,
    InsufficientCash,
    NotHolder,
    OrganizationNotFound,
)
from capillary.domain.ledger import (
    BalanceConstraint,
    Leg,
    Side,
    make_request,
)
from capillary.domain.parties import PLATFORM_BOOKS
from capillary.domain.units import ISO_4217, currency
from capillary.services.idempotency import once
from capillary.services.ledger import LedgerService
from capillary.services.outcomes import audit_row

T = TypeVar("T")

PLATFORM = PLATFORM_BOOKS  # the ledger's name for the platform's own accounts


class LoopService:
    """The base of every closed-loop service: shared state and unit-of-work helpers."""

    def __init__(
        self,
        db: Database,
        ledger: LedgerService,
        *,
        clock: Clock | None = None,
        rules: Rules | None = None,
        penalty_rate: Decimal = Decimal("0.18"),
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.db = db
        self.ledger = ledger
        self.clock = clock or SystemClock()
        self.rules = rules or Rules()
        self.penalty_rate = penalty_rate
        self.timezone = timezone

    def today(self) -> date:
        """The platform's business date: no use case takes one from its caller."""
        return business_date(self.clock, self.timezone)

    def _once(
        self,
        conn: Connection,
        principal: Principal,
        key: str,
        act: Act,
        request: Any,
        result: Any,
        run: Callable[[], T],
    ) -> T:
        return once(
            conn,
            principal=principal,
            key=key,
            use_case=act.value,
            request=request,
            result=result,
            run=run,
            now=self.clock.now_us(),
        )

    # ------------------------------------------------------------ accounts (in a unit of work)

    def _cash(self, conn: Connection, org: str, cur: str) -> int:
        return self.ledger.ensure_account_in(
            conn,
            org=org,
            unit=cur,
            type="liability",
            code="cash",
            constraint=BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS,
        ).id

    def _clearing(self, conn: Connection, cur: str) -> int:
        return self.ledger.ensure_account_in(
            conn, org=PLATFORM, unit=cur, type="asset", code="clearing"
        ).id

    def _fees(self, conn: Connection, cur: str) -> int:
        return self.ledger.ensure_account_in(
            conn, org=PLATFORM, unit=cur, type="revenue", code="fees"
        ).id

    def _issued(self, conn: Connection, c: Certificate) -> int:
        return self.ledger.ensure_account_in(
            conn, org=c.obligor, unit=c.unit, type="liability", code="issued"
        ).id

    def _held(self, conn: Connection, org: str, c: Certificate) -> int:
        return self.ledger.ensure_account_in(
            conn,
            org=org,
            unit=c.unit,
            type="asset",
            code="held",
            constraint=BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS,
        ).id

    def _audit(
        self,
        conn: Connection,
        entity: str,
        key: str,
        action: str,
        principal: Principal,
        detail: Any = None,
    ) -> None:
        row = audit_row(entity, key, action, principal.label, self.clock.now_us(), detail)
        invoice_repo.insert_audit(conn, [row])

    def _post_all(self, conn: Connection, requests: Sequence[Any]) -> list[int]:
        """Ledger transactions inside the unit of work, all or none; a cash shortfall is
        named."""
        try:
            result = self.ledger.submit_in(conn, requests)
        except BatchRejected as rejected:
            error = rejected.errors[0].error
            if isinstance(error, DebitsExceedCredits):
                raise InsufficientCash(error.message) from None
            raise error from None
        return [tx for tx in result.ids if tx is not None]

    def _post(self, conn: Connection, key: str, legs: Sequence[Leg], ref: str) -> int:
        """One ledger transaction inside the unit of work; a cash shortfall is named."""
        try:
            result = self.ledger.submit_in(conn, [make_request(key=key, legs=legs, ref=ref)])
        except BatchRejected as rejected:
            error = rejected.errors[0].error
            if isinstance(error, DebitsExceedCredits):
                raise InsufficientCash(error.message) from None
            raise error from None
        tx_id = result.ids[0]
        assert tx_id is not None
        return tx_id

    def _orgs(self, conn: Connection, *codes: str) -> dict[str, Any]:
        orgs = party_repo.orgs_by_code(conn, codes)
        for code in codes:
            if code not in orgs:
                raise OrganizationNotFound(f"No organization {code!r}.")
        return orgs

    # ------------------------------------------------------------ reading (in a unit of work)

    def _certificate(
        self, conn: Connection, number: str, *, lock: bool = False
    ) -> tuple[Certificate, int | None]:
        found = repo.certificate(conn, number=number, lock=lock)
        if found is None:
            raise CertificateNotFound(f"No certificate {number!r}.")
        return found

    def _fragment(self, conn: Connection, fragment_id: int) -> tuple[Fragment, Certificate]:
        source = repo.fragment(conn, fragment_id)
        if source is None:
            raise FragmentNotFound(f"No fragment {fragment_id}.")
        found = repo.certificate(conn, certificate_id=source.certificate_id)
        assert found is not None
        return source, found[0]

    def _visible_certificate(
        self, conn: Connection, number: str, principal: Principal, *, lock: bool = False
    ) -> tuple[Certificate, int | None]:
        """A certificate the principal is a party to; to anyone else it does not exist."""
        cert, pending_tx = self._certificate(conn, number, lock=lock)
        if not sees_whole_tree(principal, cert) and principal.org != cert.first_holder:
            tree = repo.fragments_of(conn, [cert.id])
            if not may_see_certificate(principal, cert, tree):
                raise CertificateNotFound(f"No certificate {number!r}.")
        return cert, pending_tx

    def _visible_fragment(
        self, conn: Connection, fragment_id: int, principal: Principal
    ) -> tuple[Fragment, Certificate, list[Fragment]]:
        """A fragment the principal may see, its certificate, and what it may see of the
        tree."""
        source, cert = self._fragment(conn, fragment_id)
        tree = visible_fragments(principal, cert, repo.fragments_of(conn, [cert.id]))
        if source not in tree:
            raise FragmentNotFound(f"No fragment {fragment_id}.")
        return source, cert, tree

    def _refuse_unless_holder(
        self, conn: Connection, principal: Principal, source: Fragment, cert: Certificate, act: Act
    ) -> None:
        """A fragment the principal does not hold: not found unless it may see it, then
        forbidden."""
        if source.holder == principal.org and not principal.is_auditor:
            authorize(principal, act, source.holder)
            return
        tree = repo.fragments_of(conn, [cert.id])
        if source not in visible_fragments(principal, cert, tree):
            raise FragmentNotFound(f"No fragment {source.id}.")
        if principal.user_role is not UserRole.READ_ONLY and not principal.is_auditor:
            # Said before anything else (a relationship, an amount): it is not yours to move.
            raise NotHolder(
                f"{principal.org} does not hold fragment {source.id}; {source.holder} does."
            )
        authorize(principal, act, source.holder)


def ledger_key(use_case: str, principal: Principal, key: str) -> str:
    """The ledger's own (global) key for a posting made under ``key`` of the principal's
    organization."""
    digest = hashlib.sha256(f"{principal.org}\0{key}".encode()).hexdigest()[:32]
    return f"{use_case}:{digest}"


def involved_orgs(orgs: Sequence[str]) -> list[str] | None:
    """The organizations whose accounts a use case looks up: only those involved (a platform
    has many), with the platform's own; past a thousand, all (no filter)."""
    involved = sorted({*orgs, PLATFORM})
    return involved if len(involved) <= 1_000 else None


class Accounts:
    """The accounts a use case touches, looked up in bulk within one unit of work (the
    certificate units' held and issued accounts, the cash and fee accounts of the
    currencies), opening any that is missing."""

    def __init__(
        self,
        service: LoopService,
        conn: Connection,
        units: Sequence[str],
        currencies: Sequence[str],
        orgs: Sequence[str],
        *,
        found: dict[tuple[str, str, str], int] | None = None,
    ) -> None:
        self.service = service
        self.conn = conn
        self.orgs = involved_orgs(orgs)
        # ``found``: looked up by the caller already (with :func:`involved_orgs`).
        self.ids = found if found is not None else account_repo.account_ids(
            conn, [*units, *currencies], codes=("held", "issued", "cash", "fees"), orgs=self.orgs
        )  # fmt: skip

    def open_missing(self, needs: Sequence[tuple[str, str, str, str, BalanceConstraint]]) -> None:
        """Open, in one statement, every account of ``needs`` (org, unit, type, code,
        constraint) that does not exist yet."""
        missing = {n[:2] + n[3:4]: n for n in needs if (n[0], n[1], n[3]) not in self.ids}
        if not missing:
            return
        for unit in sorted({n[1] for n in missing.values()}):
            if unit in ISO_4217:  # a currency is registered on first use; certificates at issue
                self.service.ledger.ensure_unit_in(self.conn, currency(unit))
        self.ids.update(
            account_repo.insert_accounts(
                self.conn, list(missing.values()), self.service.clock.now_us()
            )
        )

    def _get(self, org: str, unit: str, code: str, open_: Callable[[], int]) -> int:
        found = self.ids.get((org, unit, code))
        if found is None:
            found = self.ids[(org, unit, code)] = open_()
        return found

    def held(self, org: str, cert: Certificate) -> int:
        return self._get(org, cert.unit, "held", lambda: self.service._held(self.conn, org, cert))

    def issued(self, cert: Certificate) -> int:
        return self._get(
            cert.obligor, cert.unit, "issued", lambda: self.service._issued(self.conn, cert)
        )

    def cash(self, org: str, cur: str) -> int:
        return self._get(org, cur, "cash", lambda: self.service._cash(self.conn, org, cur))

    def fees(self, cur: str) -> int:
        return self._get(PLATFORM, cur, "fees", lambda: self.service._fees(self.conn, cur))

    def payout_legs(
        self, cert: Certificate, frags: Sequence[Fragment], payouts: dict[str, int]
    ) -> list[Leg]:
        """Cash from the obligor to each holder, and every holding back to the issued
        account: the posting that pays and retires a certificate. What the obligor holds of
        its own certificate (bought back early) it does not pay itself."""
        owed = {h: a for h, a in payouts.items() if h != cert.obligor and a}
        legs = []
        if owed:
            legs.append(Leg(self.cash(cert.obligor, cert.currency), Side.DEBIT,
                            sum(owed.values())))  # fmt: skip
        legs += [
            Leg(self.cash(holder, cert.currency), Side.CREDIT, amount)
            for holder, amount in sorted(owed.items())
        ]
        held: dict[str, int] = defaultdict(int)
        for f in frags:
            held[f.holder] += f.amount
        legs.append(Leg(self.issued(cert), Side.DEBIT, cert.face))
        legs += [
            Leg(self.held(holder, cert), Side.CREDIT, amount)
            for holder, amount in sorted(held.items())
        ]
        return legs
