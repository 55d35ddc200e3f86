"""From scores to decisions (issue 14): for each core enterprise the active model scored,
the grade it suggests and the issuance limit its grade and purchases suggest, beside the
grade and limit in force; the spread each grade is worth, for the funders' standing rules.
The operator approves a suggestion or overrides it, always with a reason: the grade and
the limit are set together in one unit of work, by the same use cases that set them by
hand, and the decision is audited with what was suggested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.engine import Connection

from capillary.adapters import certificate_repository as cert_repo
from capillary.adapters import market_rules_repository as rules_repo
from capillary.adapters import score_repository as repo
from capillary.adapters.clock import start_of
from capillary.adapters.feature_queries import cores, purchases
from capillary.adapters.invoice_repository import insert_audit
from capillary.domain.access import Act, Principal, authorize, staff_only
from capillary.domain.errors import NoActiveModel, ScoreNotFound, ValidationError
from capillary.domain.market_rules import UNRATED, check_grade
from capillary.domain.scoring.decisions import issuance_limit, spreads
from capillary.services.credit import CreditService
from capillary.services.idempotency import once
from capillary.services.market_standing import StandingService
from capillary.services.outcomes import audit_row

CURRENCY = "CNY"  # the limits suggested are in the platform's currency


@dataclass(frozen=True, slots=True)
class Suggestion:
    obligor: str
    as_of: date  # the score's day
    model_version: int
    score: float
    pd: float
    grade: str  # suggested
    limit: int  # suggested, minor units of CNY
    reasons: tuple[str, ...]
    current_grade: str
    current_limit: int | None
    used: int


@dataclass(frozen=True, slots=True)
class Decision:
    obligor: str
    grade: str
    limit: int
    approved: bool  # as suggested (else overridden)
    reason: str


class CreditDecisions:
    def __init__(self, credit: CreditService, standing: StandingService) -> None:
        self.credit = credit
        self.standing = standing
        self.db = credit.db
        self.clock = credit.clock

    def _suggestions(self, conn: Connection, obligors: list[str] | None) -> list[Suggestion]:
        active = repo.active_model(conn)
        if active is None:
            raise NoActiveModel("No scoring model is active: train one and activate it, "
                                "then score (capillary score run).")  # fmt: skip
        scores = repo.latest_scores(conn, active.version, cores(conn, obligors))
        if not scores:
            return []
        day = next(iter(scores.values())).as_of
        bought = purchases(conn, day, start_of(day, self.credit.timezone), sorted(scores))
        grades = rules_repo.grades(conn, sorted(scores))
        limits = {x.obligor: x for x in cert_repo.issuance_limits(conn, None)
                  if x.currency == CURRENCY}  # fmt: skip
        out = []
        for o in sorted(scores):
            s, current = scores[o], limits.get(o)
            used = 0 if current is None else current.used
            out.append(Suggestion(
                o, s.as_of, s.model_version, s.score, s.pd, s.grade,
                issuance_limit(s.grade, bought[o], used), s.reasons,
                grades.get(o, UNRATED), None if current is None else current.limit, used,
            ))  # fmt: skip
        return out

    def suggestions(self, *, principal: Principal) -> list[Suggestion]:
        """Every scored core's suggested grade and limit beside those in force: the
        operator's and the auditors'."""
        staff_only(principal, "credit suggestions")
        return self.db.transaction(lambda c: self._suggestions(c, None), readonly=True)

    def spreads(self) -> tuple[int, dict[str, Decimal]]:
        """The active model's version and the spread over the base rate each grade is
        worth (its expected loss for a year, and a margin): every participant's to read,
        the funders' to put in their standing rules."""

        def read(conn: Connection) -> tuple[int, dict[str, Decimal]]:
            active = repo.active_model(conn)
            if active is None:
                raise NoActiveModel("No scoring model is active, so no spreads by grade.")
            pds = {c["grade"]: float(c["predicted_pd"]) for c in active.card["calibration"]}
            return active.version, spreads(pds, active.horizon_days)

        return self.db.transaction(read, readonly=True)

    def decide(
        self, obligor: str, *, principal: Principal, key: str, reason: str,
        grade: str | None = None, limit: int | None = None,
    ) -> Decision:  # fmt: skip
        """Set ``obligor``'s grade and issuance limit: as suggested, or as the operator
        says (``grade``, ``limit``), with a reason either way."""
        authorize(principal, Act.DECIDE_CREDIT)
        reason = reason.strip()
        if not 0 < len(reason) <= 500:
            raise ValidationError("A credit decision is made with a reason of 1 to 500 "
                                  "characters.")  # fmt: skip
        if grade is not None:
            check_grade(grade)
        if limit is not None and limit < 0:
            raise ValidationError("An issuance limit is not negative.")
        request = {"obligor": obligor, "grade": grade, "limit": limit, "reason": reason}

        def work(conn: Connection) -> Decision:
            def run() -> Decision:
                found = self._suggestions(conn, [obligor])
                if not found:
                    raise ScoreNotFound(f"{obligor!r} is not a core enterprise the active "
                                        "model has scored.")  # fmt: skip
                s = found[0]
                decided = Decision(obligor, grade or s.grade, s.limit if limit is None else limit,
                                   (grade in (None, s.grade)) and limit in (None, s.limit),
                                   reason)  # fmt: skip
                self.standing.set_grade_in(conn, principal, obligor, decided.grade, reason)
                self.credit.set_issuance_limit_in(conn, principal, obligor, CURRENCY,
                                                  decided.limit)  # fmt: skip
                insert_audit(conn, [audit_row(
                    "credit_decision", obligor, "approved" if decided.approved else "overridden",
                    principal.label, self.clock.now_us(),
                    {"model_version": s.model_version, "score": s.score,
                     "suggested": {"grade": s.grade, "limit": s.limit},
                     "decided": {"grade": decided.grade, "limit": decided.limit},
                     "reason": reason},
                )])  # fmt: skip
                return decided

            return once(conn, principal=principal, key=key, use_case=Act.DECIDE_CREDIT.value,
                        request=request, result=Decision, run=run,
                        now=self.clock.now_us())  # fmt: skip

        return self.db.transaction(work)
