"""Use cases of credit and certificates: the closed loop from payable to settlement.

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
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from capillary.adapters import certificate_repository as repo
from capillary.adapters import ledger_repository as ledger_repo
from capillary.adapters import trade_repository as trade_repo
from capillary.adapters import trust_repository as trust_repo
from capillary.adapters.clock import DEFAULT_TIMEZONE, Clock, SystemClock, business_date
from capillary.adapters.database import Database
from capillary.domain.access import (
    Act,
    Principal,
    UserRole,
    authorize,
    may_see,
    may_see_certificate,
    sees_whole_tree,
    visible_fragments,
)
from capillary.domain.calendar import BusinessCalendar
from capillary.domain.certificates import (
    Certificate,
    CertificateStatus,
    Fragment,
    FragmentStatus,
    Rules,
    check_pending,
    check_settleable,
    check_trade_reference,
    children,
    early_payouts,
    maturity_payouts,
    parse_trade_reference,
    penalty_interest,
    plan_issue,
    plan_split,
    root,
)
from capillary.domain.credit import CreditLine, IssuanceLimit, draw, issue_within, release
from capillary.domain.errors import (
    AccountNotFound,
    BatchRejected,
    CapillaryError,
    CertificateNotFound,
    ClaimNotFound,
    ClaimNotOpen,
    CreditLineNotFound,
    DebitsExceedCredits,
    FragmentNotActive,
    FragmentNotFound,
    InsufficientCash,
    LimitBelowUsed,
    MaturityReached,
    NoIssuanceLimit,
    NotHolder,
    OfferNotFound,
    OrganizationNotFound,
    PayableNotFound,
    ValidationError,
)
from capillary.domain.ledger import (
    BalanceConstraint,
    Leg,
    Side,
    TransactionKind,
    make_request,
)
from capillary.domain.offers import FinancingOffer, OfferStatus, check_open
from capillary.domain.parties import PLATFORM_BOOKS, Role, require_role, require_trade
from capillary.domain.pricing import DayCount, Quote, quote, within
from capillary.domain.units import ISO_4217, currency, describe, instrument
from capillary.services.idempotency import once
from capillary.services.ledger import LedgerService
from capillary.services.outcomes import audit_row

T = TypeVar("T")

PLATFORM = PLATFORM_BOOKS  # the ledger's name for the platform's own accounts


@dataclass(frozen=True, slots=True)
class Issued:
    certificate: Certificate
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IssueRequest:
    obligor: str
    holder: str
    payable_ids: tuple[int, ...]
    face: int
    maturity: date
    currency: str | None = None  # the face's; the payables must be in it (default: theirs)


@dataclass(frozen=True, slots=True)
class Financed:
    fragments: tuple[Fragment, ...]  # the funder's, then the seller's change
    quote: Quote


@dataclass(frozen=True, slots=True)
class Move:
    """Passing (part of) a fragment on. A transfer names the trade it pays for
    (``reference``); a financing sells to a funder at ``rate``."""

    fragment_id: int
    sender: str
    recipient: str
    amount: int
    reference: str | None = None
    rate: Decimal | None = None
    day_count: DayCount = DayCount.ACT_360
    fee_rate: Decimal = Decimal(0)
    recourse: bool = False


@dataclass(frozen=True, slots=True)
class Transfer:
    """Paying a supplier with (part of) a fragment, naming the trade it pays for."""

    fragment_id: int
    recipient: str
    amount: int
    reference: str


@dataclass(frozen=True, slots=True)
class _Terms:
    fragment_id: int
    amount: int
    rate: Decimal
    day_count: DayCount
    fee_rate: Decimal
    recourse: bool


@dataclass(frozen=True, slots=True)
class Moved:
    fragments: tuple[Fragment, ...]  # the recipient's, then the sender's change
    quote: Quote | None  # a financing's price
    posting: int  # the ledger transaction that moved it


@dataclass
class SettlementRun:
    on: date | None = None  # the platform's date of the run
    settled: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    unpaid: list[str] = field(default_factory=list)  # due today, cash short: not yet overdue
    paid: int = 0
    paid_by_currency: dict[str, int] = field(default_factory=dict)
    fragments: int = 0
    #: Certificates that could not be settled, with why: each fails on its own, the others
    #: are paid (an inconsistency is a finding for the operator, not a reason to pay nobody).
    failed: list[tuple[str, str]] = field(default_factory=list)


class CertificateService:
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
        trade_repo.insert_audit(conn, [row])

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
        orgs = trade_repo.orgs_by_code(conn, codes)
        for code in codes:
            if code not in orgs:
                raise OrganizationNotFound(f"No organization {code!r}.")
        return orgs

    # ------------------------------------------------------------ cash

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
                tx = self._post(conn, _ledger_key("deposit", principal, key), legs,
                                ref or f"deposit {org}")  # fmt: skip
                detail = {"amount": amount, "ref": ref}
                self._audit(conn, "cash", f"{org}/{cur}", "deposit", principal, detail)
                return tx

            return self._once(conn, principal, key, Act.RECORD_DEPOSIT, request, int, run)

        return self.db.transaction(work)

    def withdraw(
        self, *, principal: Principal, org: str, cur: str, amount: int, key: str, ref: str = ""
    ) -> int:
        """Money leaves for ``org``'s bank account, asked by ``org`` itself: org's cash →
        clearing. Returns the ledger transaction."""
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
                tx = self._post(conn, _ledger_key("withdraw", principal, key), legs,
                                ref or f"withdrawal {org}")  # fmt: skip
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

    # ------------------------------------------------------------ credit

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

            self._once(conn, principal, key, Act.SET_ISSUANCE_LIMIT, request, None, run)

        self.db.transaction(work)

    def set_calendar_day(
        self, day: date, *, principal: Principal, business_day: bool, reason: str, key: str
    ) -> None:
        """An operator's override of the platform calendar (published schedules come late)."""
        authorize(principal, Act.SET_CALENDAR_DAY)
        request = {"day": day, "business_day": business_day, "reason": reason}

        def work(conn: Connection) -> None:
            def run() -> None:
                repo.set_calendar_override(
                    conn, day, business_day, reason, principal.label, self.clock.now_us()
                )

            self._once(conn, principal, key, Act.SET_CALENDAR_DAY, request, None, run)

        self.db.transaction(work)

    def calendar(self) -> BusinessCalendar:
        return BusinessCalendar(self.db.transaction(repo.calendar_overrides, readonly=True))

    # ------------------------------------------------------------ issue, accept, cancel

    def issue(
        self,
        *,
        principal: Principal,
        obligor: str,
        holder: str,
        payable_ids: Sequence[int],
        face: int,
        maturity: date,
        key: str,
        currency: str | None = None,
    ) -> Issued:
        """The obligor issues a certificate to ``holder`` against its confirmed payables,
        dated today; it is pending until the holder accepts it. ``currency``, when given, is
        the face's, and the payables must be in it."""
        request = IssueRequest(obligor, holder, tuple(payable_ids), face, maturity, currency)
        (issued,) = self.issue_many([request], principal=principal, key=key)
        return issued

    def issue_many(
        self, requests: Sequence[IssueRequest], *, principal: Principal, key: str
    ) -> list[Issued]:
        """Issue certificates in one unit of work, all or none (the first refusal is raised);
        each is placed as its own ledger hold."""
        if not requests:
            return []
        for r in requests:
            authorize(principal, Act.ISSUE_CERTIFICATE, r.obligor)
        request = tuple(requests)

        def work(conn: Connection) -> list[Issued]:
            def run() -> list[Issued]:
                return self._issue(conn, requests, principal)

            return self._once(
                conn, principal, key, Act.ISSUE_CERTIFICATE, request, list[Issued], run
            )

        return self.db.transaction(work)

    def _issue(
        self, conn: Connection, requests: Sequence[IssueRequest], principal: Principal
    ) -> list[Issued]:
        now = self.clock.now_us()
        today = self.today()
        actor = principal.label
        self._orgs(conn, *sorted({o for r in requests for o in (r.obligor, r.holder)}))
        payables = {}
        for pid in sorted({pid for r in requests for pid in r.payable_ids}):
            found = trade_repo.payable(conn, pid, lock=True)
            if found is None or not may_see(principal, found.buyer, found.supplier):
                raise PayableNotFound(f"No payable {pid}.")
            payables[pid] = found
        calendar = BusinessCalendar(repo.calendar_overrides(conn))
        limits: dict[tuple[str, str], Any] = {}
        plans = []
        for r in requests:
            backing = [payables[pid] for pid in r.payable_ids]
            cur = r.currency or (backing[0].currency if backing else "CNY")
            plan = plan_issue(
                obligor=r.obligor,
                holder=r.holder,
                face=r.face,
                currency=cur,
                issue_date=today,
                maturity=r.maturity,
                payables=backing,
                calendar=calendar,
                rules=self.rules,
            )
            key = (r.obligor, cur)
            if key not in limits:
                limits[key] = repo.issuance_limit(conn, r.obligor, cur, lock=True)
                if limits[key] is None:
                    raise NoIssuanceLimit(
                        f"{r.obligor} has no issuance limit in {cur}: the operator sets one "
                        f"with `capillary credit limit {r.obligor} --amount … --currency {cur}`."
                    )
            limits[key] = replace(limits[key], used=issue_within(limits[key], r.face))
            for pid, amount in plan.allocations:  # later certificates see what earlier took
                payables[pid] = replace(
                    payables[pid], open_amount=payables[pid].open_amount - amount
                )
            plans.append((r, cur, plan))
        ids = repo.next_certificate_ids(conn, len(plans))
        certs = [
            Certificate(
                cid,
                f"CP{today:%Y%m%d}{cid:06d}",
                r.obligor,
                r.holder,
                cur,
                r.face,
                today,
                plan.maturity,
                CertificateStatus.PENDING,
            )
            for cid, (r, cur, plan) in zip(ids, plans, strict=True)
        ]
        ledger_repo.insert_units(
            conn,
            [
                instrument(
                    c.unit, exponent=currency(c.currency).exponent, name=f"{c.obligor} certificate"
                )
                for c in certs
            ],
        )
        accounts = _Accounts(
            self,
            conn,
            [],
            sorted({c.currency for c in certs}),
            [o for c in certs for o in (c.obligor, c.first_holder)],
        )
        accounts.open_missing(
            [
                (
                    c.first_holder,
                    c.unit,
                    "asset",
                    "held",
                    BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS,
                )
                for c in certs
            ]
            + [(c.obligor, c.unit, "liability", "issued", BalanceConstraint.NONE) for c in certs]
        )
        holds = self.ledger.submit_in(
            conn,
            [
                make_request(
                    key=f"cert:{c.number}:issue",
                    pending=True,
                    ref=f"certificate {c.number}",
                    legs=[
                        Leg(accounts.held(c.first_holder, c), Side.DEBIT, c.face),
                        Leg(accounts.issued(c), Side.CREDIT, c.face),
                    ],
                )
                for c in certs
            ],
        )
        repo.insert_certificates(conn, list(zip(certs, holds.ids, strict=True)), now)  # type: ignore[arg-type]
        repo.insert_allocations_many(
            conn,
            [
                (c.id, pid, amount)
                for c, (_, _, plan) in zip(certs, plans, strict=True)
                for pid, amount in plan.allocations
            ],
        )
        for (obligor, cur), limit in limits.items():
            repo.set_issuance_used(conn, obligor, cur, limit.used)
        touched = {pid for _, _, plan in plans for pid, _ in plan.allocations}
        for pid in sorted(touched):
            trade_repo.set_open_amount(conn, pid, payables[pid].open_amount)
        trade_repo.insert_audit(
            conn,
            [
                audit_row(
                    "payable",
                    str(pid),
                    "reduced",
                    actor,
                    now,
                    {"amount": amount, "why": f"certificate {c.number}"},
                )
                for c, (_, _, plan) in zip(certs, plans, strict=True)
                for pid, amount in plan.allocations
            ]
            + [
                audit_row(
                    "certificate",
                    c.number,
                    "issued",
                    actor,
                    now,
                    {
                        "face": c.face,
                        "maturity": c.maturity,
                        "warnings": list(plan.warnings),
                        "payables": [list(a) for a in plan.allocations],
                    },
                )
                for c, (_, _, plan) in zip(certs, plans, strict=True)
            ],
        )
        return [Issued(c, plan.warnings) for c, (_, _, plan) in zip(certs, plans, strict=True)]

    def accept(self, number: str, *, principal: Principal, key: str) -> Certificate:
        """The first holder signs: the certificate becomes active, its root fragment exists."""

        def work(conn: Connection) -> Certificate:
            cert, pending_tx = self._visible_certificate(conn, number, principal, lock=True)
            authorize(principal, Act.ACCEPT_CERTIFICATE, cert.first_holder)

            def run() -> Certificate:
                check_pending(cert)
                assert pending_tx is not None
                self.ledger.resolve_in(
                    conn,
                    key=f"cert:{number}:accept",
                    pending_id=pending_tx,
                    kind=TransactionKind.POST_PENDING,
                )
                repo.insert_fragments(
                    conn, [root(cert, repo.next_fragment_ids(conn, 1)[0])], self.clock.now_us()
                )
                repo.set_certificate_status(conn, cert.id, CertificateStatus.ACTIVE)
                self._audit(conn, "certificate", number, "accepted", principal)
                return replace(cert, status=CertificateStatus.ACTIVE)

            request = {"number": number}
            return self._once(
                conn, principal, key, Act.ACCEPT_CERTIFICATE, request, Certificate, run
            )

        return self.db.transaction(work)

    def cancel(self, number: str, *, principal: Principal, reason: str, key: str) -> Certificate:
        """The issuer withdraws a certificate not yet accepted: the hold is voided, the issuance
        limit and the payables' open amounts are restored."""

        def work(conn: Connection) -> Certificate:
            cert, pending_tx = self._visible_certificate(conn, number, principal, lock=True)
            authorize(principal, Act.CANCEL_CERTIFICATE, cert.obligor)

            def run() -> Certificate:
                check_pending(cert)
                assert pending_tx is not None
                self.ledger.resolve_in(
                    conn,
                    key=f"cert:{number}:cancel",
                    pending_id=pending_tx,
                    kind=TransactionKind.VOID_PENDING,
                )
                limit = repo.issuance_limit(conn, cert.obligor, cert.currency, lock=True)
                assert limit is not None
                repo.set_issuance_used(
                    conn, cert.obligor, cert.currency, release(limit.used, cert.face)
                )
                for payable_id, amount in repo.allocations(conn, cert.id):
                    p = trade_repo.payable(conn, payable_id, lock=True)
                    assert p is not None
                    trade_repo.set_open_amount(conn, payable_id, p.open_amount + amount)
                repo.set_certificate_status(conn, cert.id, CertificateStatus.CANCELLED)
                self._audit(conn, "certificate", number, "cancelled", principal,
                            {"reason": reason})  # fmt: skip
                return replace(cert, status=CertificateStatus.CANCELLED)

            request = {"number": number, "reason": reason}
            return self._once(
                conn, principal, key, Act.CANCEL_CERTIFICATE, request, Certificate, run
            )

        return self.db.transaction(work)

    # ------------------------------------------------------------ transfer, finance

    def _trade_reference(self, conn: Connection, buyer: str, supplier: str, reference: str) -> None:
        named = parse_trade_reference(reference)
        invoice = None
        if named is not None:
            key = (supplier, *named)
            invoice = trade_repo.invoices_by_number(conn, [key]).get(key)
        check_trade_reference(reference, invoice, buyer=buyer, supplier=supplier)

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

    def transfer(
        self,
        *,
        principal: Principal,
        fragment_id: int,
        recipient: str,
        amount: int,
        reference: str,
        key: str,
    ) -> list[Fragment]:
        """The holder pays a supplier with (part of) a fragment: the recipient's fragment,
        and the holder's change."""
        t = Transfer(fragment_id, recipient, amount, reference)
        (moved,) = self.transfer_many([t], principal=principal, key=key)
        return list(moved.fragments)

    def transfer_many(
        self, transfers: Sequence[Transfer], *, principal: Principal, key: str
    ) -> list[Moved]:
        """Transfers by the principal in one unit of work, all or none (the first refusal is
        raised); each is its own ledger transaction."""
        if not transfers:
            return []
        request = tuple(transfers)

        def work(conn: Connection) -> list[Moved]:
            def run() -> list[Moved]:
                sources = repo.fragments_by_ids(conn, [t.fragment_id for t in transfers])
                missing = [t.fragment_id for t in transfers if t.fragment_id not in sources]
                if missing:
                    raise FragmentNotFound(f"No fragment {missing[0]}.")
                foreign = [f for f in sources.values() if f.holder != principal.org]
                if foreign or principal.is_auditor:
                    f = (foreign or list(sources.values()))[0]
                    cert = repo.certificates_by_ids(conn, {f.certificate_id})[f.certificate_id]
                    self._refuse_unless_holder(conn, principal, f, cert, Act.TRANSFER)
                authorize(principal, Act.TRANSFER, principal.org)
                moves = [
                    Move(t.fragment_id, principal.org, t.recipient, t.amount,
                         reference=t.reference)
                    for t in transfers
                ]  # fmt: skip
                return self._move(conn, moves, principal.label, self.today(), sources)

            return self._once(conn, principal, key, Act.TRANSFER, request, list[Moved], run)

        return self.db.transaction(work)

    # ------------------------------------------------------------ financing, agreed by both

    def offer_financing(
        self,
        *,
        principal: Principal,
        fragment_id: int,
        funder: str,
        amount: int,
        rate: Decimal,
        key: str,
        day_count: DayCount = DayCount.ACT_360,
        fee_rate: Decimal = Decimal(0),
        recourse: bool = False,
    ) -> FinancingOffer:
        """The holder offers to sell (part of) a fragment to ``funder`` at ``rate``; nothing
        moves until the funder accepts."""
        terms = _Terms(fragment_id, amount, within(rate, self.rules.discount_rates), day_count,
                       within(fee_rate, self.rules.fee_rates), recourse)  # fmt: skip

        def work(conn: Connection) -> FinancingOffer:
            source, cert = self._fragment(conn, fragment_id)
            self._refuse_unless_holder(conn, principal, source, cert, Act.OFFER_FINANCING)
            return self._propose(conn, principal, key, Act.OFFER_FINANCING, terms,
                                 seller=source.holder, funder=funder)  # fmt: skip

        return self.db.transaction(work)

    def quote_financing(
        self,
        *,
        principal: Principal,
        fragment_id: int,
        seller: str,
        amount: int,
        rate: Decimal,
        key: str,
        day_count: DayCount = DayCount.ACT_360,
        fee_rate: Decimal = Decimal(0),
        recourse: bool = False,
    ) -> FinancingOffer:
        """A funder offers to buy (part of) a fragment from its holder ``seller`` (who told
        the funder which fragment it holds) at ``rate``; nothing moves until the holder
        accepts. A funder quotes only on obligors it has a credit line to, and a fragment
        not held by ``seller`` does not exist for it."""
        terms = _Terms(fragment_id, amount, within(rate, self.rules.discount_rates), day_count,
                       within(fee_rate, self.rules.fee_rates), recourse)  # fmt: skip

        def work(conn: Connection) -> FinancingOffer:
            source, cert = self._fragment(conn, fragment_id)
            line = repo.credit_line(conn, principal.org, cert.obligor, cert.currency)
            visible = visible_fragments(principal, cert, repo.fragments_of(conn, [cert.id]))
            named = line is not None and source.holder == seller
            if not named and source not in visible:
                raise FragmentNotFound(f"No fragment {fragment_id} held by {seller}.")
            authorize(principal, Act.QUOTE_FINANCING, principal.org)
            return self._propose(conn, principal, key, Act.QUOTE_FINANCING, terms,
                                 seller=source.holder, funder=principal.org)  # fmt: skip

        return self.db.transaction(work)

    def _propose(
        self,
        conn: Connection,
        principal: Principal,
        key: str,
        act: Act,
        terms: _Terms,
        *,
        seller: str,
        funder: str,
    ) -> FinancingOffer:
        request = {**asdict(terms), "seller": seller, "funder": funder}

        def run() -> FinancingOffer:
            orgs = self._orgs(conn, funder)
            require_role(orgs[funder], Role.FUNDER, doing="finance certificates")
            source, cert = self._fragment(conn, terms.fragment_id)
            today = self.today()
            # The offer must be one that could be accepted today.
            plan_split(cert, source, sender=seller, recipient=funder, amount=terms.amount,
                       on=today, rules=self.rules)  # fmt: skip
            quote(terms.amount, terms.rate, on=today, maturity=cert.maturity,
                  day_count=terms.day_count, fee_rate=terms.fee_rate)  # fmt: skip
            offer = FinancingOffer(
                id=0,
                fragment_id=terms.fragment_id,
                seller=seller,
                funder=funder,
                proposer=principal.org,
                currency=cert.currency,
                amount=terms.amount,
                rate=terms.rate,
                day_count=terms.day_count,
                fee_rate=terms.fee_rate,
                recourse=terms.recourse,
                status=OfferStatus.OPEN,
                created_at=self.clock.now_us(),
            )
            offer = replace(offer, id=trust_repo.insert_offer(conn, offer))
            self._audit(conn, "financing_offer", str(offer.id), "offered", principal,
                        {**request, "rate": str(terms.rate)})  # fmt: skip
            return offer

        return self._once(conn, principal, key, act, request, FinancingOffer, run)

    def accept_financing(self, offer_id: int, *, principal: Principal, key: str) -> Financed:
        """The other side accepts an open offer: the fragment moves to the funder and the
        price to the seller (less the platform fee) in one ledger transaction, priced at the
        agreed rate for the days left today."""
        (financed,) = self.accept_financings([offer_id], principal=principal, key=key)
        return financed

    def accept_financings(
        self, offer_ids: Sequence[int], *, principal: Principal, key: str
    ) -> list[Financed]:
        """Accept several offers in one unit of work, all or none."""
        if not offer_ids:
            return []
        request = {"offers": list(offer_ids)}

        def work(conn: Connection) -> list[Financed]:
            offers = self._visible_offers(conn, offer_ids, principal, lock=True)
            for o in offers:
                authorize(principal, Act.ACCEPT_FINANCING, o.counterparty)

            def run() -> list[Financed]:
                for o in offers:
                    check_open(o)
                moves = [
                    Move(o.fragment_id, o.seller, o.funder, o.amount, rate=o.rate,
                         day_count=o.day_count, fee_rate=o.fee_rate, recourse=o.recourse)
                    for o in offers
                ]  # fmt: skip
                moved = self._move(conn, moves, principal.label, self.today())
                now = self.clock.now_us()
                trust_repo.close_offers(
                    conn, [(o.id, OfferStatus.ACCEPTED, m.posting)
                           for o, m in zip(offers, moved, strict=True)], now,
                )  # fmt: skip
                trade_repo.insert_audit(
                    conn,
                    [audit_row("financing_offer", str(o.id), "accepted", principal.label, now,
                               {"ledger_tx": m.posting}) for o, m in zip(offers, moved,
                                                                        strict=True)],
                )  # fmt: skip
                financed = []
                for m in moved:
                    assert m.quote is not None
                    financed.append(Financed(m.fragments, m.quote))
                return financed

            return self._once(
                conn, principal, key, Act.ACCEPT_FINANCING, request, list[Financed], run
            )

        return self.db.transaction(work)

    def withdraw_financing(
        self, offer_id: int, *, principal: Principal, key: str
    ) -> FinancingOffer:
        """The side that proposed an open offer withdraws it."""

        def work(conn: Connection) -> FinancingOffer:
            (offer,) = self._visible_offers(conn, [offer_id], principal, lock=True)
            authorize(principal, Act.WITHDRAW_FINANCING, offer.proposer)

            def run() -> FinancingOffer:
                check_open(offer)
                now = self.clock.now_us()
                trust_repo.close_offers(conn, [(offer.id, OfferStatus.WITHDRAWN, None)], now)
                self._audit(conn, "financing_offer", str(offer.id), "withdrawn", principal)
                return replace(offer, status=OfferStatus.WITHDRAWN)

            request = {"offer": offer_id}
            return self._once(
                conn, principal, key, Act.WITHDRAW_FINANCING, request, FinancingOffer, run
            )

        return self.db.transaction(work)

    def _visible_offers(
        self, conn: Connection, ids: Sequence[int], principal: Principal, *, lock: bool = False
    ) -> list[FinancingOffer]:
        if len(set(ids)) != len(ids):
            raise ValidationError("An offer is named once in a batch.")
        found = trust_repo.offers_by_ids(conn, ids, lock=lock)
        for i in ids:
            if i not in found or not may_see(principal, found[i].seller, found[i].funder):
                raise OfferNotFound(f"No financing offer {i}.")
        return [found[i] for i in ids]

    def financing_offer(self, offer_id: int, *, principal: Principal) -> FinancingOffer:
        """One offer the principal made or received."""
        return self.db.transaction(
            lambda c: self._visible_offers(c, [offer_id], principal)[0], readonly=True
        )

    def financing_offers(
        self, *, principal: Principal, status: OfferStatus | None = None
    ) -> list[FinancingOffer]:
        """Offers the principal made or received (every offer, for the operator and
        auditors)."""
        org = None if principal.sees_everything else principal.org
        return self.db.transaction(
            lambda c: trust_repo.list_offers(c, org, status.value if status else None),
            readonly=True,
        )

    def _move(
        self,
        conn: Connection,
        moves: Sequence[Move],
        actor: str,
        on: date,
        sources: dict[int, Fragment] | None = None,
    ) -> list[Moved]:
        """Transfers and financings whose parties have already been checked, on ``on``
        (``sources``: the fragments moved, if the caller loaded them already)."""
        now = self.clock.now_us()
        ids = [m.fragment_id for m in moves]
        if len(set(ids)) != len(ids):
            raise FragmentNotActive("A fragment can move only once in a batch.")
        if sources is None:
            sources = repo.fragments_by_ids(conn, ids)
        missing = [i for i in ids if i not in sources]
        if missing:
            raise FragmentNotFound(f"No fragment {missing[0]}.")
        certs = repo.certificates_by_ids(conn, {f.certificate_id for f in sources.values()})
        orgs = self._orgs(conn, *sorted({o for m in moves for o in (m.sender, m.recipient)}))
        relations = trade_repo.relationships(
            conn, {(m.sender, m.recipient) for m in moves if m.rate is None}
        )
        # Every credit line a move draws or frees, locked (in key order), used tracked here.
        keys = set()
        for m in moves:
            cert = certs[sources[m.fragment_id].certificate_id]
            keys |= {
                (m.sender, cert.obligor, cert.currency),
                (m.recipient, cert.obligor, cert.currency),
            }
        lines = {}
        for key in sorted(keys):
            line = repo.credit_line(conn, *key, lock=True)
            if line is not None:
                lines[key] = line
        used = {key: line.used for key, line in lines.items()}
        plans = []
        for m in moves:
            source = sources[m.fragment_id]
            cert = certs[source.certificate_id]
            q = None
            if m.rate is None:
                require_trade(relations.get((m.sender, m.recipient)), m.sender, m.recipient)
                self._trade_reference(conn, m.sender, m.recipient, m.reference or "")
            else:
                require_role(orgs[m.recipient], Role.FUNDER, doing="finance certificates")
                key = (m.recipient, cert.obligor, cert.currency)
                if key not in lines:
                    raise CreditLineNotFound(f"{m.recipient} has no credit line to {cert.obligor}.")
                used[key] = draw(replace(lines[key], used=used[key]), m.amount, on=on)
            split = plan_split(
                cert,
                source,
                sender=m.sender,
                recipient=m.recipient,
                amount=m.amount,
                on=on,
                rules=self.rules,
            )
            if m.rate is not None:
                q = quote(
                    m.amount,
                    m.rate,
                    on=on,
                    maturity=cert.maturity,
                    day_count=m.day_count,
                    fee_rate=m.fee_rate,
                )
            # A funder that passes a fragment on frees that much of its line to the obligor.
            freed = (m.sender, cert.obligor, cert.currency)
            if used.get(freed):
                used[freed] = release(used[freed], min(m.amount, used[freed]))
            plans.append((m, source, cert, split, q))
        if not repo.spend_many(conn, ids):
            raise FragmentNotActive("A fragment was moved by someone else first.")
        fresh = iter(repo.next_fragment_ids(conn, sum(2 if p[3].change else 1 for p in plans)))
        accounts = _Accounts(
            self,
            conn,
            [c.unit for c in certs.values()],
            sorted({c.currency for c in certs.values()}),
            [o for m in moves for o in (m.sender, m.recipient)],
        )
        held_ = BalanceConstraint.CREDITS_MUST_NOT_EXCEED_DEBITS
        cash_ = BalanceConstraint.DEBITS_MUST_NOT_EXCEED_CREDITS
        accounts.open_missing(
            [
                (org, cert.unit, "asset", "held", held_)
                for m, _, cert, _, _ in plans
                for org in (m.sender, m.recipient)
            ]
            + [
                (org, cert.currency, "liability", "cash", cash_)
                for m, _, cert, _, q in plans
                if q is not None
                for org in (m.sender, m.recipient)
            ]
        )
        made_all: list[Fragment] = []
        requests = []
        for m, source, cert, split, q in plans:
            made = []
            for f in children(split, first_id=0):
                fid = next(fresh)
                made.append(replace(f, id=fid, path=f"{source.path}/{fid}"))
            if q is not None and m.recourse:
                made[0] = replace(made[0], recourse_to=m.sender)
            made_all += made
            legs = [
                Leg(accounts.held(m.recipient, cert), Side.DEBIT, m.amount),
                Leg(accounts.held(m.sender, cert), Side.CREDIT, m.amount),
            ]
            if q is not None:
                legs += [
                    Leg(accounts.cash(m.recipient, cert.currency), Side.DEBIT, q.price),
                    Leg(accounts.cash(m.sender, cert.currency), Side.CREDIT, q.to_seller),
                ]
                if q.fee:
                    legs.append(Leg(accounts.fees(cert.currency), Side.CREDIT, q.fee))
            ref = m.reference if q is None else f"financing at {m.rate} {m.day_count.value}"
            requests.append(make_request(key=f"frag:{source.id}:move", legs=legs, ref=ref))
        repo.insert_fragments(conn, made_all, now)
        postings = self._post_all(conn, requests)
        for key, value in used.items():
            if value != lines[key].used:
                repo.set_credit_used(conn, lines[key].id, value)
        results = []
        made_iter = iter(made_all)
        financings = []
        audit = []
        for (m, source, _cert, split, q), posting in zip(plans, postings, strict=True):
            made = [next(made_iter) for _ in range(2 if split.change else 1)]
            results.append(Moved(tuple(made), q, posting))
            if q is not None:
                financings.append(
                    {
                        "fragment_id": made[0].id,
                        "seller": m.sender,
                        "funder": m.recipient,
                        "face": m.amount,
                        "rate": str(m.rate),
                        "day_count": m.day_count.value,
                        "days": q.days,
                        "discount": q.discount,
                        "fee": q.fee,
                        "recourse": m.recourse,
                        "financed_on": on,
                        "ledger_tx": posting,
                    }
                )
            audit.append(
                audit_row(
                    "fragment",
                    str(source.id),
                    "financed" if q is not None else "transferred",
                    actor,
                    now,
                    {"to": m.recipient, "amount": m.amount, "made": [f.id for f in made]},
                )
            )
        repo.insert_financings(conn, financings)
        trade_repo.insert_audit(conn, audit)
        return results

    # ------------------------------------------------------------ settlement

    def settle(self, *, principal: Principal, key: str, chunk: int = 500) -> SettlementRun:
        """The operator's settlement run for today: every certificate due (maturity today or
        earlier) is settled: the obligor pays the total outstanding in one posting and every
        holder is paid. If the obligor's cash is short nothing of that certificate is paid;
        once its maturity has passed it and its fragments are overdue (penalty interest
        accrues: a later run pays it with the face) and recourse claims are opened against
        those who sold fragments with recourse. Certificates go ``chunk`` to a database
        transaction, each its own ledger posting, all or nothing for each.

        A run spans several transactions, so its key is recorded with the last one; a run
        repeated after a crash part-way settles only what is still due, which is the same."""
        authorize(principal, Act.RUN_SETTLEMENT)
        on = self.today()
        request = {"on": on}
        if self._key_used(principal, key):  # a replay, or a conflict
            return self.db.transaction(
                lambda conn: self._once(
                    conn,
                    principal,
                    key,
                    Act.RUN_SETTLEMENT,
                    request,
                    SettlementRun,
                    _recorded_already,
                )
            )
        run = SettlementRun(on=on)
        after = 0
        while True:
            due = self._due_page(on, chunk, after)
            if not due:
                break
            ids = [c.id for c in due]
            self._settle_chunk_in_transaction(ids, on, principal.label, run)
            after = ids[-1]
        return self.db.transaction(
            lambda conn: self._once(
                conn, principal, key, Act.RUN_SETTLEMENT, request, SettlementRun, lambda: run
            )
        )

    def _key_used(self, principal: Principal, key: str) -> bool:
        return self.db.transaction(
            lambda c: trust_repo.recorded(c, principal.org, key) is not None, readonly=True
        )

    def _due_page(self, on: date, chunk: int, after: int) -> list[Certificate]:
        def read(conn: Connection) -> list[Certificate]:
            return repo.due_certificates(conn, on, chunk, after_id=after)

        return self.db.transaction(read, readonly=True)

    def _settle_chunk_in_transaction(
        self, ids: list[int], on: date, actor: str, run: SettlementRun
    ) -> None:
        def work(conn: Connection) -> None:
            self._settle_chunk(conn, ids, on, actor, run)

        self.db.transaction(work)

    def _settle_chunk(
        self, conn: Connection, ids: list[int], on: date, actor: str, run: SettlementRun
    ) -> None:
        now = self.clock.now_us()
        # Under the row locks, only what is still due (a concurrent run may have been first).
        certs = [
            c
            for c in repo.due_certificates(conn, on, len(ids), after_id=ids[0] - 1, lock=True)
            if c.id <= ids[-1]
        ]
        if not certs:
            return
        by_cert: dict[int, list[Fragment]] = defaultdict(list)
        live = {FragmentStatus.ACTIVE, FragmentStatus.OVERDUE}
        for f in repo.fragments_of(conn, [c.id for c in certs]):
            if f.status in live:
                by_cert[f.certificate_id].append(f)
        accounts = _Accounts(
            self,
            conn,
            [c.unit for c in certs],
            sorted({c.currency for c in certs}),
            [c.obligor for c in certs] + [f.holder for fs in by_cert.values() for f in fs],
        )
        requests = []
        plans = []
        for cert in certs:
            frags = by_cert[cert.id]
            try:
                check_settleable(cert, frags)
                payouts = maturity_payouts(
                    frags, maturity=cert.maturity, on=on, penalty_rate=self.penalty_rate
                )
                legs = accounts.payout_legs(cert, frags, payouts)
                request = make_request(
                    key=f"cert:{cert.number}:settle:{on.isoformat()}",
                    legs=legs,
                    ref=f"settlement of {cert.number}",
                )
            except CapillaryError as exc:
                run.failed.append((cert.number, f"{exc.code}: {exc.message}"))
                continue
            requests.append(request)
            plans.append((cert, frags, payouts))
        result = self.ledger.submit_in(conn, requests, atomic=False)
        refused: set[int] = set()
        for item in result.errors:
            refused.add(item.index)
            cert = plans[item.index][0]
            cash_short = isinstance(item.error, DebitsExceedCredits) and item.error.account == (
                f"{cert.obligor}:cash:{cert.currency}"
            )
            if not cash_short:  # not the obligor's cash: an inconsistency in this one
                run.failed.append((cert.number, f"{item.error.code}: {item.error.message}"))
        failed = {number for number, _ in run.failed}
        short = [(c, f, p) for i, (c, f, p) in enumerate(plans)
                 if i in refused and c.number not in failed]  # fmt: skip
        paid = [(c, f, p) for i, (c, f, p) in enumerate(plans) if i not in refused]
        self._mark_settled(conn, paid)
        # Overdue only once the maturity has passed unpaid: on the day itself it is just due.
        newly_overdue = [
            (c, f, p)
            for c, f, p in short
            if c.status is CertificateStatus.ACTIVE and on > c.maturity
        ]
        if newly_overdue:
            overdue_ids = [c.id for c, _, _ in newly_overdue]
            repo.set_certificate_status(conn, overdue_ids, CertificateStatus.OVERDUE)
            repo.set_fragments_status(
                conn, overdue_ids, from_=["active"], to=FragmentStatus.OVERDUE
            )
            repo.insert_recourse_claims(
                conn,
                [
                    {
                        "fragment_id": f.id,
                        "claimant": f.holder,
                        "debtor": f.recourse_to,
                        "amount": f.amount,
                        "status": "open",
                        "created_at": now,
                    }
                    for _, frags, _ in newly_overdue
                    for f in frags
                    if f.recourse_to is not None
                ],
            )
        trade_repo.insert_audit(
            conn,
            [
                audit_row(
                    "certificate",
                    c.number,
                    "settled",
                    actor,
                    now,
                    {"paid": sum(p.values()), "holders": dict(p)},
                )
                for c, _, p in paid
            ]
            + [
                audit_row("certificate", c.number, "overdue", actor, now, {"due": sum(p.values())})
                for c, _, p in newly_overdue
            ],
        )
        run.settled += [c.number for c, _, _ in paid]
        run.overdue += [c.number for c, _, _ in short if on > c.maturity]
        run.unpaid += [c.number for c, _, _ in short if on <= c.maturity]
        run.paid += sum(sum(p.values()) for _, _, p in paid)
        for c, _, p in paid:
            run.paid_by_currency[c.currency] = run.paid_by_currency.get(c.currency, 0) + sum(
                p.values()
            )
        run.fragments += sum(len(f) for _, f, _ in paid)

    def _mark_settled(
        self, conn: Connection, paid: Sequence[tuple[Certificate, list[Fragment], dict[str, int]]]
    ) -> None:
        """After the postings: fragments and certificates settled, the funders' credit and the
        obligors' issuance limits freed."""
        if not paid:
            return
        ids = [c.id for c, _, _ in paid]
        repo.set_fragments_status(conn, ids, from_=["active", "overdue"], to=FragmentStatus.SETTLED)
        repo.close_claims_of(conn, ids, "paid_by_obligor")  # the claim's ground is gone
        repo.set_certificate_status(conn, ids, CertificateStatus.SETTLED)
        credit: dict[tuple[str, str, str], int] = defaultdict(int)
        issued: dict[tuple[str, str], int] = defaultdict(int)
        for cert, frags, _ in paid:
            issued[(cert.obligor, cert.currency)] += cert.face
            for f in frags:
                credit[(f.holder, cert.obligor, cert.currency)] += f.amount
        for (holder, obligor, cur), amount in credit.items():
            line = repo.credit_line(conn, holder, obligor, cur, lock=True)
            if line is not None and line.used:
                repo.set_credit_used(conn, line.id, release(line.used, min(amount, line.used)))
        for (obligor, cur), amount in issued.items():
            limit = repo.issuance_limit(conn, obligor, cur, lock=True)
            if limit is not None:
                repo.set_issuance_used(
                    conn, obligor, cur, release(limit.used, min(amount, limit.used))
                )

    def pay_early(
        self,
        number: str,
        *,
        principal: Principal,
        rate: Decimal,
        key: str,
        day_count: DayCount = DayCount.ACT_360,
    ) -> int:
        """Dynamic discounting: the obligor pays every holder today, from its own cash, each
        fragment at its amount less the discount at ``rate`` to maturity. Returns the total."""
        within(rate, self.rules.discount_rates)

        def work(conn: Connection) -> int:
            cert, _ = self._visible_certificate(conn, number, principal, lock=True)
            authorize(principal, Act.PAY_EARLY, cert.obligor)

            def run() -> int:
                on = self.today()
                if cert.status is not CertificateStatus.ACTIVE:
                    raise FragmentNotActive(f"Certificate {number} is {cert.status.value}.")
                if on >= cert.maturity:
                    raise MaturityReached(f"Certificate {number} is due; settle it instead.")
                frags = self._live_fragments(conn, cert)
                days = (cert.maturity - on).days
                payouts = early_payouts(frags, rate=rate, days=days, day_count=day_count)
                total = self._pay_out(conn, cert, frags, payouts, key=f"early:{on.isoformat()}")
                self._audit(conn, "certificate", number, "paid_early", principal,
                            {"rate": str(rate), "days": days, "paid": total})  # fmt: skip
                return total

            request = {"number": number, "rate": rate, "day_count": day_count.value}
            return self._once(conn, principal, key, Act.PAY_EARLY, request, int, run)

        return self.db.transaction(work)

    def _live_fragments(self, conn: Connection, cert: Certificate) -> list[Fragment]:
        live = {FragmentStatus.ACTIVE, FragmentStatus.OVERDUE}
        return [f for f in repo.fragments_of(conn, [cert.id]) if f.status in live]

    def _pay_out(
        self,
        conn: Connection,
        cert: Certificate,
        frags: Sequence[Fragment],
        payouts: dict[str, int],
        *,
        key: str,
    ) -> int:
        """The obligor pays ``payouts`` in one posting that also retires the certificate's
        unit; then :meth:`_mark_settled`. All or nothing: a cash shortfall raises
        :class:`InsufficientCash` before any write."""
        accounts = _Accounts(self, conn, [cert.unit], [cert.currency], [cert.obligor, *payouts])
        legs = accounts.payout_legs(cert, frags, payouts)
        self._post(conn, f"cert:{cert.number}:{key}", legs, f"payment of certificate {cert.number}")
        self._mark_settled(conn, [(cert, list(frags), payouts)])
        return sum(payouts.values())

    # ------------------------------------------------------------ reading

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

    def certificate(self, number: str, *, principal: Principal) -> Certificate:
        return self.db.transaction(
            lambda c: self._visible_certificate(c, number, principal)[0], readonly=True
        )

    def certificate_of(self, fragment_id: int, *, principal: Principal) -> Certificate:
        """The certificate a (visible) fragment belongs to."""
        return self.db.transaction(
            lambda c: self._visible_fragment(c, fragment_id, principal)[1], readonly=True
        )

    def certificates(
        self, *, principal: Principal, org: str | None = None, limit: int = 100
    ) -> list[Certificate]:
        """Certificates the principal is a party to (of ``org``, for those who see all)."""
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        return self.db.transaction(lambda c: repo.list_certificates(c, org, limit), readonly=True)

    def fragments(self, number: str, *, principal: Principal) -> list[Fragment]:
        """What the principal may see of a certificate's tree."""

        def work(conn: Connection) -> list[Fragment]:
            cert, _ = self._visible_certificate(conn, number, principal)
            return visible_fragments(principal, cert, repo.fragments_of(conn, [cert.id]))

        return self.db.transaction(work, readonly=True)

    def lineage(self, fragment_id: int, *, principal: Principal) -> list[Fragment]:
        """The fragments from the root down to ``fragment_id``."""

        def work(conn: Connection) -> list[Fragment]:
            f, _, tree = self._visible_fragment(conn, fragment_id, principal)
            by_id = {x.id: x for x in tree}
            return [by_id[int(i)] for i in f.path.split("/")]

        return self.db.transaction(work, readonly=True)

    def holdings(self, org: str, *, principal: Principal) -> list[Fragment]:
        if not may_see(principal, org):
            return []
        return self.db.transaction(lambda c: repo.held_by(c, org), readonly=True)

    def recourse_claims(
        self, org: str | None = None, *, principal: Principal
    ) -> list[dict[str, Any]]:
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        return self.db.transaction(lambda c: repo.recourse_claims(c, org), readonly=True)

    def collect_recourse(self, claim_id: int, *, principal: Principal, key: str) -> int:
        """The claimant (a funder that bought with recourse) collects an open claim from the
        seller: in one ledger transaction the seller's cash pays the claim and the overdue
        fragment returns to the seller, whose claim on the obligor it now is; the funder's
        credit line is freed. Returns the ledger transaction."""

        def work(conn: Connection) -> int:
            claim = repo.recourse_claim(conn, claim_id, lock=True)
            if claim is None or not may_see(principal, claim["claimant"], claim["debtor"]):
                raise ClaimNotFound(f"No recourse claim {claim_id}.")
            authorize(principal, Act.COLLECT_RECOURSE, claim["claimant"])

            def run() -> int:
                if claim["status"] != "open":
                    raise ClaimNotOpen(f"Recourse claim {claim_id} is {claim['status']}.")
                # The certificate's row lock serializes this with its settlement.
                fragment, cert = self._fragment(conn, claim["fragment_id"])
                self._certificate(conn, cert.number, lock=True)
                if fragment.status is not FragmentStatus.OVERDUE:
                    raise ClaimNotOpen(
                        f"Fragment {fragment.id} of claim {claim_id} is {fragment.status.value}."
                    )
                amount, funder, seller = claim["amount"], claim["claimant"], claim["debtor"]
                legs = [
                    Leg(self._cash(conn, seller, cert.currency), Side.DEBIT, amount),
                    Leg(self._cash(conn, funder, cert.currency), Side.CREDIT, amount),
                    Leg(self._held(conn, seller, cert), Side.DEBIT, fragment.amount),
                    Leg(self._held(conn, funder, cert), Side.CREDIT, fragment.amount),
                ]
                tx = self._post(conn, f"claim:{claim_id}:collect", legs,
                                f"recourse claim {claim_id} on {cert.number}")  # fmt: skip
                repo.return_fragment(conn, fragment.id, seller)
                repo.set_claim_status(conn, claim_id, "collected")
                line = repo.credit_line(conn, funder, cert.obligor, cert.currency, lock=True)
                if line is not None and line.used:
                    repo.set_credit_used(
                        conn, line.id, release(line.used, min(fragment.amount, line.used))
                    )
                detail = {"amount": amount, "from": seller, "fragment": fragment.id}
                self._audit(conn, "recourse_claim", str(claim_id), "collected", principal, detail)
                return tx

            request = {"claim": claim_id}
            return self._once(conn, principal, key, Act.COLLECT_RECOURSE, request, int, run)

        return self.db.transaction(work)

    def penalty_due(self, number: str, *, principal: Principal) -> int:
        """Penalty interest accrued to today on the certificate's overdue fragments (what
        the principal may see of them)."""
        cert = self.certificate(number, principal=principal)
        live = [
            f
            for f in self.fragments(number, principal=principal)
            if f.status is FragmentStatus.OVERDUE
        ]
        late = max(0, (self.today() - cert.maturity).days)
        return sum(penalty_interest(f.amount, self.penalty_rate, late) for f in live)


def _recorded_already() -> SettlementRun:
    raise AssertionError("a recorded key runs nothing")


def _ledger_key(use_case: str, principal: Principal, key: str) -> str:
    """The ledger's own (global) key for a posting made under ``key`` of the principal's
    organization."""
    digest = hashlib.sha256(f"{principal.org}\0{key}".encode()).hexdigest()[:32]
    return f"{use_case}:{digest}"


class _Accounts:
    """The accounts a use case touches, looked up in bulk within one unit of work (the
    certificate units' held and issued accounts, the cash and fee accounts of the
    currencies), opening any that is missing."""

    def __init__(
        self,
        service: CertificateService,
        conn: Connection,
        units: Sequence[str],
        currencies: Sequence[str],
        orgs: Sequence[str],
    ) -> None:
        self.service = service
        self.conn = conn
        # Only the organizations involved (a platform has many); past a thousand, unfiltered.
        involved = sorted({*orgs, PLATFORM})
        self.orgs: list[str] | None = involved if len(involved) <= 1_000 else None
        self.ids = ledger_repo.account_ids(
            conn, [*units, *currencies], codes=("held", "issued", "cash", "fees"), orgs=self.orgs
        )

    def open_missing(self, needs: Sequence[tuple[str, str, str, str, BalanceConstraint]]) -> None:
        """Open, in one statement, every account of ``needs`` (org, unit, type, code,
        constraint) that does not exist yet."""
        missing = {n[:2] + n[3:4]: n for n in needs if (n[0], n[1], n[3]) not in self.ids}
        if not missing:
            return
        for unit in sorted({n[1] for n in missing.values()}):
            if unit in ISO_4217:  # a currency is registered on first use; certificates at issue
                self.service.ledger.ensure_unit_in(self.conn, currency(unit))
        ledger_repo.insert_accounts(self.conn, list(missing.values()), self.service.clock.now_us())
        units = sorted({n[1] for n in missing.values()})
        self.ids.update(
            ledger_repo.account_ids(
                self.conn, units, codes=("held", "issued", "cash", "fees"), orgs=self.orgs
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
        account: the posting that pays and retires a certificate."""
        total = sum(payouts.values())
        legs = [Leg(self.cash(cert.obligor, cert.currency), Side.DEBIT, total)]
        legs += [
            Leg(self.cash(holder, cert.currency), Side.CREDIT, amount)
            for holder, amount in sorted(payouts.items())
            if amount
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
