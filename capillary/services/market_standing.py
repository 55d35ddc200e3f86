"""The marketplace's standing parts (DESIGN.md §6): the base rate the operator publishes,
obligors' grades, funders' standing quote rules (base rate + a spread by grade and tenor,
within caps and their credit line), and holders' standing requests — every fragment of an
obligor's certificates they receive offered to the market on set terms and filled at the
best price within them, by the sweep the worker runs.

Who may do what: the operator publishes rates and sets grades (with a reason, audited); a
funder sets and withdraws its own rules; an organization its own standing requests. Grades
are seen by the obligor, by funders with a line to it, and by those who see everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial

import structlog
from sqlalchemy.engine import Connection

from capillary.adapters import market_repository as repo
from capillary.adapters import market_rules_repository as rules_repo
from capillary.adapters import party_repository as party_repo
from capillary.domain.access import Act, Principal, authorize
from capillary.domain.errors import (
    CapillaryError,
    Forbidden,
    InvalidRate,
    OfferClosed,
    OfferNotFound,
    ValidationError,
)
from capillary.domain.market import Status
from capillary.domain.market_rules import (
    BaseRate,
    StandingRequest,
    StandingRule,
    check_grade,
    check_spreads,
)
from capillary.domain.parties import Role, check_code, require_role
from capillary.domain.pricing import within
from capillary.services.market_execution import MarketExecution

log = structlog.get_logger("capillary.market")


@dataclass(frozen=True, slots=True)
class Sweep:
    """What one run of the standing requests did."""

    posted: int  # requests posted for fragments received
    fills: int  # fills they got
    filled: int  # face financed, minor units (of any currency)
    refused: int  # standing requests whose run was refused (logged)


class StandingService(MarketExecution):
    # ------------------------------------------------------------------ base rate, grades

    def publish_base_rate(
        self, *, principal: Principal, currency: str, rate: Decimal, key: str,
        name: str = "1Y LPR",
    ) -> BaseRate:  # fmt: skip
        """The operator publishes the base rate standing rules price over, from today."""
        authorize(principal, Act.PUBLISH_BASE_RATE)
        rate = within(rate, self.rules.discount_rates)
        name = name.strip()
        if not 0 < len(name) <= 64:
            raise ValidationError('A base rate is named in 1 to 64 characters ("1Y LPR").')
        request = {"currency": currency, "rate": str(rate), "name": name}

        def work(conn: Connection) -> BaseRate:
            def run() -> BaseRate:
                made = BaseRate(currency, name, rate, self.today(), self.clock.now_us(),
                                principal.label)  # fmt: skip
                rules_repo.insert_base_rate(conn, made)
                self._audit(conn, "base_rate", currency, "published", principal, request)
                return made

            return self._once(conn, principal, key, Act.PUBLISH_BASE_RATE, request, BaseRate,
                              run)  # fmt: skip

        return self.db.transaction(work)

    def base_rate(self, currency: str) -> BaseRate | None:
        """The base rate in effect today (public: every participant prices over it)."""
        today = self.today()
        return self.db.transaction(lambda c: rules_repo.base_rate(c, currency, today),
                                   readonly=True)  # fmt: skip

    def set_grade(
        self, obligor: str, *, principal: Principal, grade: str, reason: str, key: str
    ) -> str:
        """The operator grades an obligor, saying why (the audit trail keeps each change)."""
        authorize(principal, Act.SET_GRADE)
        check_grade(grade)
        reason = reason.strip()
        if not 0 < len(reason) <= 500:
            raise ValidationError("A grade is set with a reason of 1 to 500 characters.")
        request = {"obligor": obligor, "grade": grade, "reason": reason}

        def work(conn: Connection) -> str:
            def run() -> str:
                return self.set_grade_in(conn, principal, obligor, grade, reason)

            return self._once(conn, principal, key, Act.SET_GRADE, request, str, run)

        return self.db.transaction(work)

    def set_grade_in(self, conn: Connection, principal: Principal, obligor: str, grade: str,
                     reason: str) -> str:  # fmt: skip
        """Grade inside the caller's unit of work (a credit decision sets a grade and a
        limit together); the caller has authorized the principal and checked the reason."""
        check_grade(grade)
        orgs = self._orgs(conn, obligor)
        require_role(orgs[obligor], Role.CORE, doing="be graded as an obligor")
        rules_repo.set_grade(conn, obligor, grade, reason, self.clock.now_us(), principal.label)
        self._audit(conn, "credit_grade", obligor, "graded", principal,
                    {"obligor": obligor, "grade": grade, "reason": reason})  # fmt: skip
        return grade

    def grade(self, obligor: str, *, principal: Principal) -> str:
        """An obligor's grade, to itself, to funders with a line to it, and to those who see
        everything; to anyone else it is not there."""

        def read(conn: Connection) -> str:
            if not (principal.sees_everything or principal.org == obligor
                    or obligor in repo.funders_obligors(conn, principal.org)):  # fmt: skip
                raise OfferNotFound(f"No grade for {obligor!r} that {principal.org} may see.")
            return rules_repo.grade_of(conn, obligor)

        return self.db.transaction(read, readonly=True)

    # ------------------------------------------------------------------ standing rules

    def add_rule(
        self, *, principal: Principal, spreads: dict[tuple[str, str], Decimal], key: str,
        currency: str = "CNY", cap_per_obligor: int | None = None,
        cap_per_tier: int | None = None, cap_total: int | None = None,
        recourse: bool = False, obligors: frozenset[str] = frozenset(),
    ) -> StandingRule:  # fmt: skip
        """A funder's standing rule: it quotes, at the base rate plus the spread for the
        obligor's grade and the tenor, every open request it may fund (a line to the
        obligor; of ``obligors`` only, if named), within its caps. Open requests are quoted
        at once."""
        authorize(principal, Act.SET_STANDING_RULE, principal.org)
        spreads = check_spreads(spreads)
        obligors = frozenset(check_code(o) for o in obligors)  # stored space-separated
        for cap in (cap_per_obligor, cap_per_tier, cap_total):
            if cap is not None and cap < self.rules.min_fragment:
                raise ValidationError("A cap is at least the smallest fragment, or none.")
        request = {"spreads": {f"{g}|{b}": str(v) for (g, b), v in sorted(spreads.items())},
                   "currency": currency, "caps": [cap_per_obligor, cap_per_tier, cap_total],
                   "recourse": recourse, "obligors": sorted(obligors)}  # fmt: skip

        def work(conn: Connection) -> StandingRule:
            def run() -> StandingRule:
                orgs = self._orgs(conn, principal.org)
                require_role(orgs[principal.org], Role.FUNDER, doing="set standing rules")
                made = rules_repo.insert_rule(conn, StandingRule(
                    0, principal.org, spreads, cap_per_obligor, cap_per_tier, cap_total,
                    recourse, obligors, currency, True, self.clock.now_us(), principal.label,
                ))  # fmt: skip
                self._audit(conn, "market_rule", str(made.id), "set", principal, request)
                reach = repo.funders_obligors(conn, principal.org, currency)
                open_ = repo.requests(conn, obligors=reach, status=Status.OPEN, limit=10**9)
                self._quote_by_rules(conn, open_, [made])
                return made

            return self._once(conn, principal, key, Act.SET_STANDING_RULE, request,
                              StandingRule, run)  # fmt: skip

        return self.db.transaction(work)

    def rules_of(self, *, principal: Principal) -> list[StandingRule]:
        """A funder's own rules; every rule, for those who see everything."""
        funder = None if principal.sees_everything else principal.org
        return self.db.transaction(lambda c: rules_repo.rules(c, funder=funder), readonly=True)

    def withdraw_rule(self, rule_id: int, *, principal: Principal, key: str) -> StandingRule:
        """The funder withdraws a rule: it quotes no more, and its open quotes go with it."""

        def work(conn: Connection) -> StandingRule:
            found = next(iter(rules_repo.rules(conn, ids=[rule_id])), None)
            if found is None or not (principal.sees_everything or found.funder == principal.org):
                raise OfferNotFound(f"No standing rule {rule_id}.")
            authorize(principal, Act.SET_STANDING_RULE, found.funder)

            def run() -> StandingRule:
                if not found.active:
                    raise OfferClosed(f"Standing rule {rule_id} is withdrawn already.")
                rules_repo.withdraw_rule(conn, rule_id)
                repo.cancel_rule_quotes(conn, rule_id=rule_id)
                self._audit(conn, "market_rule", str(rule_id), "withdrawn", principal)
                (fresh,) = rules_repo.rules(conn, ids=[rule_id])
                return fresh

            return self._once(conn, principal, key, Act.SET_STANDING_RULE,
                              {"withdraw": rule_id}, StandingRule, run)  # fmt: skip

        return self.db.transaction(work)

    # ------------------------------------------------------------------ standing requests

    def add_standing_request(
        self, *, principal: Principal, obligor: str, key: str, currency: str = "CNY",
        max_rate: Decimal | None = None, flat_discount: Decimal | None = None,
        recourse: bool | None = None, days: int = 5,
    ) -> StandingRequest:  # fmt: skip
        """Every fragment of ``obligor``'s certificates the principal receives from now on
        is offered to the market — the whole fragment, open ``days`` — at ``max_rate`` (an
        APR) or ``flat_discount`` off the face or better, and filled at the best price the
        market offers within that."""
        authorize(principal, Act.SET_STANDING_REQUEST, principal.org)
        if not principal.roles & {Role.SUPPLIER, Role.FUNDER}:
            raise Forbidden(f"Only a holder of certificates (a supplier or a funder) offers "
                            f"them standing; {principal.org} is neither.")  # fmt: skip
        if (max_rate is None) == (flat_discount is None):
            raise ValidationError("Name the highest rate as an APR or as a flat discount, one.")
        if max_rate is not None:
            max_rate = within(max_rate, self.rules.discount_rates)
        if flat_discount is not None and not (flat_discount.is_finite()
                                              and Decimal(0) <= flat_discount < 1):  # fmt: skip
            raise InvalidRate(f"A flat discount is a fraction in [0, 1); got {flat_discount}.")
        if not 1 <= days <= 365:
            raise ValidationError(
                f"A standing request's requests stay open 1 to 365 days; got {days}."
            )
        request = {"obligor": obligor, "currency": currency, "days": days,
                   "max_rate": None if max_rate is None else str(max_rate),
                   "flat_discount": None if flat_discount is None else str(flat_discount),
                   "recourse": recourse}  # fmt: skip

        def work(conn: Connection) -> StandingRequest:
            def run() -> StandingRequest:
                orgs = self._orgs(conn, obligor)
                require_role(orgs[obligor], Role.CORE, doing="be an obligor")
                made = rules_repo.insert_standing(conn, StandingRequest(
                    0, principal.org, obligor, currency, max_rate, flat_discount, recourse,
                    days, 0, True, self.clock.now_us(), principal.label,
                ))  # fmt: skip
                self._audit(conn, "market_standing", str(made.id), "set", principal, request)
                return made

            return self._once(conn, principal, key, Act.SET_STANDING_REQUEST, request,
                              StandingRequest, run)  # fmt: skip

        return self.db.transaction(work)

    def standing_requests(self, *, principal: Principal) -> list[StandingRequest]:
        """An organization's own standing requests; all, for those who see everything."""
        holder = None if principal.sees_everything else principal.org
        return self.db.transaction(lambda c: rules_repo.standing(c, holder=holder),
                                   readonly=True)  # fmt: skip

    def cancel_standing_request(
        self, standing_id: int, *, principal: Principal, key: str
    ) -> StandingRequest:
        """No more fragments offered; the requests it posted stay open until their holder
        cancels them or they expire."""

        def work(conn: Connection) -> StandingRequest:
            found = next(iter(rules_repo.standing(conn, standing_id=standing_id, lock=True)),
                         None)  # fmt: skip
            if found is None or not (principal.sees_everything or found.holder == principal.org):
                raise OfferNotFound(f"No standing request {standing_id}.")
            authorize(principal, Act.SET_STANDING_REQUEST, found.holder)

            def run() -> StandingRequest:
                if not found.active:
                    raise OfferClosed(f"Standing request {standing_id} is cancelled already.")
                rules_repo.cancel_standing(conn, standing_id)
                self._audit(conn, "market_standing", str(standing_id), "cancelled", principal)
                (fresh,) = rules_repo.standing(conn, standing_id=standing_id)
                return fresh

            return self._once(conn, principal, key, Act.SET_STANDING_REQUEST,
                              {"cancel": standing_id}, StandingRequest, run)  # fmt: skip

        return self.db.transaction(work)

    def run_standing(self, *, principal: Principal) -> Sweep:
        """The operator's (the worker's) sweep: each standing request offers the fragments
        its holder received since the last run, and takes the best the market offers on
        every request it posted — the holder's own act, on the terms it set. One standing
        request at a time, each in its own unit of work; one refused does not stop the rest."""
        authorize(principal, Act.RUN_STANDING)
        posted = fills = filled = refused = 0
        today = self.today()

        def due(conn: Connection) -> list[StandingRequest]:
            wanted = sorted(rules_repo.standing_due(conn, today))
            return [s for s in rules_repo.standing(conn, ids=wanted) if s.active]

        for standing in self.db.transaction(due, readonly=True):
            try:
                p, n, amount = self.db.transaction(partial(self._sweep, standing=standing))
            except CapillaryError as exc:
                refused += 1
                log.warning("standing_refused", standing=standing.id, code=exc.code,
                            detail=exc.message)  # fmt: skip
                continue
            posted, fills, filled = posted + p, fills + n, filled + amount
        return Sweep(posted, fills, filled, refused)

    def _sweep(self, conn: Connection, *, standing: StandingRequest) -> tuple[int, int, int]:
        today = self.today()
        holder = party_repo.orgs_by_code(conn, [standing.holder])[standing.holder]
        acting = Principal(holder.code, f"standing-request:{standing.id}", holder.roles)
        posted = 0
        for fragment_id, amount, maturity in rules_repo.unoffered(conn, standing):
            last = min(today + timedelta(days=standing.days), maturity - timedelta(days=1))
            if last < today or amount < self.rules.min_fragment:
                continue
            try:
                rate = within(standing.highest_rate((maturity - today).days),
                              self.rules.discount_rates)  # fmt: skip
            except InvalidRate:
                continue  # these terms price nothing this close to maturity
            source, cert = self._fragment(conn, fragment_id)
            self._post_request(conn, by=acting.label, source=source, cert=cert, amount=amount,
                               max_rate=rate, recourse=standing.recourse, expires_on=last,
                               standing_id=standing.id)  # fmt: skip
            posted += 1
        fills = filled = 0
        for request in repo.requests(conn, standing_id=standing.id, status=Status.OPEN,
                                     limit=10**9):  # fmt: skip
            if request.expires_on < today:
                continue
            locked = repo.request(conn, request.id, lock=True)
            assert locked is not None
            made = self._fill(conn, locked, acting)
            fills, filled = fills + len(made), filled + sum(m.amount for m in made)
        return posted, fills, filled
