"""Use cases of financing agreed by both sides: a holder offers to sell (part of) a fragment
or a funder quotes to buy it; the other side accepts and it moves at the agreed price."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal

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
from capillary.domain.certificates import (
    Certificate,
    Fragment,
    plan_split,
)
from capillary.domain.errors import (
    FragmentNotFound,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.events import EventType, offer_event
from capillary.domain.offers import FinancingOffer, OfferStatus, check_open
from capillary.domain.parties import Role, require_role
from capillary.domain.pricing import DayCount, Quote, quote, within
from capillary.services.moves import FragmentMover, Move
from capillary.services.outbox import emit
from capillary.services.outcomes import audit_row


@dataclass(frozen=True, slots=True)
class Financed:
    fragments: tuple[Fragment, ...]  # the funder's, then the seller's change
    quote: Quote
    certificate: Certificate | None = None  # whose fragments these are


@dataclass(frozen=True, slots=True)
class _Terms:
    fragment_id: int
    amount: int
    rate: Decimal
    day_count: DayCount
    fee_rate: Decimal
    recourse: bool


class FinancingService(FragmentMover):
    """Financing offers between a holder and a funder, and their acceptance."""

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
            emit(conn, [offer_event(EventType.FINANCING_OFFERED, offer, offer.created_at)])
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
                invoice_repo.insert_audit(
                    conn,
                    [audit_row("financing_offer", str(o.id), "accepted", principal.label, now,
                               {"ledger_tx": m.posting}) for o, m in zip(offers, moved,
                                                                        strict=True)],
                )  # fmt: skip
                accepted = [replace(o, status=OfferStatus.ACCEPTED, ledger_tx=m.posting)
                            for o, m in zip(offers, moved, strict=True)]  # fmt: skip
                emit(conn, [offer_event(EventType.FINANCING_ACCEPTED, o, now) for o in accepted])
                financed = []
                for m in moved:
                    assert m.quote is not None
                    financed.append(Financed(m.fragments, m.quote, m.certificate))
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
        self,
        *,
        principal: Principal,
        status: OfferStatus | None = None,
        after: int = 0,
        limit: int | None = None,
    ) -> list[FinancingOffer]:
        """Offers the principal made or received (every offer, for the operator and
        auditors)."""
        org = None if principal.sees_everything else principal.org
        return self.db.transaction(
            lambda c: trust_repo.list_offers(
                c, org, status.value if status else None, after=after, limit=limit
            ),
            readonly=True,
        )
