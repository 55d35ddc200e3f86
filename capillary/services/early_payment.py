"""Early payment as a market (DESIGN.md §6, dynamic discounting as C2FO runs it): an obligor
offers its own cash up to an amount at a hurdle APR; holders of its certificates bid the APR
they give up; before committing, a bidder sees whether its bid clears now, the rate the last
clearing cleared at, and a rate that clears now for certain; the obligor's clearing run pays
the best bids first until the cash is spent. Each cleared bid is the obligor buying that much
of its own certificate back at the bid's APR: one move through the ledger with the rest of
the run, the holder paid the face less the discount."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import market_repository as repo
from capillary.adapters.move_queries import MoveContext
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.certificates import FragmentStatus
from capillary.domain.errors import (
    FragmentNotActive,
    OfferClosed,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.events import bid_cleared_events
from capillary.domain.market import (
    BidRecord,
    Clearing,
    EarlyPaymentOffer,
    Programme,
    Status,
    certain_rate,
    clear,
)
from capillary.domain.pricing import within
from capillary.domain.units import describe
from capillary.services.moves import FragmentMover, Move, load_moves
from capillary.services.outbox import emit


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a bidder sees before it commits."""

    clearing_now: int  # face of its bid that would clear in a run now
    clearing_rate: Decimal | None  # the lowest APR that would clear now
    last_rate: Decimal | None  # what the last run cleared at: the trend
    certain_rate: Decimal | None  # an APR at which its whole bid clears now for certain


class EarlyPaymentService(FragmentMover):
    def offer(
        self, *, principal: Principal, cash: int, currency: str, hurdle: Decimal,
        expires_on: date, key: str,
    ) -> EarlyPaymentOffer:  # fmt: skip
        """The obligor offers up to ``cash`` of its own for early payment at ``hurdle`` APR
        or better, until ``expires_on``."""
        authorize(principal, Act.OFFER_EARLY_PAYMENT, principal.org)
        hurdle = within(hurdle, self.rules.discount_rates)
        request = {"cash": cash, "currency": currency, "hurdle": str(hurdle),
                   "expires_on": expires_on}  # fmt: skip

        def work(conn: Connection) -> EarlyPaymentOffer:
            def run() -> EarlyPaymentOffer:
                if cash < self.rules.min_fragment:
                    least = describe(self.rules.min_fragment, currency)
                    raise ValidationError(f"An early-payment offer is of at least {least}.")
                if expires_on < self.today():
                    raise ValidationError(f"An offer ending {expires_on} is over already.")
                made = repo.insert_programme(
                    conn, obligor=principal.org, currency=currency, cash=cash, hurdle=hurdle,
                    expires_on=expires_on, now=self.clock.now_us(), by=principal.label,
                )  # fmt: skip
                self._audit(conn, "early_payment", str(made.id), "offered", principal, request)
                return made

            return self._once(conn, principal, key, Act.OFFER_EARLY_PAYMENT, request,
                              EarlyPaymentOffer, run)  # fmt: skip

        return self.db.transaction(work)

    def _visible(
        self, conn: Connection, programme_id: int, principal: Principal, *, lock: bool = False
    ) -> EarlyPaymentOffer:
        """An offer its obligor, the holders of its certificates and those who see all may
        see; to anyone else it does not exist."""
        found = repo.programme(conn, programme_id, lock=lock)
        if found is not None and (
            principal.sees_everything or found.obligor == principal.org
            or principal.org in repo.holders_of(conn, found.obligor)
        ):  # fmt: skip
            return found
        raise OfferNotFound(f"No early-payment offer {programme_id}.")

    def programmes(self, *, principal: Principal) -> list[EarlyPaymentOffer]:
        """An obligor's own offers, newest first; everyone's, for those who see all."""
        obligors = None if principal.sees_everything else [principal.org]
        found = self.db.transaction(lambda c: repo.programmes(c, obligors), readonly=True)
        return found[::-1]

    def programme(self, programme_id: int, *, principal: Principal) -> EarlyPaymentOffer:
        return self.db.transaction(
            lambda c: self._visible(c, programme_id, principal), readonly=True
        )

    def bid(
        self, programme_id: int, *, principal: Principal, fragment_id: int, amount: int,
        apr: Decimal, key: str,
    ) -> BidRecord:  # fmt: skip
        """A holder bids the APR it gives up to be paid (part of) a fragment now."""
        apr = within(apr, self.rules.discount_rates)
        request = {"programme": programme_id, "fragment": fragment_id, "amount": amount,
                   "apr": str(apr)}  # fmt: skip

        def work(conn: Connection) -> BidRecord:
            found = self._visible(conn, programme_id, principal)
            source, cert = self._fragment(conn, fragment_id)
            self._refuse_unless_holder(conn, principal, source, cert, Act.BID_EARLY_PAYMENT)

            def run() -> BidRecord:
                if found.status is not Status.OPEN or found.expires_on < self.today():
                    raise OfferClosed(f"Early-payment offer {programme_id} is closed.")
                if cert.obligor != found.obligor or cert.currency != found.currency:
                    raise ValidationError(
                        f"Offer {programme_id} pays {found.obligor}'s certificates in "
                        f"{found.currency}; fragment {fragment_id} is not one."
                    )
                if source.status is not FragmentStatus.ACTIVE:
                    raise FragmentNotActive(f"Fragment {fragment_id} is {source.status.value}.")
                least, rest = self.rules.min_fragment, source.amount - amount
                if amount < least or amount > source.amount or 0 < rest < least:
                    raise ValidationError(
                        f"A bid is for {describe(least, cert.currency)} to the whole fragment, "
                        f"leaving none or at least {describe(least, cert.currency)}."
                    )
                if any(b.fragment_id == fragment_id
                       for b in repo.bids(conn, programme_id, status=Status.OPEN)):  # fmt: skip
                    raise ValidationError(f"Fragment {fragment_id} has an open bid already.")
                made = repo.insert_bid(conn, programme_id=programme_id, holder=principal.org,
                                       fragment_id=fragment_id, amount=amount, apr=apr,
                                       now=self.clock.now_us(), by=principal.label)  # fmt: skip
                self._audit(conn, "early_payment_bid", str(made.id), "bid", principal, request)
                return made

            return self._once(conn, principal, key, Act.BID_EARLY_PAYMENT, request, BidRecord,
                              run)  # fmt: skip

        return self.db.transaction(work)

    def bids(self, programme_id: int, *, principal: Principal) -> list[BidRecord]:
        """Every bid for the obligor (and those who see all); a holder its own."""

        def read(conn: Connection) -> list[BidRecord]:
            found = self._visible(conn, programme_id, principal)
            mine = principal.sees_everything or found.obligor == principal.org
            return repo.bids(conn, programme_id, holder=None if mine else principal.org)

        return self.db.transaction(read, readonly=True)

    def _book(
        self, conn: Connection, found: EarlyPaymentOffer
    ) -> tuple[Programme, list[tuple[BidRecord, date]], MoveContext]:
        """The programme as it can pay now (within its cash left and the obligor's cash),
        its open bids with their certificates' maturities, and what paying them needs read
        (the fragments, their certificates, the parties: read once, for the run's moves)."""
        open_ = repo.bids(conn, found.id, status=Status.OPEN)
        probe = [Move(b.fragment_id, b.holder, found.obligor, b.amount, rate=found.hurdle,
                      early_payment=True) for b in open_]  # fmt: skip
        loaded = load_moves(conn, probe)
        frags, certs = loaded.fragments, loaded.certificates
        maturities = {b.id: certs[frags[b.fragment_id].certificate_id].maturity for b in open_}
        ids = account_repo.account_ids(conn, [found.currency], codes=("cash",),
                                       orgs=[found.obligor])  # fmt: skip
        account = ids.get((found.obligor, found.currency, "cash"))
        balance = account_repo.read_balance(conn, account) if account else None
        cash = min(found.cash - found.used, balance.available_credit if balance else 0)
        programme = Programme(found.id, found.obligor, max(0, cash), found.hurdle)
        return programme, [(b, maturities[b.id]) for b in open_], loaded

    def outlook(self, programme_id: int, bid_id: int, *, principal: Principal) -> Outlook:
        """For a bid's holder (or the obligor): would it clear now, at what rate the book
        clears, what the last run cleared at, and an APR that clears it whole for certain."""

        def read(conn: Connection) -> Outlook:
            found = self._visible(conn, programme_id, principal)
            programme, book, _ = self._book(conn, found)
            mine = next(((b, m) for b, m in book if b.id == bid_id), None)
            parties = (mine[0].holder, found.obligor) if mine else ()
            if mine is None or not (principal.sees_everything or principal.org in parties):
                raise OfferNotFound(f"No open bid {bid_id} on offer {programme_id}.")
            today = self.today()
            bids = [b.bid(m) for b, m in book]
            now = clear(programme, bids, on=today, min_fill=self.rules.min_fragment)
            others = [b.bid(m) for b, m in book if b.id != bid_id]
            certain = certain_rate(programme, others, mine[0].amount, mine[1], on=today,
                                   min_fill=self.rules.min_fragment,
                                   ceiling=self.rules.discount_rates.high)  # fmt: skip
            face = sum(c.face for c in now.cleared if c.bid_id == bid_id)
            return Outlook(face, now.rate, found.last_rate, certain)

        return self.db.transaction(read, readonly=True)

    def clear(self, programme_id: int, *, principal: Principal, key: str) -> Clearing:
        """The obligor's clearing run: the best bids first until its cash is spent, each
        paid at once (the obligor buys that much of its certificate back)."""

        def work(conn: Connection) -> Clearing:
            found = self._visible(conn, programme_id, principal, lock=True)
            authorize(principal, Act.CLEAR_EARLY_PAYMENT, found.obligor)

            def run() -> Clearing:
                today = self.today()
                if found.status is not Status.OPEN or found.expires_on < today:
                    raise OfferClosed(f"Early-payment offer {programme_id} is closed.")
                programme, book, loaded = self._book(conn, found)
                by_id = {b.id: b for b, _ in book}
                done = clear(programme, [b.bid(m) for b, m in book], on=today,
                             min_fill=self.rules.min_fragment)  # fmt: skip
                if not done.cleared:
                    return done
                moves = [Move(c.fragment_id, c.holder, found.obligor, c.face, rate=c.apr,
                              early_payment=True) for c in done.cleared]  # fmt: skip
                moved = self._move(conn, moves, principal.label, today, loaded)
                settled = []
                for c, m in zip(done.cleared, moved, strict=True):
                    bid = by_id[c.bid_id]
                    left = bid.amount - bid.face_cleared - c.face
                    rest = m.fragments[1].id if len(m.fragments) > 1 else c.fragment_id
                    settled.append((c.bid_id, c.face, c.paid,
                                    Status.FILLED if left == 0 else Status.OPEN, rest))  # fmt: skip
                repo.settle_bids(conn, settled)
                spent = found.used + done.cash_used
                status = Status.FILLED if spent >= found.cash else Status.OPEN
                repo.set_programme(conn, programme_id, used=spent, last_rate=done.rate,
                                   status=status)  # fmt: skip
                assert done.rate is not None
                at = self.clock.now_us()
                emit(conn, bid_cleared_events(programme_id, found.obligor, found.currency,
                                              done.cleared, done.rate, at))  # fmt: skip
                self._audit(conn, "early_payment", str(programme_id), "cleared", principal,
                            {"bids": [[c.bid_id, c.face, c.paid] for c in done.cleared],
                             "rate": str(done.rate)})  # fmt: skip
                return done

            return self._once(conn, principal, key, Act.CLEAR_EARLY_PAYMENT,
                              {"programme": programme_id}, Clearing, run)  # fmt: skip

        return self.db.transaction(work)
