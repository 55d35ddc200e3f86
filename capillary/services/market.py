"""Use cases of the marketplace (DESIGN.md §6): a holder asks the market to finance (part of)
a fragment at a rate or better; funders with a line to the obligor quote; the holder takes
the best the market offers, each fill an atomic financing through the same move a financing
offer makes (fragment, cash, credit line and fee in one ledger transaction), all fills of a
call in one unit of work. Who may see what: a holder its requests and every quote on them; a
funder the open requests on obligors it has a line to, and its own quotes; operators and
auditors everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from capillary.adapters import market_repository as repo
from capillary.adapters import market_rules_repository as rules_repo
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.certificates import FragmentStatus
from capillary.domain.errors import (
    FragmentNotFound,
    OfferClosed,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.market import (
    Fill,
    FinancingRequest,
    MarketFill,
    MarketQuote,
    Status,
)
from capillary.domain.market_book import book_of, fills_of
from capillary.domain.market_rules import UNRATED, Context, rule_rate
from capillary.domain.market_view import Summary, summarize
from capillary.domain.parties import Role, require_role
from capillary.domain.pricing import within
from capillary.domain.units import describe
from capillary.services.market_execution import MarketExecution


class Unchanged:
    """An amendment leaves this term as it is."""


UNCHANGED = Unchanged()


@dataclass(frozen=True, slots=True)
class Replayed:
    """One execution of a request replayed: the fills recorded when it ran, the fills its
    recorded book gives now, and the fills the book's table holds (source, amount, rate)."""

    execution_id: int
    at: int
    by: str
    recorded: list[Fill]
    replayed: list[Fill]
    booked: list[tuple[int | None, int, Decimal]]

    @property
    def reproduced(self) -> bool:
        ours = [(f.source_id, f.amount, f.rate) for f in self.recorded]
        return self.recorded == self.replayed and ours == self.booked


@dataclass(frozen=True, slots=True)
class Indicative:
    """The best rate the standing rules would quote now, how many would, and the days to
    maturity it is priced over."""

    best_rate: Decimal | None
    quoting: int
    days: int


class MarketService(MarketExecution):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The last view summarized by dimensions, with the stamp it was made at: the
        #: market's history is read again only once something in it changed.
        self._views: dict[tuple[str, ...], tuple[Any, dict[str, list[Summary]]]] = {}

    # ------------------------------------------------------------------ requests

    def request_financing(
        self,
        *,
        principal: Principal,
        fragment_id: int,
        amount: int,
        expires_on: date,
        key: str,
        max_rate: Decimal | None = None,
        flat_discount: Decimal | None = None,
        recourse: bool | None = None,
    ) -> FinancingRequest:
        """The holder asks the market for (part of) a fragment's financing at ``max_rate``
        (an APR) or better — or at ``flat_discount`` off the face, read as the APR it is for
        the days left — until ``expires_on``."""
        request = {"fragment": fragment_id, "amount": amount, "max_rate": max_rate,
                   "flat_discount": flat_discount, "expires_on": expires_on,
                   "recourse": recourse}  # fmt: skip

        def work(conn: Connection) -> FinancingRequest:
            source, cert = self._fragment(conn, fragment_id)
            self._refuse_unless_holder(conn, principal, source, cert, Act.REQUEST_FINANCING)

            def run() -> FinancingRequest:
                rate = self._terms(source, cert, amount, expires_on, max_rate, flat_discount)
                made = self._post_request(
                    conn, by=principal.label, source=source, cert=cert, amount=amount,
                    max_rate=rate, recourse=recourse, expires_on=expires_on,
                )  # fmt: skip
                self._audit(conn, "market_request", str(made.id), "requested", principal,
                            {**request, "max_rate": str(rate)})  # fmt: skip
                return made

            return self._once(conn, principal, key, Act.REQUEST_FINANCING, request,
                              FinancingRequest, run)  # fmt: skip

        return self.db.transaction(work)

    def _visible_request(
        self, conn: Connection, request_id: int, principal: Principal, *, lock: bool = False
    ) -> FinancingRequest:
        """A request the principal may see: its holder's, any open one on an obligor a funder
        has a line to, every one for those who see all; to anyone else it does not exist."""
        found = repo.request(conn, request_id, lock=lock)
        if found is not None and (
            principal.sees_everything
            or found.holder == principal.org
            or (Role.FUNDER in principal.roles and found.status is Status.OPEN
                and found.obligor in repo.funders_obligors(conn, principal.org))
        ):  # fmt: skip
            return found
        raise OfferNotFound(f"No financing request {request_id}.")

    def financing_request(self, request_id: int, *, principal: Principal) -> FinancingRequest:
        return self.db.transaction(
            lambda c: self._visible_request(c, request_id, principal), readonly=True
        )

    def financing_requests(
        self, *, principal: Principal, status: Status | None = None, after: int = 0,
        limit: int = 100,
    ) -> list[FinancingRequest]:  # fmt: skip
        """A holder's own requests; for a funder, the open ones on obligors it has a line
        to (and its own, if it holds fragments); all, for those who see everything."""

        def read(conn: Connection) -> list[FinancingRequest]:
            if principal.sees_everything:
                return repo.requests(conn, status=status, after=after, limit=limit)
            own = repo.requests(conn, holder=principal.org, status=status, after=after,
                                limit=limit)  # fmt: skip
            if Role.FUNDER not in principal.roles or status not in (None, Status.OPEN):
                return own
            open_ = repo.requests(conn, obligors=repo.funders_obligors(conn, principal.org),
                                  status=Status.OPEN, after=after, limit=limit)  # fmt: skip
            merged = {r.id: r for r in [*own, *open_]}
            return [merged[i] for i in sorted(merged)][:limit]

        return self.db.transaction(read, readonly=True)

    def cancel_request(
        self, request_id: int, *, principal: Principal, key: str
    ) -> FinancingRequest:
        """The holder withdraws what is left of its request."""

        def work(conn: Connection) -> FinancingRequest:
            found = self._visible_request(conn, request_id, principal, lock=True)
            authorize(principal, Act.CANCEL_REQUEST, found.holder)

            def run() -> FinancingRequest:
                if found.status is not Status.OPEN:
                    raise OfferClosed(f"Financing request {request_id} is {found.status.value}.")
                repo.set_request(conn, request_id, fragment_id=found.fragment_id,
                                 filled=found.filled, status=Status.CANCELLED)  # fmt: skip
                self._audit(conn, "market_request", str(request_id), "cancelled", principal)
                fresh = repo.request(conn, request_id)
                assert fresh is not None
                return fresh

            return self._once(conn, principal, key, Act.CANCEL_REQUEST, {"id": request_id},
                              FinancingRequest, run)  # fmt: skip

        return self.db.transaction(work)

    def amend_request(
        self,
        request_id: int,
        *,
        principal: Principal,
        key: str,
        amount: int | None = None,
        max_rate: Decimal | None = None,
        flat_discount: Decimal | None = None,
        recourse: bool | Unchanged | None = UNCHANGED,
        expires_on: date | None = None,
    ) -> FinancingRequest:
        """The holder changes what is open of its request: the amount still wanted, the
        highest rate, the recourse it accepts, the expiry; the rest stands. The standing
        rules quote it afresh on its new terms."""
        said = "unchanged" if isinstance(recourse, Unchanged) else recourse
        request = {"id": request_id, "amount": amount, "max_rate": max_rate,
                   "flat_discount": flat_discount, "expires_on": expires_on,
                   "recourse": said}  # fmt: skip

        def work(conn: Connection) -> FinancingRequest:
            found = self._visible_request(conn, request_id, principal, lock=True)
            authorize(principal, Act.AMEND_REQUEST, found.holder)

            def run() -> FinancingRequest:
                if found.status is not Status.OPEN:
                    raise OfferClosed(f"Financing request {request_id} is {found.status.value}.")
                source, cert = self._fragment(conn, found.fragment_id)
                wanted = found.open_amount if amount is None else amount
                if max_rate is None and flat_discount is None:
                    rate = self._terms(source, cert, wanted, expires_on or found.expires_on,
                                       found.max_rate, None)  # fmt: skip
                else:
                    rate = self._terms(source, cert, wanted, expires_on or found.expires_on,
                                       max_rate, flat_discount)  # fmt: skip
                keep = found.recourse if isinstance(recourse, Unchanged) else recourse
                repo.amend_request(conn, request_id, amount=found.filled + wanted,
                                   max_rate=rate, recourse=keep,
                                   expires_on=expires_on or found.expires_on)  # fmt: skip
                self._audit(conn, "market_request", str(request_id), "amended", principal,
                            {**request, "max_rate": str(rate)})  # fmt: skip
                repo.cancel_rule_quotes(conn, request_id=request_id)
                fresh = repo.request(conn, request_id)
                assert fresh is not None
                self._quote_by_rules(conn, [fresh])
                return fresh

            return self._once(conn, principal, key, Act.AMEND_REQUEST, request,
                              FinancingRequest, run)  # fmt: skip

        return self.db.transaction(work)

    def replay(self, request_id: int, *, principal: Principal) -> list[Replayed]:
        """Each execution of a request, its recorded book run again through best execution:
        the fills it gives beside the fills recorded then, and the fills the book holds."""

        def read(conn: Connection) -> list[Replayed]:
            found = self._visible_request(conn, request_id, principal)
            if not (principal.sees_everything or principal.org == found.holder):
                raise OfferNotFound(f"No financing request {request_id}.")
            stored = repo.fills(conn, request_id)
            done, at = [], 0
            for execution_id, book, fills, when, by in rules_repo.executions(conn, request_id):
                recorded = fills_of(fills)
                booked = [(f["quote_id"] or f["programme_id"], f["amount"], Decimal(f["rate"]))
                          for f in stored[at:at + len(recorded)]]  # fmt: skip
                at += len(recorded)
                replayed = book_of(book).execute()
                done.append(Replayed(execution_id, when, by, recorded, replayed, booked))
            return done

        return self.db.transaction(read, readonly=True)

    # ------------------------------------------------------------------ quotes

    def quote_request(
        self,
        request_id: int,
        *,
        principal: Principal,
        rate: Decimal,
        amount: int,
        valid_until: date,
        key: str,
        recourse: bool = False,
    ) -> MarketQuote:
        """A funder with a line to the obligor offers up to ``amount`` at ``rate`` until
        ``valid_until``."""
        rate = within(rate, self.rules.discount_rates)
        request = {"request": request_id, "rate": str(rate), "amount": amount,
                   "valid_until": valid_until, "recourse": recourse}  # fmt: skip

        def work(conn: Connection) -> MarketQuote:
            found = self._visible_request(conn, request_id, principal)
            authorize(principal, Act.QUOTE_REQUEST, principal.org)

            def run() -> MarketQuote:
                orgs = self._orgs(conn, principal.org)
                require_role(orgs[principal.org], Role.FUNDER, doing="quote on requests")
                if found.status is not Status.OPEN:
                    raise OfferClosed(f"Financing request {request_id} is {found.status.value}.")
                if amount < self.rules.min_fragment:
                    least = describe(self.rules.min_fragment, found.currency)
                    raise ValidationError(f"A quote is for at least {least}.")
                if valid_until < self.today():
                    raise ValidationError(f"A quote valid until {valid_until} is past already.")
                made = repo.insert_quote(
                    conn, request_id=request_id, funder=principal.org, rate=rate,
                    amount=amount, recourse=recourse, valid_until=valid_until,
                    now=self.clock.now_us(), by=principal.label,
                )  # fmt: skip
                self._audit(conn, "market_quote", str(made.id), "quoted", principal,
                            {**request, "rate": str(rate)})  # fmt: skip
                return made

            return self._once(conn, principal, key, Act.QUOTE_REQUEST, request, MarketQuote,
                              run)  # fmt: skip

        return self.db.transaction(work)

    def quotes(self, request_id: int, *, principal: Principal) -> list[MarketQuote]:
        """The quotes on a request: all of them for its holder (and those who see all), a
        funder's own for a funder."""

        def read(conn: Connection) -> list[MarketQuote]:
            found = self._visible_request(conn, request_id, principal)
            mine = principal.sees_everything or found.holder == principal.org
            return repo.quotes(conn, request_id, funder=None if mine else principal.org)

        return self.db.transaction(read, readonly=True)

    def open_quotes(self, *, principal: Principal, limit: int = 200) -> list[MarketQuote]:
        """A funder's own open quotes, newest first (everyone's, for those who see all)."""
        funder = None if principal.sees_everything else principal.org
        return self.db.transaction(lambda c: repo.open_quotes_of(c, funder, limit=limit),
                                   readonly=True)  # fmt: skip

    # ------------------------------------------------------------------ execution

    def fill(self, request_id: int, *, principal: Principal, key: str) -> list[MarketFill]:
        """The holder takes the best the market offers now: the request fills from its valid
        quotes cheapest first (then earliest), within each funder's credit line, each fill
        an atomic financing; all fills or none."""

        def work(conn: Connection) -> list[MarketFill]:
            found = self._visible_request(conn, request_id, principal, lock=True)
            authorize(principal, Act.FILL_REQUEST, found.holder)

            def run() -> list[MarketFill]:
                return self._fill(conn, found, principal)

            return self._once(conn, principal, key, Act.FILL_REQUEST, {"id": request_id},
                              list[MarketFill], run)  # fmt: skip

        return self.db.transaction(work)

    def expire(self, *, principal: Principal) -> tuple[int, int]:
        """The operator's (the worker's) daily sweep: requests and quotes past their last
        day are expired. How many requests and quotes."""
        authorize(principal, Act.RUN_SETTLEMENT)
        today = self.today()
        return self.db.transaction(lambda c: repo.expire(c, today))

    def indicative(self, fragment_id: int, *, principal: Principal) -> Indicative:
        """What the market's standing rules would quote now for the holder's whole fragment:
        the best rate among the funders with an open line to its obligor, and how many would
        quote — before the holder asks (a request then gets those quotes at once). No funder
        is named."""

        def read(conn: Connection) -> Indicative:
            frag, cert = self._fragment(conn, fragment_id)
            if frag.holder != principal.org or frag.status is not FragmentStatus.ACTIVE:
                raise FragmentNotFound(f"No active fragment {fragment_id} of yours.")
            today = self.today()
            base = rules_repo.base_rate(conn, cert.currency, today)
            if base is None:
                return Indicative(None, 0, (cert.maturity - today).days)
            grade = rules_repo.grades(conn, [cert.obligor]).get(cert.obligor, UNRATED)
            context = Context(cert.obligor, grade, frag.tier, (cert.maturity - today).days,
                              cert.currency)  # fmt: skip
            lines = rules_repo.open_lines(conn, [cert.obligor], today)
            rates = []
            for rule in rules_repo.rules(conn, currency=cert.currency, active=True):
                if rule.funder == principal.org:
                    continue
                if (rule.funder, cert.obligor, cert.currency) not in lines:
                    continue
                rate = rule_rate(rule, base.rate, context)
                if rate is not None and self.rules.discount_rates.low <= rate <= (
                    self.rules.discount_rates.high
                ):
                    rates.append(rate)
            return Indicative(min(rates, default=None), len(rates), context.days)

        return self.db.transaction(read, readonly=True)

    # ------------------------------------------------------------------ the view

    def view(self, *, principal: Principal, by: str = "all") -> list[Summary]:
        """Supply and demand across the marketplace, by obligor, industry, tier, tenor or
        month: amounts and rates in aggregate (with their spread over the base rate in
        effect), naming no holder and no funder, for any principal."""
        return self.views(principal=principal, dimensions=(by,))[by]

    def views(self, *, principal: Principal, dimensions: Sequence[str]) -> dict[str, list[Summary]]:
        """The view by each of ``dimensions``, from one reading of the book."""
        del principal  # aggregates are for every participant to see
        today = self.today()
        wanted = tuple(dimensions)
        stamp = (today, self.db.transaction(repo.view_stamp, readonly=True))
        kept = self._views.get(wanted)
        if kept is not None and kept[0] == stamp:
            return kept[1]  # nothing in the market changed since it was summarized

        def read(conn: Connection) -> tuple[Any, dict[str, Decimal]]:
            book = repo.view_rows(conn)
            bases = {c: rules_repo.base_rate(conn, c, today) for c in {r.currency for r in book[0]}}
            return book, {c: b.rate for c, b in bases.items() if b is not None}

        (requests, quotes, fills), bases = self.db.transaction(read, readonly=True)
        made = {by: summarize(requests, quotes, fills, by=by, base_rates=bases)
                for by in wanted}  # fmt: skip
        self._views[wanted] = (stamp, made)
        return made
