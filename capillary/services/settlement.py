"""Use cases of settlement: the obligor pays once at maturity and every final holder is paid;
early payment at a discount; overdue certificates, penalty interest and recourse claims."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import certificate_repository as repo
from capillary.adapters import invoice_repository as invoice_repo
from capillary.adapters import trust_repository as trust_repo
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
    FragmentStatus,
    check_settleable,
    early_payouts,
    maturity_payouts,
    penalty_interest,
)
from capillary.domain.credit import release
from capillary.domain.errors import (
    CapillaryError,
    ClaimNotFound,
    ClaimNotOpen,
    DebitsExceedCredits,
    FragmentNotActive,
    MaturityReached,
)
from capillary.domain.events import (
    Event,
    EventType,
    claim_event,
    overdue_event,
    settled_events,
)
from capillary.domain.ledger import (
    Leg,
    Side,
    make_request,
)
from capillary.domain.pricing import DayCount, within
from capillary.services.bank import queue_payouts
from capillary.services.loop_core import Accounts, LoopService
from capillary.services.outbox import emit
from capillary.services.outcomes import audit_row


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


class SettlementService(LoopService):
    """Settlement runs, early payment, recourse, and the calendar settlement keeps."""

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
        accounts = Accounts(
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
        events: list[Event] = [
            e
            for c, f, p in paid
            for e in settled_events(replace(c, status=CertificateStatus.SETTLED), f, p, now, on)
        ]
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
            claims = [
                ({"fragment_id": f.id, "claimant": f.holder, "debtor": f.recourse_to,
                  "amount": f.amount, "status": "open", "created_at": now}, c)
                for c, frags, _ in newly_overdue
                for f in frags
                if f.recourse_to is not None
            ]  # fmt: skip
            claim_ids = repo.insert_recourse_claims(conn, [row for row, _ in claims])
            events += [
                overdue_event(replace(c, status=CertificateStatus.OVERDUE), f, sum(p.values()), now)
                for c, f, p in newly_overdue
            ]
            events += [
                claim_event(EventType.RECOURSE_OPENED,
                            {**row, "id": cid, "number": c.number, "currency": c.currency}, now)
                for cid, (row, c) in zip(claim_ids, claims, strict=True)
            ]  # fmt: skip
        invoice_repo.insert_audit(
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
        emit(conn, events)
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
        queue_payouts(self, conn, paid)  # what sweeping holders were paid leaves for their bank
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
                settled = replace(cert, status=CertificateStatus.SETTLED)
                emit(conn, settled_events(settled, frags, payouts, self.clock.now_us(), on))
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
        accounts = Accounts(self, conn, [cert.unit], [cert.currency], [cert.obligor, *payouts])
        legs = accounts.payout_legs(cert, frags, payouts)
        self._post(conn, f"cert:{cert.number}:{key}", legs, f"payment of certificate {cert.number}")
        self._mark_settled(conn, [(cert, list(frags), payouts)])
        return sum(payouts.values())

    def recourse_claims(
        self, org: str | None = None, *, principal: Principal, after: int = 0,
        limit: int | None = None, status: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Claims the principal holds or owes (any, for those who see all), a page at a
        time."""
        if not principal.sees_everything:
            if org is not None and org != principal.org:
                return []
            org = principal.org
        return self.db.transaction(
            lambda c: repo.recourse_claims(c, org, after=after, limit=limit, status=status),
            readonly=True,
        )

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
                collected = {**claim, "status": "collected", "number": cert.number,
                             "currency": cert.currency}  # fmt: skip
                emit(conn, [claim_event(EventType.RECOURSE_COLLECTED, collected,
                                        self.clock.now_us())])  # fmt: skip
                return tx

            request = {"claim": claim_id}
            return self._once(conn, principal, key, Act.COLLECT_RECOURSE, request, int, run)

        return self.db.transaction(work)

    def penalty_due(self, number: str, *, principal: Principal) -> int:
        """Penalty interest accrued to today on the certificate's overdue fragments (what
        the principal may see of them)."""

        def read(conn: Connection) -> tuple[Certificate, list[Fragment]]:
            cert, _ = self._visible_certificate(conn, number, principal)
            return cert, visible_fragments(principal, cert, repo.fragments_of(conn, [cert.id]))

        cert, seen = self.db.transaction(read, readonly=True)
        live = [f for f in seen if f.status is FragmentStatus.OVERDUE]
        late = max(0, (self.today() - cert.maturity).days)
        return sum(penalty_interest(f.amount, self.penalty_rate, late) for f in live)

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


def _recorded_already() -> SettlementRun:
    raise AssertionError("a recorded key runs nothing")
