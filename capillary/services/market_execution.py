"""How the marketplace executes (DESIGN.md §6): posting a request (and the quotes funders'
standing rules make on it at once), and filling it from every source that competes for it —
quotes by hand and by standing rules, and the obligor's early-payment offer — cheapest first,
each fill an atomic financing (or early payment) through the same move as any other, the
book each execution saw recorded so that it can be replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters import account_repository as account_repo
from capillary.adapters import certificate_repository as cert_repo
from capillary.adapters import market_repository as repo
from capillary.adapters import market_rules_repository as rules_repo
from capillary.domain.access import Principal
from capillary.domain.certificates import Certificate, Fragment, FragmentStatus
from capillary.domain.errors import (
    FragmentNotActive,
    InvalidRate,
    OfferClosed,
    ValidationError,
)
from capillary.domain.events import market_fill_events
from capillary.domain.market import (
    EarlyPaymentOffer,
    FinancingRequest,
    MarketFill,
    MarketQuote,
    Request,
    Source,
    SourceKind,
    Status,
    as_source,
    cash_pool,
    eligible,
    face_for_cash,
    line_pool,
)
from capillary.domain.market_book import Book, book_json, fills_json
from capillary.domain.market_rules import (
    UNRATED,
    Context,
    StandingRule,
    apr_of_flat_discount,
    pool_room,
    rule_pools,
    rule_rate,
)
from capillary.domain.pricing import within
from capillary.domain.units import describe
from capillary.services.moves import FragmentMover, Move
from capillary.services.outbox import emit


def early_pool(obligor: str, currency: str) -> str:
    """The obligor's cash, as face it can pay early: what its offers share."""
    return f"early:{obligor}:{currency}"


class MarketExecution(FragmentMover):
    """Posting and filling requests: what the marketplace's use cases share."""

    def _post_request(
        self, conn: Connection, *, by: str, source: Fragment, cert: Certificate, amount: int,
        max_rate: Decimal, recourse: bool | None, expires_on: date,
        standing_id: int | None = None,
    ) -> FinancingRequest:  # fmt: skip
        """A request on the book, and the standing rules' quotes on it."""
        made = repo.insert_request(
            conn, holder=source.holder, fragment_id=source.id, obligor=cert.obligor,
            currency=cert.currency, amount=amount, max_rate=max_rate, recourse=recourse,
            expires_on=expires_on, now=self.clock.now_us(), by=by, standing_id=standing_id,
        )  # fmt: skip
        self._quote_by_rules(conn, [made])
        return made

    def _terms(
        self, source: Fragment, cert: Certificate, amount: int, expires_on: date,
        max_rate: Decimal | None, flat_discount: Decimal | None,
    ) -> Decimal:  # fmt: skip
        """The highest APR of a request for ``amount`` of ``source`` until ``expires_on``,
        refused unless the fragment is active, the amount leaves a whole fragment or none,
        and it expires before maturity; named as an APR or as a flat discount, one."""
        if (max_rate is None) == (flat_discount is None):
            raise ValidationError("Name the highest rate as an APR or as a flat discount, one.")
        today = self.today()
        if source.status is not FragmentStatus.ACTIVE:
            raise FragmentNotActive(f"Fragment {source.id} is {source.status.value}.")
        if not today <= expires_on < cert.maturity:
            raise ValidationError(
                f"A request expires between today ({today}) and before the certificate's "
                f"maturity ({cert.maturity}); got {expires_on}."
            )
        rate = max_rate
        if flat_discount is not None:
            rate = apr_of_flat_discount(flat_discount, (cert.maturity - today).days)
        assert rate is not None
        rate = within(rate, self.rules.discount_rates)
        least, rest = self.rules.min_fragment, source.amount - amount
        if amount < least or amount > source.amount or 0 < rest < least:
            cur = cert.currency
            raise ValidationError(
                f"A request is for {describe(least, cur)} to the whole fragment "
                f"({describe(source.amount, cur)}), leaving none or at least "
                f"{describe(least, cur)}; got {describe(amount, cur)}."
            )
        return rate

    def _quote_by_rules(
        self, conn: Connection, requests: Sequence[FinancingRequest],
        rules: Sequence[StandingRule] | None = None,
    ) -> int:  # fmt: skip
        """Every active standing rule (or ``rules``) quotes the open ``requests`` it prices
        and may fund — a line to the obligor, a rate within the holder's, the recourse it
        wants — once each, for the request's open amount until it expires (its line and caps
        bind when it fills). How many quotes it made."""
        today, now = self.today(), self.clock.now_us()
        requests = [r for r in requests if r.status is Status.OPEN and r.open_amount > 0]
        if not requests:
            return 0
        if rules is None:
            currencies = sorted({r.currency for r in requests})
            rules = [x for c in currencies for x in rules_repo.rules(conn, currency=c,
                                                                   active=True)]  # fmt: skip
        rules = [x for x in rules if x.active]
        if not rules:
            return 0
        bases = {c: rules_repo.base_rate(conn, c, today) for c in {r.currency for r in requests}}
        grades = rules_repo.grades(conn, sorted({r.obligor for r in requests}))
        frags, certs = cert_repo.fragments_with_certificates(
            conn, [r.fragment_id for r in requests]
        )
        lines = rules_repo.open_lines(conn, sorted({r.obligor for r in requests}), today)
        quoted = repo.rule_quoted(conn, [r.id for r in requests])
        made = 0
        for request in requests:
            base = bases[request.currency]
            frag = frags.get(request.fragment_id)
            if base is None or frag is None:
                continue
            maturity = certs[frag.certificate_id].maturity
            context = Context(request.obligor, grades.get(request.obligor, UNRATED), frag.tier,
                              (maturity - today).days, request.currency)  # fmt: skip
            for rule in rules:
                if (request.id, rule.id) in quoted or rule.currency != request.currency:
                    continue
                if rule.funder == request.holder:
                    continue
                if (rule.funder, request.obligor, request.currency) not in lines:
                    continue
                rate = rule_rate(rule, base.rate, context)
                if rate is None or rate > request.max_rate:
                    continue
                if request.recourse is not None and rule.recourse != request.recourse:
                    continue
                try:
                    rate = within(rate, self.rules.discount_rates)
                except InvalidRate:
                    continue
                repo.insert_quote(
                    conn, request_id=request.id, funder=rule.funder, rate=rate,
                    amount=request.open_amount, recourse=rule.recourse,
                    valid_until=request.expires_on, now=now, by=f"standing rule {rule.id}",
                    rule_id=rule.id,
                )  # fmt: skip
                made += 1
        return made

    def _fill(
        self, conn: Connection, found: FinancingRequest, principal: Principal
    ) -> list[MarketFill]:
        """Fill ``found`` (locked) from the best its book offers now; record the book."""
        today = self.today()
        if found.status is not Status.OPEN:
            raise OfferClosed(f"Financing request {found.id} is {found.status.value}.")
        if found.expires_on < today:
            raise OfferClosed(f"Financing request {found.id} expired on {found.expires_on}.")
        book, quotes, programmes = self._book(conn, found, today)
        fills = book.execute()
        fragment_id, filled, made = found.fragment_id, found.filled, []
        told: list[tuple[MarketQuote | None, MarketFill]] = []
        now = self.clock.now_us()
        for f in fills:
            if f.kind is SourceKind.QUOTE:
                q = quotes[f.source_id]
                move = Move(fragment_id, found.holder, q.funder, f.amount, rate=q.rate,
                            recourse=q.recourse)  # fmt: skip
            else:
                move = Move(fragment_id, found.holder, found.obligor, f.amount, rate=f.rate,
                            early_payment=True)  # fmt: skip
            (moved,) = self._move(conn, [move], principal.label, today)
            bought = moved.fragments[0]
            fragment_id = moved.fragments[1].id if len(moved.fragments) > 1 else fragment_id
            filled += f.amount
            if f.kind is SourceKind.QUOTE:
                quote_filled = q.filled + f.amount
                done = Status.FILLED if quote_filled == q.amount else Status.OPEN
                repo.set_quote(conn, q.id, filled=quote_filled, status=done)
                quotes[q.id] = q = replace(q, filled=quote_filled, status=done)
                fill = MarketFill(q.id, q.funder, f.amount, q.rate, bought.id, moved.posting)
                told.append((q, fill))
            else:
                p = programmes[f.source_id]
                assert moved.quote is not None
                used = p.used + moved.quote.price
                repo.set_programme(
                    conn,
                    p.id,
                    used=used,
                    last_rate=p.last_rate,
                    status=Status.FILLED if used >= p.cash else Status.OPEN,
                )
                programmes[p.id] = replace(p, used=used)
                fill = MarketFill(None, found.obligor, f.amount, f.rate, bought.id,
                                  moved.posting, programme_id=p.id)  # fmt: skip
                told.append((None, fill))
            repo.insert_fill(conn, request_id=found.id, quote_id=fill.quote_id,
                             funder=fill.funder, amount=f.amount, rate=f.rate,
                             fragment_id=bought.id, ledger_tx=moved.posting, now=now,
                             programme_id=fill.programme_id)  # fmt: skip
            made.append(fill)
        if made:
            status = Status.FILLED if filled == found.amount else Status.OPEN
            repo.set_request(conn, found.id, fragment_id=fragment_id, filled=filled,
                             status=status)  # fmt: skip
            rules_repo.insert_execution(conn, found.id, book_json(book), fills_json(fills), now,
                                        principal.label)  # fmt: skip
            self._audit(conn, "market_request", str(found.id), "filled", principal,
                        {"fills": [[m.quote_id, m.programme_id, m.amount, str(m.rate)]
                                   for m in made]})  # fmt: skip
            after = replace(found, fragment_id=fragment_id, filled=filled, status=status)
            emit(conn, market_fill_events(after, told, now))
        return made

    def _book(
        self, conn: Connection, found: FinancingRequest, today: date
    ) -> tuple[Book, dict[int, MarketQuote], dict[int, EarlyPaymentOffer]]:
        """What competes for ``found`` now: its valid quotes (locked) within their funders'
        lines, cash and — for a standing rule's — caps, and the obligor's open early-payment
        offers within its cash; with the pools they share."""
        quotes = {q.id: q for q in repo.quotes(conn, found.id, lock=True)
                  if q.status is Status.OPEN and q.valid_until >= today}  # fmt: skip
        lines = cert_repo.credit_lines_locked(
            conn, {(q.funder, found.obligor, found.currency) for q in quotes.values()}
        )
        pools = {
            line_pool(f, o, c): max(0, ln.available) if ln.expires_on >= today else 0
            for (f, o, c), ln in lines.items()
        }
        # A funder pays at most the face for what it buys: its cash, as face, bounds its
        # fills (a funder short of cash is passed over, not a reason to fill nothing).
        funders = sorted({q.funder for q in quotes.values()})
        for funder, cash in self._cash_of(conn, funders, found.currency).items():
            pools[cash_pool(funder, found.currency)] = cash
        frag, cert = self._fragment(conn, found.fragment_id)
        days = (cert.maturity - today).days
        rule_ids = sorted({q.rule_id for q in quotes.values() if q.rule_id is not None})
        # A rule's caps span requests: its fills are taken one unit of work at a time.
        rules = {x.id: x for x in rules_repo.rules(conn, ids=rule_ids, lock=True)}
        capped = [i for i in rule_ids if i in rules and any(
            c is not None for c in (rules[i].cap_per_obligor, rules[i].cap_per_tier,
                                    rules[i].cap_total))]  # fmt: skip
        usage = rules_repo.rule_usage(conn, capped)  # uncapped rules need no count
        sources: list[Source] = []
        for q in quotes.values():
            source = as_source(q, found.obligor, found.currency)
            extra = [cash_pool(q.funder, found.currency)]
            if q.rule_id is not None:
                rule = rules.get(q.rule_id)
                if rule is None or not rule.active:
                    continue
                context = Context(found.obligor, UNRATED, frag.tier, days, found.currency)
                caps = {p: c for p, c in rule_pools(rule, context).items()
                        if not p.startswith("line:")}  # fmt: skip
                room = pool_room(caps, usage, 0)
                for pool, left in room.items():
                    pools[pool] = min(pools.get(pool, left), left)
                extra += sorted(room)
            sources.append(replace(source, pools=(*source.pools, *extra)))
        programmes: dict[int, EarlyPaymentOffer] = {}
        if found.holder != found.obligor and days > 0:
            offers = [p for p in repo.programmes(conn, [found.obligor], open_only=True,
                                                 lock=True)
                      if p.status is Status.OPEN and p.currency == found.currency
                      and p.expires_on >= today and p.cash > p.used]  # fmt: skip
            if offers:
                cash = self._cash(conn, found.obligor, found.currency)
                lowest = min(p.hurdle for p in offers)
                pools[early_pool(found.obligor, found.currency)] = face_for_cash(cash, lowest, days)
                for p in offers:
                    face = face_for_cash(min(p.cash - p.used, cash), p.hurdle, days)
                    pool = early_pool(found.obligor, found.currency)
                    kind = SourceKind.EARLY_PAYMENT
                    sources.append(Source(p.id, kind, found.obligor, p.hurdle, face, False,
                                          p.created_at, (pool,)))  # fmt: skip
                    programmes[p.id] = p
        want = Request(found.id, found.holder, found.open_amount, found.max_rate,
                       found.recourse, found.created_at)  # fmt: skip
        sources = [s for s in sources if eligible(want, s)]
        book = Book(want, tuple(sources), pools, self.rules.min_fragment)
        return book, quotes, programmes

    def _cash(self, conn: Connection, org: str, currency: str) -> int:
        """What ``org`` may spend of its cash in ``currency`` now."""
        return self._cash_of(conn, [org], currency)[org]

    def _cash_of(self, conn: Connection, orgs: Sequence[str], currency: str) -> dict[str, int]:
        """What each of ``orgs`` may spend of its cash in ``currency`` now, read together."""
        if not orgs:
            return {}
        balances = account_repo.cash_balances(conn, orgs, currency)
        found = {}
        for org in orgs:
            balance = balances.get(org)
            found[org] = max(0, balance.available_credit) if balance is not None else 0
        return found
