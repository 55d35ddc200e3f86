"""Use cases of certificates: issued by an obligor against its confirmed payables, accepted
by the first holder, passed down the chain in fragments, read as each party may see them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.domain import wire
from capillary.domain.access import (
    Act,
    Principal,
    authorize,
    may_see,
    visible_fragments,
)
from capillary.domain.calendar import BusinessCalendar
from capillary.domain.certificates import (
    Certificate,
    CertificateStatus,
    Fragment,
    check_pending,
    plan_issue,
    root,
)
from capillary.domain.credit import issue_within, release
from capillary.domain.errors import (
    FragmentNotFound,
    NoIssuanceLimit,
    PayableNotFound,
)
from capillary.domain.events import EventType, certificate_event
from capillary.domain.ledger import (
    BalanceConstraint,
    Leg,
    Side,
    TransactionKind,
    make_request,
)
from capillary.domain.units import currency, instrument
from capillary.services.certificate_steps import CertificateSteps
from capillary.services.loop_core import Accounts
from capillary.services.moves import FragmentMover, Move, Moved, load_moves
from capillary.services.outbox import emit
from capillary.services.outcomes import audit_row


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
class Transfer:
    """Paying a supplier with (part of) a fragment, naming the trade it pays for."""

    fragment_id: int
    recipient: str
    amount: int
    reference: str


class CertificateService(FragmentMover, CertificateSteps):
    """Issue, accept, cancel and transfer certificates; read them as the principal may."""

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

    def issue_for_payable(self, payable_id: int, *, principal: Principal, key: str) -> Issued:
        """The obligor issues a certificate for what is still open of one of its payables:
        to the payable's supplier, due on its due date, in its currency. The request is the
        payable alone, so that the same key sent again replays the certificate it made."""
        authorize(principal, Act.ISSUE_CERTIFICATE, principal.org)

        def work(conn: Connection) -> Issued:
            def run() -> Issued:
                found = invoice_repo.payable(conn, payable_id, lock=True)
                if found is None or found.buyer != principal.org:
                    raise PayableNotFound(f"No payable {payable_id} of yours.")
                request = IssueRequest(
                    found.buyer, found.supplier, (found.id,), found.open_amount,
                    found.due_date, found.currency,
                )  # fmt: skip
                (issued,) = self._issue(conn, [request], principal)
                return issued

            return self._once(conn, principal, key, Act.ISSUE_CERTIFICATE,
                              {"payable": payable_id}, Issued, run)  # fmt: skip

        return self.db.transaction(work)

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
            found = invoice_repo.payable(conn, pid, lock=True)
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
        account_repo.insert_units(
            conn,
            [
                instrument(
                    c.unit, exponent=currency(c.currency).exponent, name=f"{c.obligor} certificate"
                )
                for c in certs
            ],
        )
        accounts = Accounts(
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
            invoice_repo.set_open_amount(conn, pid, payables[pid].open_amount)
        invoice_repo.insert_audit(
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
        emit(conn, [certificate_event(EventType.CERTIFICATE_ISSUED, c, now,
                                      {"warnings": list(plan.warnings)})
                    for c, (_, _, plan) in zip(certs, plans, strict=True)])  # fmt: skip
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
                now = self.clock.now_us()
                first = root(cert, repo.next_fragment_ids(conn, 1)[0])
                repo.insert_fragments(conn, [first], now)
                repo.set_certificate_status(conn, cert.id, CertificateStatus.ACTIVE)
                self._audit(conn, "certificate", number, "accepted", principal)
                active = replace(cert, status=CertificateStatus.ACTIVE)
                told = {"fragment": wire.fragment(first, active)}
                emit(conn, [certificate_event(EventType.CERTIFICATE_ACCEPTED, active, now, told)])
                return active

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
                    p = invoice_repo.payable(conn, payable_id, lock=True)
                    assert p is not None
                    invoice_repo.set_open_amount(conn, payable_id, p.open_amount + amount)
                repo.set_certificate_status(conn, cert.id, CertificateStatus.CANCELLED)
                self._audit(conn, "certificate", number, "cancelled", principal,
                            {"reason": reason})  # fmt: skip
                cancelled = replace(cert, status=CertificateStatus.CANCELLED)
                at = self.clock.now_us()
                reasoned = {"reason": reason}
                emit(conn, [certificate_event(EventType.CERTIFICATE_CANCELLED, cancelled, at,
                                              reasoned)])  # fmt: skip
                return cancelled

            request = {"number": number, "reason": reason}
            return self._once(
                conn, principal, key, Act.CANCEL_CERTIFICATE, request, Certificate, run
            )

        return self.db.transaction(work)

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
                moves = [
                    Move(t.fragment_id, principal.org, t.recipient, t.amount,
                         reference=t.reference)
                    for t in transfers
                ]  # fmt: skip
                loaded = load_moves(conn, moves)
                sources, certs = loaded.fragments, loaded.certificates
                missing = [t.fragment_id for t in transfers if t.fragment_id not in sources]
                if missing:
                    raise FragmentNotFound(f"No fragment {missing[0]}.")
                foreign = [f for f in sources.values() if f.holder != principal.org]
                if foreign or principal.is_auditor:
                    f = (foreign or list(sources.values()))[0]
                    cert = certs[f.certificate_id]
                    self._refuse_unless_holder(conn, principal, f, cert, Act.TRANSFER)
                authorize(principal, Act.TRANSFER, principal.org)
                return self._move(conn, moves, principal.label, self.today(), loaded)

            return self._once(conn, principal, key, Act.TRANSFER, request, list[Moved], run)

        return self.db.transaction(work)

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
        self, *, principal: Principal, org: str | None = None, limit: int = 100,
        before: int | None = None, status: CertificateStatus | None = None,
        obligor: str | None = None, currency: str | None = None,
        maturity_from: date | None = None, maturity_to: date | None = None,
    ) -> list[Certificate]:  # fmt: skip
        """Certificates the principal is a party to (of ``org``, for those who see all),
        newest first, before id ``before``."""
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        return self.db.transaction(
            lambda c: repo.list_certificates(c, org, limit, before=before,
                                             status=status.value if status else None,
                                             obligor=obligor, currency=currency,
                                             maturity_from=maturity_from,
                                             maturity_to=maturity_to),
            readonly=True,
        )  # fmt: skip

    def held(
        self, org: str, *, principal: Principal, after: int = 0, limit: int | None = None
    ) -> list[tuple[Fragment, Certificate]]:
        """The active fragments ``org`` holds, each with its certificate (read in bulk), in
        id order: a page after id ``after``, ``limit`` of them."""
        if not may_see(principal, org):
            return []

        def read(conn: Connection) -> list[tuple[Fragment, Certificate]]:
            frags = repo.held_by(conn, org, after=after, limit=limit)
            certs = repo.certificates_by_ids(conn, {f.certificate_id for f in frags})
            return [(f, certs[f.certificate_id]) for f in frags]

        return self.db.transaction(read, readonly=True)

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
