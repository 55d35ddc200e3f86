"""Use cases of the marketplace (DESIGN.md §6): a holder asks the market to finance (part of)
a fragment at a rate or better; funders with a line to the obligor quote; the holder takes
the best the market offers, each fill an atomic financing through the same move a financing
offer makes (fragment, cash, credit line and fee in one ledger transaction), all fills of a
call in one unit of work. Who may see what: a holder its requests and every quote on them; a
funder the open requests on obligors it has a line to, and its own quotes; operators and
auditors everything.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as cert_repo
from capillary.adapters import market_repository as repo
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.certificates import FragmentStatus
from capillary.domain.errors import (
    FragmentNotActive,
    OfferClosed,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.events import market_fill_events
from capillary.domain.market import (
    FinancingRequest,
    MarketFill,
    MarketQuote,
    Request,
    Status,
    as_source,
    best_execution,
    cash_pool,
    line_pool,
)
from capillary.domain.market_rules import apr_of_flat_discount
from capillary.domain.market_view import Summary, summarize
from capillary.domain.parties import Role, require_role
from capillary.domain.pricing import within
from capillary.domain.units import describe
from capillary.services.moves import FragmentMover, Move
from capillary.services.outbox import emit


class MarketService(FragmentMover):
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
        if (max_rate is None) == (flat_discount is None):
            raise ValidationError("Name the highest rate as an APR or as a flat discount, one.")
        request = {"fragment": fragment_id, "amount": amount, "max_rate": max_rate,
                   "flat_discount": flat_discount, "expires_on": expires_on,
                   "recourse": recourse}  # fmt: skip

        def work(conn: Connection) -> FinancingRequest:
            source, cert = self._fragment(conn, fragment_id)
            self._refuse_unless_holder(conn, principal, source, cert, Act.REQUEST_FINANCING)

            def run() -> FinancingRequest:
                today = self.today()
                rate = max_rate
                if flat_discount is not None:
                    rate = apr_of_flat_discount(flat_discount, (cert.maturity - today).days)
                assert rate is not None
                rate = within(rate, self.rules.discount_rates)
                if source.status is not FragmentStatus.ACTIVE:
                    raise FragmentNotActive(f"Fragment {fragment_id} is {source.status.value}.")
                least = self.rules.min_fragment
                rest = source.amount - amount
                if amount < least or amount > source.amount or 0 < rest < least:
                    raise ValidationError(
                        f"A request is for {describe(least, cert.currency)} to the whole "
                        f"fragment ({describe(source.amount, cert.currency)}), leaving none or "
                        f"at least {describe(least, cert.currency)}; "
                        f"got {describe(amount, cert.currency)}."
                    )
                if not today <= expires_on < cert.maturity:
                    raise ValidationError(
                        f"A request expires between today ({today}) and before the "
                        f"certificate's maturity ({cert.maturity}); got {expires_on}."
                    )
                made = repo.insert_request(
                    conn, holder=principal.org, fragment_id=fragment_id, obligor=cert.obligor,
                    currency=cert.currency, amount=amount, max_rate=rate,
                    recourse=recourse, expires_on=expires_on, now=self.clock.now_us(),
                    by=principal.label,
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

    def _fill(
        self, conn: Connection, found: FinancingRequest, principal: Principal
    ) -> list[MarketFill]:
        today = self.today()
        if found.status is not Status.OPEN:
            raise OfferClosed(f"Financing request {found.id} is {found.status.value}.")
        if found.expires_on < today:
            raise OfferClosed(f"Financing request {found.id} expired on {found.expires_on}.")
        quotes = [q for q in repo.quotes(conn, found.id, lock=True)
                  if q.status is Status.OPEN and q.valid_until >= today]  # fmt: skip
        lines = cert_repo.credit_lines_locked(
            conn, {(q.funder, found.obligor, found.currency) for q in quotes}
        )
        pools = {
            line_pool(f, o, c): max(0, ln.available) if ln.expires_on >= today else 0
            for (f, o, c), ln in lines.items()
        }
        # A funder pays at most the face for what it buys: its cash, as face, bounds its
        # fills (a funder short of cash is passed over, not a reason to fill nothing).
        funders = sorted({q.funder for q in quotes})
        accounts = account_repo.account_ids(conn, [found.currency], codes=("cash",),
                                            orgs=funders) if funders else {}  # fmt: skip
        for funder in funders:
            account = accounts.get((funder, found.currency, "cash"))
            balance = account_repo.read_balance(conn, account) if account else None
            pools[cash_pool(funder, found.currency)] = (
                max(0, balance.available_credit) if balance is not None else 0
            )
        want = Request(found.id, found.holder, found.open_amount, found.max_rate,
                       found.recourse, found.created_at)  # fmt: skip
        sources = [
            replace(s, pools=(*s.pools, cash_pool(s.funder, found.currency)))
            for s in (as_source(q, found.obligor, found.currency) for q in quotes)
        ]
        fills, _ = best_execution(want, sources, pools, min_fill=self.rules.min_fragment)
        by_id = {q.id: q for q in quotes}
        fragment_id, filled, made = found.fragment_id, found.filled, []
        told: list[tuple[MarketQuote, MarketFill]] = []
        now = self.clock.now_us()
        for f in fills:
            q = by_id[f.source_id]
            (moved,) = self._move(
                conn,
                [Move(fragment_id, found.holder, q.funder, f.amount, rate=q.rate,
                      recourse=q.recourse)],
                principal.label, today,
            )  # fmt: skip
            bought = moved.fragments[0]
            fragment_id = moved.fragments[1].id if len(moved.fragments) > 1 else fragment_id
            filled += f.amount
            quote_filled = q.filled + f.amount
            done = Status.FILLED if quote_filled == q.amount else Status.OPEN
            repo.set_quote(conn, q.id, filled=quote_filled, status=done)
            repo.insert_fill(conn, request_id=found.id, quote_id=q.id, funder=q.funder,
                             amount=f.amount, rate=q.rate, fragment_id=bought.id,
                             ledger_tx=moved.posting, now=now)  # fmt: skip
            made.append(MarketFill(q.id, q.funder, f.amount, q.rate, bought.id, moved.posting))
            told.append((replace(q, filled=quote_filled, status=done), made[-1]))
        if made:
            status = Status.FILLED if filled == found.amount else Status.OPEN
            repo.set_request(conn, found.id, fragment_id=fragment_id, filled=filled,
                             status=status)  # fmt: skip
            self._audit(conn, "market_request", str(found.id), "filled", principal,
                        {"fills": [[m.quote_id, m.amount, str(m.rate)] for m in made]})  # fmt: skip
            after = replace(found, fragment_id=fragment_id, filled=filled, status=status)
            emit(conn, market_fill_events(after, told, now))
        return made

    def expire(self, *, principal: Principal) -> tuple[int, int]:
        """The operator's (the worker's) daily sweep: requests and quotes past their last
        day are expired. How many requests and quotes."""
        authorize(principal, Act.RUN_SETTLEMENT)
        today = self.today()
        return self.db.transaction(lambda c: repo.expire(c, today))

    # ------------------------------------------------------------------ the view

    def view(self, *, principal: Principal, by: str = "all") -> list[Summary]:
        """Supply and demand across the marketplace, by obligor, tier, tenor or month:
        amounts and rates in aggregate, naming no holder and no funder, for any principal."""
        del principal  # aggregates are for every participant to see
        requests, quotes, fills = self.db.transaction(repo.view_rows, readonly=True)
        return summarize(requests, quotes, fills, by=by)
