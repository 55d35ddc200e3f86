"""Shapes of scoring and risk: models with their cards, scores with their reasons (as the
reader may see them), suggestions and decisions, spreads by grade; exposure, stress tests
and the risk monitor's run."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from capillary.adapters.score_repository import StoredModel
from capillary.domain.exposure import Exposure
from capillary.entrypoints.api.schemas.common import Money, Shape, instant
from capillary.entrypoints.api.schemas.market_standing import Grade
from capillary.services.credit_decisions import Decision, Suggestion
from capillary.services.risk import StressReport
from capillary.services.scoring import RunSummary, Score

Org = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9-]+$")


class LabelIn(Shape):
    organization: str = Org
    bad: bool


class TrainIn(Shape):
    as_of: date | None = Field(None, description="The features' day (default: the horizon "
                               "before today).")  # fmt: skip
    horizon_days: int = Field(90, ge=1, le=730, description="Days after it in which going "
                              "bad counts.")  # fmt: skip
    labels: list[LabelIn] | None = Field(None, max_length=1_000_000, description="The "
                                         "outcomes, instead of the platform's.")  # fmt: skip
    activate: bool = False


class ModelOut(Shape):
    version: int
    active: bool
    as_of: date
    horizon_days: int
    card: dict[str, Any] = Field(description="The model card: data window, features kept and "
                                 "dropped, metrics, calibration by grade.")  # fmt: skip
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, m: StoredModel) -> ModelOut:
        return cls(version=m.version, active=m.active, as_of=m.as_of,
                   horizon_days=m.horizon_days, card=m.card, created_at=instant(m.created_at),
                   created_by=m.created_by)  # fmt: skip


class RunIn(Shape):
    as_of: date | None = Field(None, description="The features' day (default: today).")


class RunOut(Shape):
    model_version: int
    as_of: date
    scored: int
    by_grade: dict[str, int]

    @classmethod
    def of(cls, r: RunSummary) -> RunOut:
        return cls(model_version=r.version, as_of=r.as_of, scored=r.scored,
                   by_grade=r.by_grade)  # fmt: skip


class ScoreOut(Shape):
    organization: str
    as_of: date
    model_version: int
    grade: str
    score: str | None = Field(None, description="Points, a decimal string: to itself and the "
                              "platform's staff.")  # fmt: skip
    pd: str | None = Field(None, description="Probability of default over the model's horizon, "
                           "a decimal string: to itself and the platform's staff.")  # fmt: skip
    reasons: list[str] | None = Field(None, description="The features that cost the most "
                                      "points, worst first.")  # fmt: skip

    @classmethod
    def of(cls, s: Score) -> ScoreOut:
        return cls(organization=s.org, as_of=s.as_of, model_version=s.model_version,
                   grade=s.grade, score=_points(s.score), pd=_probability(s.pd),
                   reasons=None if s.reasons is None else list(s.reasons))  # fmt: skip


def _points(score: float | None) -> str | None:
    return None if score is None else f"{score:.1f}"


def _probability(pd: float | None) -> str | None:
    return None if pd is None else f"{pd:.6f}"


class SuggestionOut(Shape):
    obligor: str
    as_of: date
    model_version: int
    score: str
    pd: str
    grade: str
    issuance_limit: Money
    reasons: list[str]
    current_grade: str
    current_limit: Money | None
    used: Money

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(obligor=s.obligor, as_of=s.as_of, model_version=s.model_version,
                   score=f"{s.score:.1f}", pd=f"{s.pd:.6f}", grade=s.grade,
                   issuance_limit=Money.of(s.limit, "CNY"), reasons=list(s.reasons),
                   current_grade=s.current_grade,
                   current_limit=None if s.current_limit is None else Money.of(
                       s.current_limit, "CNY"),
                   used=Money.of(s.used, "CNY"))  # fmt: skip


class DecisionIn(Shape):
    obligor: str = Org
    reason: str = Field(min_length=1, max_length=500)
    grade: Grade | None = Field(None, description="Instead of the suggested grade.")
    issuance_limit: Money | None = Field(None, description="Instead of the suggested limit "
                                         "(CNY).")  # fmt: skip


class DecisionOut(Shape):
    obligor: str
    grade: str
    issuance_limit: Money
    approved: bool = Field(description="As suggested (else overridden).")
    reason: str

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls(obligor=d.obligor, grade=d.grade, issuance_limit=Money.of(d.limit, "CNY"),
                   approved=d.approved, reason=d.reason)  # fmt: skip


class SpreadOut(Shape):
    grade: str
    spread: str = Field(description="Over the base rate, a decimal string: 0.0123 is 1.23%.")


class SpreadsOut(Shape):
    model_version: int
    spreads: list[SpreadOut]


class AlertOut(Shape):
    kind: str
    subject: str
    share: str = Field(description="A decimal string: 0.7630 is 76.3%.")
    threshold: str
    amount: Money


class ExposureOut(Shape):
    currency: str
    total: Money
    by_obligor: dict[str, Money]
    by_funder: dict[str, Money]
    by_tier: dict[str, Money]
    by_industry: dict[str, Money]
    ladder: dict[str, Money] = Field(description="By month of maturity (YYYY-MM).")
    overdue: dict[str, Money] = Field(description="By obligor.")
    alerts: list[AlertOut]

    @classmethod
    def of(cls, e: Exposure, cur: str) -> ExposureOut:
        def m(d: dict[str, int]) -> dict[str, Money]:
            return {k: Money.of(v, cur) for k, v in d.items()}

        return cls(currency=cur, total=Money.of(e.total, cur), by_obligor=m(e.by_obligor),
                   by_funder=m(e.by_funder), by_tier=m(e.by_tier),
                   by_industry=m(e.by_industry), ladder=m(e.ladder), overdue=m(e.overdue),
                   alerts=[AlertOut(kind=a.kind, subject=a.subject, share=f"{a.share:.4f}",
                                    threshold=f"{a.threshold:.4f}",
                                    amount=Money.of(a.amount, cur))
                           for a in e.alerts])  # fmt: skip


class StressSide(Shape):
    total_loss: Money
    loss: dict[str, Money] = Field(description="By organization.")
    by_group: dict[str, Money] = Field(description="Funders, cores, tiers.")
    recourse_paid: dict[str, Money]
    defaulted: list[str]
    rounds: int


class StressOut(Shape):
    currency: str
    defaults: dict[str, str] = Field(description="Each obligor and the share it still pays.")
    with_recourse: StressSide
    without_recourse: StressSide

    @classmethod
    def of(cls, r: StressReport) -> StressOut:
        cur = r.currency

        def side(x: Any) -> StressSide:
            return StressSide(
                total_loss=Money.of(x.total_loss, cur),
                loss={k: Money.of(v, cur) for k, v in sorted(x.loss.items())},
                by_group={k: Money.of(v, cur) for k, v in r.by_group(x).items()},
                recourse_paid={k: Money.of(v, cur) for k, v in sorted(x.recourse_paid.items())},
                defaulted=sorted(x.clearing.defaulted), rounds=x.rounds,
            )  # fmt: skip

        paid = {k: f"{v:.4f}" for k, v in r.shocks.items()}
        return cls(currency=cur, defaults=paid, with_recourse=side(r.with_recourse),
                   without_recourse=side(r.without_recourse))  # fmt: skip


class MonitorOut(Shape):
    raised: int = Field(description="New alerts, as risk.concentration and risk.overdue "
                        "events (at most one of each a day).")  # fmt: skip
